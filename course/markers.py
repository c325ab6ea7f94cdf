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
    lines = source.splitlines(keepends=True)
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
