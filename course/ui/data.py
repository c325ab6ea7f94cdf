"""What the app shows, computed without Streamlit: lessons found, exercises and points, the learner's progress.

Kept apart from the rendering code (`home.py`, `lesson.py`) so it can be tested and reused without a running
app, and so that nothing here imports streamlit or torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from course import progress
from course.errors import CourseError
from course.lessons import FOLDER, Lesson, lessons_root, read_lesson

# How each grader status reads in the app (the CLI's words are in course.grading.report.MARK).
STATUS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "not_implemented": "📝 not done yet",
    "timeout": "⏱️ too slow",
    "crashed": "💥 crashed",
    "error": "⚠️ error",
}


def stars(difficulty: int) -> str:
    """Difficulty 1..5 as five stars, e.g. 2 -> "★★☆☆☆"."""
    d = min(max(int(difficulty), 0), 5)
    return "★" * d + "☆" * (5 - d)


@dataclass
class Discovery:
    """The lessons the app can show, and why any others could not be read."""

    lessons: list[Lesson]
    problems: list[str]  # one friendly message per lesson folder (or lessons folder) that could not be read


def discover(root: str | os.PathLike | None = None) -> Discovery:
    """Every readable lesson, in order. Unlike `all_lessons`, one broken lesson.toml does not hide the others."""
    try:
        base = lessons_root(root)
    except CourseError as e:
        return Discovery([], [str(e)])
    lessons, problems = [], []
    for path in sorted(base.iterdir()):
        if path.is_dir() and FOLDER.match(path.name):
            try:
                lessons.append(read_lesson(path))
            except CourseError as e:
                problems.append(str(e))
    return Discovery(lessons, problems)


def workspace_file(lesson: Lesson, ws: str | os.PathLike | None = None) -> Path:
    """The learner's copy of a lesson, as `course start` makes it: `<workspace>/<slug>.py`."""
    return progress.workspace(ws) / f"{lesson.slug}.py"


def no_work_message(lesson: Lesson, ws: str | os.PathLike | None = None) -> str:
    path = workspace_file(lesson, ws)
    return (f"There is no work to check yet: `{path}` does not exist. Create it with `course start {lesson.id}` "
            f"in a terminal (it copies the lesson's exercises there), fill in each `raise NotImplementedError`, "
            "then press **Check my work**.")


def exercise_points(checks: list) -> list[dict]:
    """One row per exercise, in order: its name, how many checks test it, and the points they are worth."""
    rows: dict[str, dict] = {}
    for c in checks:
        row = rows.setdefault(c.exercise, {"exercise": c.exercise, "checks": 0, "points": 0.0})
        row["checks"] += 1
        row["points"] += float(c.points)
    return list(rows.values())


def best_score(lesson: Lesson, ws: str | os.PathLike | None = None) -> tuple[float, float] | None:
    """The learner's best (score, max) for a lesson, or None if never checked."""
    return progress.best(lesson.id, ws)


def prerequisites_text(lesson: Lesson, known: list[Lesson]) -> str:
    """ "00 Title, 02 Title" for the lesson's prerequisites ("none" if it has none)."""
    titles = {l.number: l.title for l in known}
    if not lesson.prerequisites:
        return "none"
    return ", ".join(f"{p:02d} {titles[p]}" if p in titles else f"{p:02d}" for p in lesson.prerequisites)


def result_rows(result) -> list[dict]:
    """A GradeResult as table rows: number, check, result in words, points, and what went wrong.

    When the whole submission failed (`result.error`: it does not import, ...) every check carries that same
    message, so the details column is left out; the page shows the error once, above the table.
    """
    rows = []
    for c in result.checks:
        row = {"#": c.number, "check": c.title, "result": STATUS.get(c.status, c.status),
               "points": f"{c.points:g}/{c.max_points:g}"}
        if not result.error:
            row["details"] = c.message
        rows.append(row)
    return rows


def readme_body(lesson: Lesson) -> str:
    """The lesson's README.md without its leading `# Title` (the page already shows the title)."""
    try:
        text = lesson.readme.read_text()
    except FileNotFoundError:
        return "_This lesson has no README.md yet._"
    except (OSError, UnicodeDecodeError) as e:
        raise CourseError(f"Lesson {lesson.id}'s README.md could not be read ({e}).") from None
    lines = text.lstrip("\ufeff").splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and lines[0].startswith("# "):
        lines.pop(0)
    return "\n".join(lines).strip()
