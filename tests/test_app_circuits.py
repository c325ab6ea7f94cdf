"""Lesson 04's page, the circuit workbench: every button of every view pressed twice in two sessions
(press_every_button, which also checks every figure is legible at 1,400 px), and what each view shows for the
running example conv4:98: the same figures the lesson text states (tests/vision/test_circuits_shipped.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT
from course.ui import compute
from course.ui.testing import press_every_button, record_figures

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "04_circuits.py"


@pytest.fixture(scope="module", autouse=True)
def fresh_cache():
    compute.clear()
    yield
    compute.clear()


@pytest.fixture(autouse=True)
def real_lessons(monkeypatch):
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("caption", "markdown", "info") for e in getattr(at, kind))


def metric(at, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_every_button_pressed_twice_in_two_sessions():
    """The build view has the page's only button besides "Check my work"; the other views have none."""
    pressed = press_every_button(PAGE, prepare=lambda at: at.radio(key="cw_view").set_value("Build by hand"),
                                 timeout=900)
    assert pressed == {"check-04": 4, "cw_substitute": 4}


def test_what_the_workbench_shows_for_conv4_98():
    with record_figures() as drawn:
        at = AppTest.from_file(str(PAGE), default_timeout=900).run()
        assert not at.exception
        assert at.selectbox(key="cw_unit").value == 8  # conv4:98, the running example
        assert "conv4:98's 8 strongest inputs" in texts(at) and "tangent at the middle tap is 118°" in texts(at)

        at.radio(key="cw_view").set_value("Ablate and edit").run()
        assert "Turn a toggle on" in texts(at)
        at.toggle(key="cw_zero").set_value(True).run()
        assert "Disc recall 0.875 -> 0.763 (a loss of 0.112); triangle 0.865 -> 0.893" in texts(at)
        at.toggle(key="cw_zero").set_value(False).run()
        at.toggle(key="cw_drop").set_value(True).run()
        assert "triangle 0.865 -> 0.072" in texts(at)
        at.toggle(key="cw_drop").set_value(False).run()
        at.toggle(key="cw_random").set_value(True).run()
        assert "Disc recall 0.875 ->" in texts(at) and at.number_input(key="cw_seed").value == 0

        at.radio(key="cw_view").set_value("Build by hand").run()
        assert metric(at, "Tuning correlation with conv4:98") == "0.95"
        at.number_input(key="cw_tap_11").set_value(0.0).run()  # the middle tap off: the match drops
        assert float(metric(at, "Tuning correlation with conv4:98")) < 0.95
        at.number_input(key="cw_tap_11").set_value(1.0).run()
        at = at.button(key="cw_substitute").click().run()
        assert metric(at, "Disc recall won back") == "66%"
        assert "built family 0.836; triangle 0.828" in texts(at) and "median 0.89, min 0.63" in texts(at)

        at.radio(key="cw_view").set_value("Equivariance").run()
        assert metric(at, "Variance explained") == "16.7%"
        at.radio(key="cw_which").set_value("hand-built (the lesson's rule)").run()
        assert metric(at, "Variance explained") == "97.5%"
        assert not at.exception
    assert len(drawn) >= 6 and not [p for _, problems in drawn for p in problems]
