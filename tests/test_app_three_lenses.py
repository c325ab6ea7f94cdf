"""Lesson 00's page: an image and a cell, the four maps with IG's completeness error, the cascade row, the probe
chart, the ablation toggles redrawing the per-cell predictions, recall against random controls; every button of
every lens pressed twice in two sessions (course.ui.testing), every figure legible at 1,400 px. The expensive
figures run the same code on fewer scenes (the lesson's sizes are tested in tests/vision/test_lenses_shipped.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT
from course.ui import compute
from course.ui.testing import press_every_button

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "00_three_lenses.py"


@pytest.fixture
def small(monkeypatch):
    from course.vision import lenses as L

    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))
    monkeypatch.setattr(L, "EXAMPLES", 2)
    monkeypatch.setattr(L, "PROBE_SCENES", 12)
    monkeypatch.setattr(L, "PROBE_CONFIG", L.P.ProbeConfig(steps=5))
    monkeypatch.setattr(L, "ABLATION_SCENES", 16)
    monkeypatch.setattr(L, "ABLATION_CONTROLS", 2)
    compute.clear()
    yield
    compute.clear()


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("caption", "markdown", "error", "warning") for e in getattr(at, kind))


def images(at) -> int:
    return len(at.get("imgs")) + len(at.get("image"))


def lens(at, number: int):
    from course.ui.three_lenses import SECTIONS

    return at.radio(key="tl_section").set_value(SECTIONS[number - 1]).run()


def test_lenses_page(small):
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "completeness error" in texts(at) and images(at) == 1  # the image and the four maps
    at.select_slider(key="tl_steps").set_value(8).run()
    assert "gausslegendre, 8 steps" in texts(at)

    at = lens(at, 2).button(key="tl_cascade").click().run()
    assert not at.exception and "receptive field" in texts(at) and images(at) == 1

    at = lens(at, 3).button(key="tl_probe").click().run()
    assert not at.exception and len(at.dataframe) == 2 and images(at) == 1  # the probes; the exercises

    at = lens(at, 4)
    assert "conv4's curve family (the census): 0, 19, 22" in texts(at) and images(at) == 1
    at.radio(key="tl_ablation").set_value("the curve family").run()
    assert "Zeroed now: 0, 19, 22, 24" in texts(at) and "cells changed" not in texts(at)  # it's in the figure
    at.radio(key="tl_ablation").set_value("units I pick").run()
    at.multiselect(key="tl_units").set_value([19, 27]).run()
    assert "Zeroed now: 19, 27." in texts(at)
    at = at.button(key="tl_recall").click().run()
    assert not at.exception and "Disc recall falls by" in texts(at) and images(at) == 2

    at = lens(at, 2)
    at.radio(key="tl_source").set_value("draw a shape").run()
    at.selectbox(key="tl_shape").set_value("square").run()
    assert not at.exception and "(for an earlier image" in texts(at)


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_every_button_twice_in_two_sessions(small, number):
    def prepare(at):
        lens(at, number)
        if number == 4:
            at.radio(key="tl_ablation").set_value("a random set of as many units").run()

    skip = () if number == 4 else ("check-00",)  # the lesson panel's button: pressed with lens 4 (and by test_app)
    pressed = press_every_button(PAGE, prepare=prepare, timeout=300, skip=skip)
    want = {1: {"tl_ig_steps"}, 2: {"tl_cascade", "tl_cascade_lesson"}, 3: {"tl_probe"}, 4: {"tl_recall"}}[number]
    assert want <= set(pressed), pressed


def test_home_presents_lesson_00_as_the_entry_point(monkeypatch):
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))
    at = AppTest.from_file(str(REPO_ROOT / "apps" / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert "Start with lesson 00, three lenses" in texts(at)
    assert [s.value for s in at.subheader][0].startswith("00 · Three lenses")
