"""Lesson 03's page: every view, every button pressed twice in two sessions (press_every_button), and what the
page shows for the running example conv4:45 (its preferred frequency, a live boundary response that vanishes
when the boundary is turned round, its side ratio in scenes, the factorisation's figures)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT
from course.ui import compute
from course.ui.testing import press_every_button, record_figures

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "03_texture_frequency.py"


@pytest.fixture(scope="module", autouse=True)
def fresh_cache():
    compute.clear()
    yield
    compute.clear()


@pytest.fixture(autouse=True)
def real_lessons(monkeypatch):
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))


def _texts(at) -> str:
    return "\n".join([c.value for c in at.caption] + [m.value for m in at.markdown] + [i.value for i in at.info])


@pytest.mark.parametrize("view, buttons", [("In a scene", {"tf_best": 4, "check-03": 4}),
                                           ("Expanded weights and factors", {"tf_factorise": 4})])
def test_every_button_of_the_views_with_buttons(view, buttons):
    """The other two views have no buttons of their own ("Check my work" is on every view: pressed once here)."""
    skip = () if "check-03" in buttons else ("check-03",)
    pressed = press_every_button(PAGE, prepare=lambda at: at.radio(key="tf_view").set_value(view), timeout=600,
                                 skip=skip)
    assert pressed == buttons


def test_what_the_page_shows_for_conv4_45():
    with record_figures() as drawn:
        at = AppTest.from_file(str(PAGE), default_timeout=600).run()
        assert not at.exception
        assert "conv4:45 is a high-low unit; its preferred grating frequency is 0.158" in _texts(at)

        at.radio(key="tf_view").set_value("Boundary explorer").run()
        assert at.slider(key="tf_orient_conv4_45").value == 200  # starts at its census orientation (202, by 5s)
        assert float(at.metric[0].value) > 1.0
        at.radio(key="tf_side").set_value("swapped (the boundary turned 180°)").run()
        assert float(at.metric[0].value) == 0.0  # the other side: nothing
        at.slider(key="tf_orient_conv4_45").set_value(20).run()
        assert float(at.metric[0].value) > 1.0  # 20 + 180 = 200 again

        at.radio(key="tf_view").set_value("In a scene").run()
        assert "conv4:45 answers 19.7x more when the texture lies its preferred way" in _texts(at)
        at = at.button(key="tf_best").click().run()
        assert at.number_input(key="tf_scene_conv4_45").value >= 10_000_000

        at.radio(key="tf_view").set_value("Expanded weights and factors").run()
        at = at.button(key="tf_factorise").click().run()
        text = _texts(at)
        assert "relative error 0.626" in text and "HF-factor prefers 0.222" in text and "larger on the fine side" in text
        at.selectbox(key="tf_layer").set_value("conv5").run()
        assert "fitted onto the family's two factors" in _texts(at)
        at.selectbox(key="tf_layer").set_value("conv2").run()
        assert "pick a unit of conv3, conv4 or conv5" in _texts(at)
        assert not at.exception
    assert len(drawn) >= 6 and not [p for _, problems in drawn for p in problems]
