"""Finding lessons and reading their metadata.

A lesson is a folder `lessons/NN_slug/` holding:

    lesson.toml     title, difficulty (1-5), minutes, prerequisites, summary: the one place for metadata;
                    optionally blocked_imports, library modules that hold the answers (see the grader), and
                    checkpoints, the shipped models its checks load (default none; see course.grading.bundle)
    README.md       the lesson text (the app renders it too)
    solutions.py    the reference, with `# BEGIN SOLUTION` / `# END SOLUTION` markers (see `course.markers`)
    exercises.py    generated from solutions.py by `course sync`; the learner's starting point
    checks.py       `CHECKS = [Check(...), ...]` (see `course.grading.spec`)
    mutants/        deliberately wrong solutions the checks must catch: each file holds redefinitions that,
                    appended to solutions.py, make the wrong solution; its first line says which checks
                    must fail ("... Must fail: normalise, softmax")

The lessons folder is found in this order: an explicit path, `$COURSE_LESSONS_DIR`, the `lessons/` beside the
installed package (a clone installed with `pip install -e .`), `./lessons`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType

from course.errors import CourseError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
FOLDER = re.compile(r"^(\d\d)_([a-z0-9_]+)$")


def lessons_root(explicit: str | os.PathLike | None = None) -> Path:
    """The folder holding the lessons (see the module docstring for the search order)."""
    chosen = explicit or os.environ.get("COURSE_LESSONS_DIR")
    if chosen:
        if not Path(chosen).is_dir():
            raise CourseError(f"The lessons folder {chosen} does not exist. Point --lessons-dir or COURSE_LESSONS_DIR "
                              "at the `lessons/` folder of a course clone.")
        return Path(chosen).resolve()
    for candidate in (REPO_ROOT / "lessons", Path.cwd() / "lessons"):
        if candidate.is_dir():
            return candidate.resolve()
    raise CourseError("No `lessons/` folder found. Run the course from a clone of the repository (installed with "
                      "`pip install -e .`), or set COURSE_LESSONS_DIR to its `lessons/` folder.")


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str  # folder name, e.g. "05_superposition"
    title: str
    difficulty: int  # 1 (gentle) .. 5 (hard)
    minutes: int  # estimated time for a learner
    prerequisites: tuple[int, ...]
    summary: str
    path: Path
    blocked_imports: tuple[str, ...] = ()  # library modules holding this lesson's answers (not importable while graded)
    checkpoints: tuple[str, ...] = ()  # shipped checkpoints the lesson's checks load (the Gradescope zip ships only these)

    @property
    def id(self) -> str:
        return f"{self.number:02d}"

    @property
    def name(self) -> str:
        """The slug without its number, e.g. "superposition"."""
        return self.slug[3:]

    readme = property(lambda self: self.path / "README.md")
    solutions_path = property(lambda self: self.path / "solutions.py")
    exercises_path = property(lambda self: self.path / "exercises.py")
    checks_path = property(lambda self: self.path / "checks.py")
    mutants_dir = property(lambda self: self.path / "mutants")

    def __repr__(self) -> str:
        return f"Lesson({self.id} {self.title!r}, difficulty {self.difficulty}, {self.minutes} min)"

    @cached_property
    def mutants(self) -> list[Path]:
        return sorted(self.mutants_dir.glob("*.py")) if self.mutants_dir.is_dir() else []

    def mutant_source(self, mutant: Path) -> str:
        """The full source of a mutant: solutions.py with the mutant's redefinitions appended."""
        return self.solutions_path.read_text() + "\n\n# ---- mutant: " + mutant.name + "\n" + mutant.read_text()

    @staticmethod
    def mutant_targets(mutant: Path) -> list[str]:
        """The exercises a mutant's first line says must fail."""
        first = mutant.read_text().splitlines()[0] if mutant.stat().st_size else ""
        _, _, names = first.partition("Must fail:")
        return [n.strip() for n in names.split(",") if n.strip()]

    def load_solutions(self) -> ModuleType:
        """The reference module (trusted code: only ever imported by the grader and the tests)."""
        return _load_module(self.solutions_path, f"course_lessons.l{self.id}.solutions", f"lesson {self.id}'s solutions.py")

    def load_checks(self) -> list:
        """The lesson's checks. `checks.py` sees the reference module as the global `solutions`."""
        from course.grading.spec import Check

        solutions = self.load_solutions()
        module = _load_module(self.checks_path, f"course_lessons.l{self.id}.checks", f"lesson {self.id}'s checks.py",
                              inject={"solutions": solutions})
        checks = getattr(module, "CHECKS", None)
        if not isinstance(checks, list) or not all(isinstance(c, Check) for c in checks) or not checks:
            raise CourseError(f"Lesson {self.id}'s checks.py must define CHECKS, a non-empty list of Check objects.")
        titles = [c.title for c in checks]
        if len(set(titles)) != len(titles):
            raise CourseError(f"Lesson {self.id}'s checks have duplicate titles; give each check its own title.")
        return checks


def _load_module(path: Path, name: str, what: str, inject: dict | None = None) -> ModuleType:
    if not path.is_file():
        raise CourseError(f"{what} is missing ({path}).")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(inject or {})
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(name, None)
        raise CourseError(f"{what} failed to load: {type(e).__name__}: {e}. This is a bug in the lesson.") from e
    return module


def read_lesson(path: Path) -> Lesson:
    m = FOLDER.match(path.name)
    if not m:
        raise CourseError(f"{path} is not a lesson folder (expected a name like 05_superposition).")
    meta_path = path / "lesson.toml"
    try:
        meta = tomllib.loads(meta_path.read_text())
    except FileNotFoundError:
        raise CourseError(f"Lesson folder {path.name} has no lesson.toml (title, difficulty, minutes).") from None
    except tomllib.TOMLDecodeError as e:
        raise CourseError(f"{meta_path} is not valid TOML: {e}") from None
    try:
        return Lesson(
            number=int(m.group(1)), slug=path.name, title=str(meta["title"]), difficulty=int(meta["difficulty"]),
            minutes=int(meta["minutes"]), prerequisites=tuple(int(p) for p in meta.get("prerequisites", [])),
            summary=str(meta.get("summary", "")).strip(), path=path,
            blocked_imports=tuple(str(m) for m in meta.get("blocked_imports", [])),
            checkpoints=tuple(str(c) for c in meta.get("checkpoints", [])),
        )
    except KeyError as e:
        raise CourseError(f"{meta_path} lacks the field {e.args[0]!r}.") from None


def all_lessons(root: str | os.PathLike | None = None) -> list[Lesson]:
    base = lessons_root(root)
    return [read_lesson(p) for p in sorted(base.iterdir()) if p.is_dir() and FOLDER.match(p.name)]


def find_lesson(arg: str | int, root: str | os.PathLike | None = None) -> Lesson:
    """A lesson by number (`5`, `05`), folder name (`05_superposition`) or slug (`superposition`)."""
    lessons = all_lessons(root)
    key = str(arg).strip().lower()
    for lesson in lessons:
        if key in (lesson.slug, lesson.name) or (key.isdigit() and int(key) == lesson.number):
            return lesson
    known = ", ".join(f"{l.id} ({l.name})" for l in lessons) or "none yet"
    raise UsageError(f"Unknown lesson {arg!r}. Known lessons: {known}. Run `course list` to see them all.")
