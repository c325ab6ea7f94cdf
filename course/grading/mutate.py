"""Automatic mutants of a lesson's solution blocks: do its checks catch small slips in general?

The hand-written mutants in `lessons/NN/mutants/` are the slips an author thought of. This module makes the
rest mechanically, one small change at a time, inside the `# BEGIN SOLUTION` / `# END SOLUTION` blocks only
(the code a learner writes), and grades each with the lesson's checks, as mutation testing does (mutmut,
cosmic-ray). A mutant that still scores full marks *survived*: either it is equivalent to the reference (a
changed epsilon in a clamp, say), or the checks have a blind spot worth a new input or a tighter judge.

    course mutate 05                       # every mutant, a summary per exercise, the survivors listed
    course mutate 05 --exercise interference --show-killed

The changes (each applied to one place):

    operator     + <-> -,  * <-> /,  ** -> *,  // -> /,  @ kept;  and <-> or;  unary minus dropped or added
    comparison   < <-> <=,  > <-> >=,  == <-> !=,  < <-> >
    constant     integers n -> n + 1 and n - 1 (0 -> 1), floats x -> 2x and x / 2 (0.0 -> 1.0), True <-> False
    axis         dim= / axis= / keepdim= arguments changed; an index k -> k + 1 or -1 in a subscript
    einsum       the output axes reversed ("bij->bji")
    method       mean <-> sum, max <-> min, amax <-> amin, argmax <-> argmin, relu dropped, abs/sqrt/exp/log dropped,
                 softmax <-> log_softmax, .T / .t() / .transpose(...) dropped, clamp(...) dropped
    statement    an assignment, augmented assignment or expression statement replaced by `pass` (one at a time)
    return       `return x` -> `return -x`
"""

from __future__ import annotations

import ast
import copy
import difflib
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from course.markers import BEGIN, END

SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
              ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
SWAP_CMP = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt],
            ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.Is: [ast.IsNot], ast.IsNot: [ast.Is], ast.In: [ast.NotIn],
            ast.NotIn: [ast.In]}
SWAP_NAME = {"mean": "sum", "sum": "mean", "max": "min", "min": "max", "amax": "amin", "amin": "amax",
             "argmax": "argmin", "argmin": "argmax", "softmax": "log_softmax", "log_softmax": "softmax",
             "maximum": "minimum", "minimum": "maximum", "topk": None, "cumsum": None, "std": "var", "var": "std",
             "norm": None, "any": "all", "all": "any", "floor": "ceil", "ceil": "floor", "zeros_like": "ones_like",
             "ones_like": "zeros_like", "zeros": "ones", "ones": "zeros", "sin": "cos", "cos": "sin",
             "sigmoid": None, "tanh": None}
DROP_CALL = {"relu", "abs", "sqrt", "exp", "log", "clamp", "clamp_min", "clip", "detach", "sigmoid", "tanh", "t",
             "transpose", "contiguous", "float", "flip", "sort", "round", "square", "norm", "cpu", "clone", "neg"}
AXIS_KEYWORDS = {"dim", "axis", "dims", "keepdim", "keepdims", "descending", "largest", "unbiased", "correction"}


@dataclass
class Mutant:
    """One small change to the solutions, at `line`, inside the solution block of `owner`."""

    number: int
    owner: str  # the function (or Class.method) whose solution block holds the change
    line: int
    kind: str  # operator, comparison, constant, axis, method, statement, return
    before: str
    after: str
    source: str = field(repr=False, default="")
    score: float | None = None
    max_score: float | None = None
    failed: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return self.score is not None and self.max_score is not None and self.score >= self.max_score

    def describe(self) -> str:
        return f"{self.owner} line {self.line} [{self.kind}]: {self.before.strip()}  ->  {self.after.strip()}"


def solution_lines(source: str) -> set[int]:
    """1-based line numbers strictly inside solution blocks."""
    inside, out = False, set()
    for i, line in enumerate(source.splitlines(), 1):
        if BEGIN.match(line):
            inside = True
        elif END.match(line):
            inside = False
        elif inside:
            out.add(i)
    return out


