"""Shared fixtures: the demo lesson (tests/demo/lessons/99_demo) and submissions made from its solutions."""

from __future__ import annotations

from pathlib import Path

import pytest

DEMO_LESSONS = Path(__file__).resolve().parent / "demo" / "lessons"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Every test sees the demo lessons and a private workspace, never the developer's own."""
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(DEMO_LESSONS))
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path / "workspace"))


@pytest.fixture
def demo():
    from course.lessons import find_lesson

    return find_lesson("99", DEMO_LESSONS)


def replace_body(source: str, function: str, body: str) -> str:
    """`source` with the solution block of `function` replaced by `body` (indented to match)."""
    from course.markers import replace_solution

    return replace_solution(source, function, body)


@pytest.fixture
def make_submission(demo, tmp_path):
    """make_submission({"relu": "return x"}, prelude="import os") -> path of a demo submission."""
    counter = iter(range(10_000))

    def make(bodies: dict[str, str] | None = None, prelude: str = "", name: str | None = None) -> Path:
        src = demo.solutions_path.read_text()
        for fn, body in (bodies or {}).items():
            src = replace_body(src, fn, body)
        if prelude:
            src = src.replace("import torch\n", prelude.strip("\n") + "\nimport torch\n", 1)
        path = tmp_path / "submissions" / f"{name or 'sub%d' % next(counter)}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src)
        return path

    return make
