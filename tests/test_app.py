"""The Streamlit app (apps/app.py, course/ui/), run in-process with `streamlit.testing.v1.AppTest`.

Covers: the home page (course map, progress, no lessons, broken lessons), every lesson page (the demo lesson
and whatever is in the real `lessons/` folder, through the home page's "Open" buttons), a lesson's own page
file (`apps/lesson_pages/<slug>.py`), and "Check my work" on the demo lesson: full marks, unfinished work, a file
that does not import, no file at all, and a lesson whose checks.py is broken. None of them may show a raw
exception (`at.exception` stays empty).

The autouse fixture in conftest.py points COURSE_LESSONS_DIR at the demo lessons and COURSE_WORKSPACE at a
fresh folder per test. AppTest's default timeout is 3 s; pages import torch and grading runs a sandbox, so
these tests allow far more.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from course import progress
from course.errors import CourseError
from course.lessons import REPO_ROOT
from course.ui.data import discover

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "apps" / "app.py"
DEMO_LESSONS = Path(__file__).resolve().parent / "demo" / "lessons"
REAL_LESSONS = REPO_ROOT / "lessons"
RUN_TIMEOUT = 60  # a page (first torch import, loading checks)
GRADE_TIMEOUT = 240  # "Check my work": a sandboxed worker per submission, ten checks


def app(path: Path = APP) -> AppTest:
    return AppTest.from_file(str(path), default_timeout=RUN_TIMEOUT)


def texts(at: AppTest) -> str:
    """Every piece of text on the page, one per line, to search with `in`."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    parts = [str(el.value) for kind in kinds for el in getattr(at, kind)]
    parts += [el.label for el in at.button] + [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(parts)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, "the page raised: " + "\n".join(str(e.value) for e in at.exception)


def open_lesson(at: AppTest, lesson_id: str) -> AppTest:
    """From the home page, press the lesson card's "Open" button (as a learner would)."""
    return at.button(key=f"open-{lesson_id}").click().run()


def copy_demo(tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the demo lessons folder (to break on purpose), made the app's lessons."""
    lessons = tmp_path / "lessons"
    shutil.copytree(DEMO_LESSONS, lessons)
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(lessons))
    return lessons / "99_demo"


def workspace_copy(source: Path) -> Path:
    target = progress.workspace() / "99_demo.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


# ------------------------------------------------------------------------------------------------- home page


def test_home_shows_the_course_map_and_progress():
    at = app().run()
    assert_clean(at)
    page = texts(at)
    assert "Mechanistic interpretability, hands on" in page
    assert "99 · Demo: tensor warm-ups" in page
    assert "★☆☆☆☆" in page and "~15 min" in page and "Prerequisites:** none" in page
    assert "ten small tensor functions" in page  # the summary
    assert "Not checked yet." in page
    assert "Lessons solved: 0 / 1" in page
    assert str(progress.workspace().resolve()) in page


def test_home_shows_the_best_score(demo):
    progress.record(demo.id, 7, 11)
    at = app().run()
    assert_clean(at)
    assert any("Best score 7/11" in p.proto.text for p in at.get("progress"))


def test_home_without_lessons(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(tmp_path / "empty"))
    at = app().run()
    assert_clean(at)
    assert "No lessons yet" in texts(at)
    assert "Mechanistic interpretability, hands on" in texts(at)


def test_home_when_no_lessons_folder_is_found(monkeypatch):
    import course.ui.data

    def nowhere(root=None):
        raise CourseError("No `lessons/` folder found. Set COURSE_LESSONS_DIR.")

    monkeypatch.setattr(course.ui.data, "lessons_root", nowhere)  # AppTest runs the app in this process
    at = app().run()
    assert_clean(at)
    assert any("No `lessons/` folder found" in e.value for e in at.error)


def test_a_broken_lesson_does_not_hide_the_others(tmp_path, monkeypatch):
    lesson = copy_demo(tmp_path, monkeypatch)
    broken = lesson.parent / "98_broken"
    broken.mkdir()
    (broken / "lesson.toml").write_text("title = [unclosed\n")
    at = app().run()
    assert_clean(at)
    assert any("98_broken" in e.value and "not valid TOML" in e.value for e in at.error)
    assert "99 · Demo: tensor warm-ups" in texts(at)


# ------------------------------------------------------------------------------------------------- lesson pages


def _all_lesson_pages() -> list:
    params = []
    for label, root in (("demo", DEMO_LESSONS), ("lessons", REAL_LESSONS)):
        if root.is_dir():
            params += [pytest.param(root, lesson, id=f"{label}/{lesson.slug}") for lesson in discover(root).lessons]
    return params


@pytest.mark.parametrize("root, lesson", _all_lesson_pages())
def test_every_lesson_page_renders(root, lesson, monkeypatch):
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(root))
    at = app().run()
    assert_clean(at)
    at = open_lesson(at, lesson.id)
    assert_clean(at)
    page = texts(at)
    assert f"{lesson.id} · {lesson.title}" in page
    assert at.button(key=f"check-{lesson.id}").label == "Check my work"
    assert re.search(r"\b\d+ exercises?, [\d.]+ points? in all\.", page)  # the exercises with their points
    assert any("course start" in i.value for i in at.info)  # no workspace file yet: how to make one
    custom = APP.parent / "lesson_pages" / f"{lesson.slug}.py"
    if custom.is_file():  # a lesson's own page must also be reachable by its file
        at.switch_page(f"lesson_pages/{custom.name}").run()
        assert_clean(at)
        assert f"{lesson.id} · {lesson.title}" in texts(at)


