"""Every lesson (the real ones in lessons/ and the demo): the format holds, the reference solutions score full
marks, the untouched exercises score zero, every mutant loses points on the checks it names, and
exercises.py is in sync with solutions.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, all_lessons
from course.markers import exercises_for

DEMO_LESSONS = Path(__file__).resolve().parent / "demo" / "lessons"

LESSONS = all_lessons(REPO_ROOT / "lessons") + all_lessons(DEMO_LESSONS)


def ids(lessons):
    return [l.slug for l in lessons]


@pytest.mark.parametrize("lesson", LESSONS, ids=ids(LESSONS))
def test_lesson_files(lesson):
    for path in (lesson.readme, lesson.solutions_path, lesson.exercises_path, lesson.checks_path):
        assert path.is_file(), f"{path} is missing"
    assert 1 <= lesson.difficulty <= 5 and lesson.minutes > 0 and lesson.title
    assert all(p < lesson.number for p in lesson.prerequisites), "prerequisites come earlier in the course"
    assert lesson.mutants, "every lesson has mutants that its checks must catch"


@pytest.mark.parametrize("lesson", LESSONS, ids=ids(LESSONS))
def test_exercises_in_sync_with_solutions(lesson):
    assert lesson.exercises_path.read_text() == exercises_for(lesson), (
        f"{lesson.exercises_path} is out of date: run `course sync {lesson.id}`")


@pytest.mark.parametrize("lesson", LESSONS, ids=ids(LESSONS))
def test_solutions_full_exercises_zero_mutants_lose(lesson, tmp_path):
    subs = {"solutions": lesson.solutions_path, "exercises": lesson.exercises_path}
    for m in lesson.mutants:
        path = tmp_path / f"mutant_{m.name}"
        path.write_text(lesson.mutant_source(m))
        subs[m.name] = path
    grader = Grader(lesson, seed=2024)
    results = dict(zip(subs, grader.grade_many(list(subs.values()), jobs=2)))

    sol = results.pop("solutions")
    assert sol.score == sol.max_score > 0, [(c.title, c.message) for c in sol.checks if not c.passed]
    ex = results.pop("exercises")
    assert ex.score == 0 and not ex.error, ex.error
    assert all(c.status == "not_implemented" for c in ex.checks), [(c.title, c.status) for c in ex.checks]
    for name, r in results.items():
        targets = lesson.mutant_targets(lesson.mutants_dir / name)
        assert targets, f"{name} must say which checks it breaks ('Must fail: ...')"
        failed = {c.exercise for c in r.checks if not c.passed}
        assert r.score < r.max_score, f"mutant {name} scored full marks"
        assert set(targets) <= failed, f"mutant {name}: {set(targets) - failed} passed but should fail"