def _owners(tree: ast.Module) -> dict[int, str]:
    """Line -> the innermost function holding it, as "name" or "Class.name"."""
    owners: dict[int, str] = {}

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                for ln in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                    owners[ln] = name
                visit(child, name + ".<locals>.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return owners


def _replacements(node: ast.AST) -> Iterator[tuple[str, ast.AST | None]]:
    """(kind, replacement node) for every mutation of `node` itself; None replacement means `pass` (statements)."""
    if isinstance(node, ast.BinOp) and type(node.op) in SWAP_BINOP:
        yield "operator", ast.BinOp(node.left, SWAP_BINOP[type(node.op)](), node.right)
    elif isinstance(node, ast.BoolOp):
        yield "operator", ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield "operator", node.operand
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP_CMP:
        for new in SWAP_CMP[type(node.ops[0])]:
            yield "comparison", ast.Compare(node.left, [new()], node.comparators)
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str) and node.value is not None:
        v = node.value
        if isinstance(v, bool):
            yield "constant", ast.Constant(not v)
        elif isinstance(v, int):
            for new in ([1] if v == 0 else [v + 1, v - 1]):
                yield "constant", ast.Constant(new)
        elif isinstance(v, float):
            for new in ([1.0] if v == 0 else [v * 2, v / 2]):
                yield "constant", ast.Constant(new)
    elif isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in SWAP_NAME and SWAP_NAME[name]:
            new_func = (ast.Attribute(func.value, SWAP_NAME[name], func.ctx) if isinstance(func, ast.Attribute)
                        else ast.Name(SWAP_NAME[name], func.ctx))
            yield "method", ast.Call(new_func, node.args, node.keywords)
        if name == "einsum" and node.args and isinstance(node.args[0], ast.Constant) and "->" in str(node.args[0].value):
            spec = str(node.args[0].value)
            ins, out = spec.replace(" ", "").split("->")
            if len(out) > 1:
                yield "axis", ast.Call(node.func, [ast.Constant(f"{ins}->{out[::-1]}"), *node.args[1:]], node.keywords)
        if name in DROP_CALL:
            if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name) and func.value.id in
                                                        ("torch", "F", "np", "math", "nn", "functional")):
                yield "method", func.value  # x.relu() -> x
            elif node.args:
                yield "method", node.args[0]  # torch.relu(x) -> x
        for i, kw in enumerate(node.keywords):
            if kw.arg in AXIS_KEYWORDS:
                for new in _axis_values(kw.value):
                    keywords = list(node.keywords)
                    keywords[i] = ast.keyword(kw.arg, new)
                    yield "axis", ast.Call(node.func, node.args, keywords)
    elif isinstance(node, ast.Attribute) and node.attr in ("T", "mT", "H"):
        yield "method", node.value
    elif isinstance(node, ast.Subscript):
        for new in _index_values(node.slice):
            yield "axis", ast.Subscript(node.value, new, node.ctx)
    elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)) and not (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        yield "statement", None
    elif isinstance(node, ast.Return) and node.value is not None and not isinstance(node.value, (ast.Tuple, ast.Dict,
                                                                                                   ast.Constant)):
        yield "return", ast.Return(ast.UnaryOp(ast.USub(), node.value))


def _axis_values(value: ast.AST) -> list[ast.AST]:
    if isinstance(value, ast.Constant) and isinstance(value.value, bool):
        return [ast.Constant(not value.value)]
    if isinstance(value, ast.Constant) and isinstance(value.value, int):
        return [ast.Constant(v) for v in (value.value + 1, value.value - 1) if v != value.value]
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) and isinstance(value.operand, ast.Constant):
        return [ast.Constant(-value.operand.value - 1), ast.Constant(-value.operand.value + 1)]
    if isinstance(value, ast.Tuple) and len(value.elts) > 1:
        return [ast.Tuple(value.elts[:-1], value.ctx), ast.Tuple(value.elts[1:], value.ctx)]
    return []


def _index_values(s: ast.AST) -> list[ast.AST]:
    if isinstance(s, ast.Constant) and isinstance(s.value, int) and not isinstance(s.value, bool):
        return [ast.Constant(s.value + 1)]
    if isinstance(s, ast.UnaryOp) and isinstance(s.op, ast.USub) and isinstance(s.operand, ast.Constant):
        return [ast.Constant(s.operand.value - 1) if s.operand.value > 1 else ast.Constant(0)]
    return []


def generate(source: str, owners_filter: Callable[[str], bool] | None = None) -> list[Mutant]:
    """Every single-change mutant of the solution blocks of `source` (compiles, differs from the original)."""
    tree = ast.parse(source)
    inside = solution_lines(source)
    owners = _owners(tree)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out, seen = [], {source}
    for node in ast.walk(tree):
        lineno, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if lineno is None or end is None or not all(ln in inside for ln in range(lineno, end + 1)):
            continue
        owner = owners.get(lineno, "<module>")
        if owners_filter and not owners_filter(owner):
            continue
        start = offsets[lineno - 1] + _col(lines[lineno - 1], node.col_offset)
        stop = offsets[end - 1] + _col(lines[end - 1], node.end_col_offset)
        before = source[start:stop]
        for kind, new in _replacements(node):
            text = "pass" if new is None else _unparse(new, node)
            if text is None:
                continue
            mutated = source[:start] + text + source[stop:]
            if mutated in seen:
                continue
            try:
                compile(mutated, "<mutant>", "exec")
            except SyntaxError:
                continue
            seen.add(mutated)
            out.append(Mutant(len(out) + 1, owner, lineno, kind, before.splitlines()[0] if before else before,
                              text.splitlines()[0], mutated))
    out.sort(key=lambda m: (m.line, m.kind))
    for i, m in enumerate(out, 1):
        m.number = i
    return out