def test_every_page_file_belongs_to_a_lesson():
    """apps/lesson_pages/<slug>.py is only used when <slug> is a lesson folder's name: catch typos."""
    slugs = {lesson.slug for lesson in discover(REAL_LESSONS).lessons} if REAL_LESSONS.is_dir() else set()
    strays = [p.name for p in (APP.parent / "lesson_pages").glob("*.py") if p.stem not in slugs]
    assert not strays, f"apps/lesson_pages/ files that match no lesson folder (so the app ignores them): {strays}"


def test_demo_page_shows_readme_and_points():
    at = open_lesson(app().run(), "99")
    assert_clean(at)
    assert "This lesson exists to test the course machinery" in texts(at)
    assert "# Demo: tensor warm-ups" not in texts(at)  # the README's own title is not repeated
    exercises = at.dataframe[0].value
    assert list(exercises["exercise"])[:3] == ["relu", "normalise", "softmax"]
    assert exercises["points"].sum() == 11
    assert exercises.set_index("exercise").loc["fit_line", "points"] == 2


def test_a_lesson_can_ship_its_own_page(tmp_path):
    """apps/lesson_pages/<slug>.py replaces the generic page (tested on a copy of the app, not to touch apps/lesson_pages)."""
    shutil.copyfile(APP, tmp_path / "app.py")
    (tmp_path / "lesson_pages").mkdir()
    (tmp_path / "lesson_pages" / "99_demo.py").write_text(
        "import streamlit as st\n"
        "import course.ui as ui\n"
        "def explore(lesson):\n"
        "    st.markdown(f'Custom explorer for {lesson.slug}')\n"
        "ui.lesson_page('99', interactive=explore)\n"
    )
    at = app(tmp_path / "app.py").run()
    assert_clean(at)
    at = open_lesson(at, "99")
    assert_clean(at)
    assert "Custom explorer for 99_demo" in texts(at)
    assert at.button(key="check-99").label == "Check my work"  # the shared panel is still there
    at = app(tmp_path / "app.py").run()
    at.switch_page("lesson_pages/99_demo.py").run()
    assert_clean(at)
    assert "Custom explorer for 99_demo" in texts(at)


# ------------------------------------------------------------------------------------------------- Check my work


def check_my_work(at: AppTest) -> AppTest:
    return at.button(key="check-99").click().run(timeout=GRADE_TIMEOUT)


def test_check_my_work_with_the_solutions_gives_full_marks(demo):
    workspace_copy(demo.solutions_path)
    at = open_lesson(app().run(), "99")
    assert_clean(at)
    assert not at.info  # the file exists: no instructions needed
    at = check_my_work(at)
    assert_clean(at)
    assert any("11/11" in s.value and "all checks pass" in s.value for s in at.success)
    results = at.dataframe[1].value
    assert len(results) == 10 and all(r.startswith("✅") for r in results["result"])
    assert "New best score for lesson 99: 11/11." in texts(at)
    assert progress.best("99") == (11, 11)

    at.run()  # another rerun (any widget): the result stays on screen
    assert any("11/11" in s.value for s in at.success)

    home = app().run()
    assert_clean(home)
    assert "Lessons solved: 1 / 1" in texts(home)
    assert any("Best score 11/11" in p.proto.text for p in home.get("progress"))


def test_check_my_work_on_unfinished_work(demo):
    workspace_copy(demo.exercises_path)  # what `course start 99` copies: every exercise still to do
    at = check_my_work(open_lesson(app().run(), "99"))
    assert_clean(at)
    assert any("0/11" in w.value for w in at.warning)
    results = at.dataframe[1].value
    assert all("not done yet" in r for r in results["result"])
    assert "NotImplementedError" in texts(at)
    assert progress.best("99") == (0, 11)


def test_check_my_work_on_a_file_that_does_not_import(demo, make_submission):
    source = make_submission({"relu": "return x.clamp(min=0"})  # a syntax error
    workspace_copy(source)
    at = check_my_work(open_lesson(app().run(), "99"))
    assert_clean(at)
    assert any("could not be imported" in e.value and "SyntaxError" in e.value for e in at.error)
    assert any("0/11" in w.value for w in at.warning)


def test_check_my_work_without_a_workspace_file():
    at = open_lesson(app().run(), "99")
    assert_clean(at)
    how = " ".join(i.value for i in at.info)
    assert "course start 99" in how and str(progress.workspace() / "99_demo.py") in how
    at = check_my_work(at)
    assert_clean(at)
    assert any("Nothing to check yet" in w.value for w in at.warning)
    assert not at.success and progress.best("99") is None


def test_a_broken_checks_file_is_an_error_message_not_a_traceback(tmp_path, monkeypatch):
    lesson = copy_demo(tmp_path, monkeypatch)
    (lesson / "checks.py").write_text("raise RuntimeError('oops')\n")
    workspace_copy(lesson / "solutions.py")
    at = open_lesson(app().run(), "99")
    assert_clean(at)
    assert any("checks.py failed to load" in e.value for e in at.error)
    assert "This lesson exists to test" in texts(at)  # the README still shows


# ------------------------------------------------------------------------------------------------- the pieces


def test_the_course_package_never_imports_apps():
    pattern = re.compile(r"^\s*(from\s+apps\b|import\s+apps\b)", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "course").rglob("*.py") if pattern.search(p.read_text())]
    assert not offenders


def test_shared_resources_with_hooks_left_are_rebuilt():
    import torch

    from course.ui.resources import hooks_left, shared_resource

    built = []

    @shared_resource
    def model():
        built.append(1)
        return torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())

    m = model()
    assert model() is m and len(built) == 1 and hooks_left(m) == []
    handle = m[0].register_forward_hook(lambda *a: None)
    assert hooks_left(m) == ["0"]
    fresh = model()  # a hook was left behind: the cache hands out a clean copy instead
    assert fresh is not m and hooks_left(fresh) == [] and len(built) == 2
    handle.remove()
    model.clear()
