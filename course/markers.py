"""Single-sourced exercises: `exercises.py` is generated from `solutions.py`.

In `solutions.py` the parts a learner writes sit between markers, indented like the code they replace:

    def normalise(x):
        '''Scale each row of x to unit L2 norm.'''
        # BEGIN SOLUTION hint: x.norm(dim=-1, keepdim=True) keeps the axis you divide by
        return x / x.norm(dim=-1, keepdim=True)
        # END SOLUTION

`make_exercises` turns each block into `raise NotImplementedError(...)` (keeping the hint as a comment), and
adds a header saying where the file came from. `course sync` writes the files; a test keeps them in step.
"""

from __future__ import annotations

import re
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:\s+hint:\s*(?P<hint>.*))?\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
HEADER = (
    "# Exercises for lesson {lesson}. Fill in each `raise NotImplementedError`, then run `course check {number}`.\n"
    "# (Generated from solutions.py by `course sync`; edit your own copy, made by `course start {number}`.)\n"
)


class MarkerError(ValueError):
    pass


def make_exercises(source: str, lesson: str = "", number: str = "") -> str:
    """The exercise file for a solutions source. Raises MarkerError on unbalanced markers."""
    out: list[str] = [HEADER.format(lesson=lesson, number=number)] if lesson else []
    lines = _learners_docstring(source).splitlines(keepends=True)
    i, blocks, owner = 0, 0, "this exercise"
    while i < len(lines):
        line = lines[i]
        m = BEGIN.match(line.rstrip("\n"))
        if re.match(r"^\s*(async\s+)?def\s+(\w+)", line):
            owner = re.match(r"^\s*(?:async\s+)?def\s+(\w+)", line).group(1)
        if END.match(line.rstrip("\n")):
            raise MarkerError(f"line {i + 1}: END SOLUTION without a BEGIN SOLUTION")
        if not m:
            out.append(line)
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and not END.match(lines[i].rstrip("\n")):
            if BEGIN.match(lines[i].rstrip("\n")):
                raise MarkerError(f"line {i + 1}: nested BEGIN SOLUTION (the block opened on line {start + 1})")
            i += 1
        if i == len(lines):
            raise MarkerError(f"line {start + 1}: BEGIN SOLUTION is never closed by END SOLUTION")
        indent, hint = m.group("indent"), m.group("hint")
        if hint:
            out.append(f"{indent}# Hint: {hint.strip()}\n")
        out.append(f'{indent}raise NotImplementedError("{owner}: your code here")\n')
        blocks += 1
        i += 1  # skip END
    if blocks == 0:
        raise MarkerError("no BEGIN SOLUTION / END SOLUTION blocks found")
    return "".join(out)


def _learners_docstring(source: str) -> str:
    """The learner's file is not the reference: "Reference solutions." in the module docstring becomes
    "Your exercises." (and "reference solution(s)" nowhere else is touched)."""
    m = re.match(r'(\s*(?:#[^\n]*\n\s*)*)("""|\'\'\')(.*?)\2', source, re.S)
    if not m or "Reference solutions." not in m.group(3):
        return source
    doc = m.group(3).replace("Reference solutions.", "Your exercises: fill in each `raise NotImplementedError`.", 1)
    return source[: m.start(3)] + doc + source[m.end(3):]


def replace_solution(source: str, function: str, body: str) -> str:
    """`source` with the solution block of `function` replaced by `body` (re-indented to match the block).

    For tests that grade a learner's typical slip: `replace_solution(solutions, "interference", "return ...")`.
    `function` is the name after `def` (for a method, the method's name); the first such block is replaced.
    """
    pattern = re.compile(
        rf"(def {re.escape(function)}\(.*?\n)([ \t]*)# BEGIN SOLUTION.*?\n(.*?)[ \t]*# END SOLUTION\n", re.S)
    m = pattern.search(source)
    if not m:
        raise MarkerError(f"no solution block for {function}")
    indent = m.group(2)
    lines = body.strip("\n").splitlines()
    common = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    new = "".join(indent + line[common:] + "\n" for line in lines)
    return source[: m.start(3)] + new + source[m.end():]


def exercises_for(lesson) -> str:
    """The exercise text `lesson.exercises_path` should hold."""
    return make_exercises(lesson.solutions_path.read_text(), lesson=f"{lesson.id}: {lesson.title}", number=lesson.id)


def sync(lesson, check_only: bool = False) -> bool:
    """Regenerate a lesson's exercises.py. Returns True if it was (or, with check_only, would be) changed."""
    text = exercises_for(lesson)
    path: Path = lesson.exercises_path
    changed = not path.is_file() or path.read_text() != text
    if changed and not check_only:
        path.write_text(text)
    return changed