def _col(line: str, col: int) -> int:
    """ast column offsets count UTF-8 bytes; convert to a character offset."""
    return len(line.encode()[:col].decode(errors="ignore"))


def _unparse(new: ast.AST, old: ast.AST) -> str | None:
    try:
        text = ast.unparse(ast.fix_missing_locations(copy.deepcopy(new)))
    except Exception:
        return None
    if isinstance(old, ast.expr):
        text = f"({text})"
    return text


def run(lesson, exercise: str | None = None, seed: int = 2024, jobs: int = 2, limit: int | None = None,
        timeout: float | None = None, progress: Callable[[int, int], None] | None = None,
        all_checks: bool = False) -> list[Mutant]:
    """Generate the lesson's mutants (optionally only `exercise`'s) and grade each; returns them with scores.

    A mutant is graded by the checks of the exercise it changed (faster, and stricter: a slip in
    `generate_batch` must be caught by generate_batch's own checks, not only by a later exercise that calls
    it); a block whose function no check names (a helper) is graded by every check, as is everything with
    `all_checks`.
    """
    from course.grading.grader import Grader, Limits

    source = lesson.solutions_path.read_text()
    wanted = None
    if exercise:
        wanted = lambda owner: owner == exercise or owner.startswith(exercise + ".")  # noqa: E731
    mutants = generate(source, wanted)
    if limit:
        mutants = mutants[:limit]
    if not mutants:
        return []
    checks = lesson.load_checks()
    groups: dict[str, list[Mutant]] = {}
    for m in mutants:
        own = [c.title for c in checks if c.exercise == m.owner]
        groups.setdefault("" if all_checks or not own else m.owner, []).append(m)
    done = [0]
    with tempfile.TemporaryDirectory(prefix="course-mutants-") as tmp:
        for owner, group in groups.items():
            with Grader(lesson, seed=seed, limits=Limits(timeout=timeout)) as grader:
                if owner:
                    grader.checks = [c for c in grader.checks if c.exercise == owner]
                paths = []
                for m in group:
                    p = Path(tmp) / f"mutant_{m.number:04d}.py"
                    p.write_text(m.source)
                    paths.append(p)

                def on_done(_):
                    done[0] += 1
                    if progress:
                        progress(done[0], len(mutants))

                for m, r in zip(group, grader.grade_many(paths, jobs=jobs, on_done=on_done)):
                    m.score, m.max_score = r.score, r.max_score
                    m.failed = [c.exercise for c in r.checks if not c.passed]
    return mutants


def summary(mutants: list[Mutant]) -> dict[str, dict]:
    """Per owner: mutants made, killed, and the survivors' descriptions."""
    out: dict[str, dict] = {}
    for m in mutants:
        row = out.setdefault(m.owner, {"mutants": 0, "killed": 0, "survivors": []})
        row["mutants"] += 1
        if m.survived:
            row["survivors"].append(m.describe())
        else:
            row["killed"] += 1
    return out


def report(mutants: list[Mutant], show_killed: bool = False) -> str:
    rows = summary(mutants)
    total = len(mutants)
    killed = sum(r["killed"] for r in rows.values())
    width = max([len(k) for k in rows] + [8])
    lines = [f"{'exercise':<{width}}  killed / mutants"]
    for owner, r in rows.items():
        lines.append(f"{owner:<{width}}  {r['killed']:>6} / {r['mutants']:<6} {100 * r['killed'] / r['mutants']:5.1f}%")
    lines.append(f"{'all':<{width}}  {killed:>6} / {total:<6} {100 * killed / max(total, 1):5.1f}%")
    survivors = [m for m in mutants if m.survived]
    if survivors:
        lines += ["", f"Survivors ({len(survivors)}): full marks despite the change. Equivalent code, or a blind spot "
                  "in the checks?"]
        lines += ["  " + m.describe() for m in survivors]
    if show_killed:
        lines += ["", "Killed:"] + [f"  {m.describe()}  (failed: {', '.join(sorted(set(m.failed)))})"
                                    for m in mutants if not m.survived]
    return "\n".join(lines)


def to_json(mutants: list[Mutant]) -> str:
    return json.dumps([{k: v for k, v in asdict(m).items() if k != "source"} | {"survived": m.survived}
                       for m in mutants], indent=2)


def diff(mutant: Mutant, original: str) -> str:
    return "".join(difflib.unified_diff(original.splitlines(True), mutant.source.splitlines(True), "solutions.py",
                                        f"mutant {mutant.number}", n=1))


__all__ = ["Mutant", "generate", "run", "summary", "report", "to_json", "diff", "solution_lines"]
