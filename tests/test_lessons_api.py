"""Finding lessons by number, folder or slug; clear errors for unknown lessons and broken metadata."""

from pathlib import Path

import pytest

from course.errors import CourseError, UsageError
from course.lessons import all_lessons, find_lesson, lessons_root

DEMO_LESSONS = Path(__file__).resolve().parent / "demo" / "lessons"


@pytest.mark.parametrize("arg", ["99", "099", 99, "99_demo", "demo", " DEMO "])
def test_find_by_number_folder_or_slug(arg):
    assert find_lesson(arg).slug == "99_demo"


def test_unknown_lesson_lists_known_ones():
    with pytest.raises(UsageError, match=r"Unknown lesson '42'.*99 \(demo\)"):
        find_lesson("42")


def test_env_points_at_lessons(monkeypatch, tmp_path):
    assert lessons_root() == DEMO_LESSONS
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(CourseError, match="does not exist"):
        lessons_root()


def test_broken_metadata_is_explained(tmp_path):
    (tmp_path / "01_broken").mkdir()
    with pytest.raises(CourseError, match="no lesson.toml"):
        all_lessons(tmp_path)
    (tmp_path / "01_broken" / "lesson.toml").write_text("title = 'x'\n")
    with pytest.raises(CourseError, match="lacks the field 'difficulty'"):
        all_lessons(tmp_path)
    (tmp_path / "01_broken" / "lesson.toml").write_text("title = \n")
    with pytest.raises(CourseError, match="not valid TOML"):
        all_lessons(tmp_path)


def test_checks_load_with_the_reference(demo):
    checks = demo.load_checks()
    assert len(checks) == 10 and sum(c.points for c in checks) == 11
    assert "Check('relu'" in repr(checks[0])
