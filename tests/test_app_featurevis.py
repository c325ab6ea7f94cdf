"""Lesson 01's page: the studio (every control), dataset examples, pixels vs FFT, the fooled unit; every button
pressed twice in two sessions, figures legible at 1,400 px. Renders are cut to a few steps (same code paths)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT
from course.ui import compute
from course.ui.testing import press_every_button, record_figures

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "01_feature_visualisation.py"


@pytest.fixture
def small(monkeypatch):
    import course.ui.featurevis as page
    import course.vision.featurevis as fv

    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))
    real = fv.render
    monkeypatch.setattr(fv, "render", lambda model, layer, units, steps=256, **kw: real(
        model, layer, units, steps=min(steps, 3), **{**kw, "size": min(kw.get("size", 64), 48)}))
    import course.vision.fooling as fooling

    real_check = fooling.check
    monkeypatch.setattr(fooling, "check", lambda *a, **kw: real_check(*a, **{**kw, "scenes": 32}))
    real_examples = page.dataset_examples
    monkeypatch.setattr(page, "dataset_examples", lambda name, layer, unit, n=1024, k=8, progress=None: real_examples(
        name, layer, unit, n=256, k=k, progress=progress))
    compute.clear()
    yield
    compute.clear()


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def images(at) -> int:
    return len(at.get("imgs")) + len(at.get("image"))


def test_studio_every_control(small):
    with record_figures() as drawn:
        at = AppTest.from_file(str(PAGE), default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        assert "press Render" in captions(at)
        at.number_input(key="fv_unit").set_value(27)
        at.radio(key="fv_param").set_value("pixel")
        at.checkbox(key="fv_decorrelate").uncheck()
        at.multiselect(key="fv_transforms").set_value(["jitter", "rotate"])
        at.select_slider(key="fv_steps").set_value(16)
        at.checkbox(key="fv_negative").check()
        at.slider(key="fv_diversity").set_value(5.0)
        at.slider(key="fv_copies").set_value(2)
        at = at.button(key="fv_render").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert "2 images in" in captions(at) and images(at) >= 1
        assert at.get("download_button"), "the grid can be downloaded as a PNG"
        at = at.button(key="fv_examples").click().run()
        assert not at.exception and images(at) >= 2
        at.selectbox(key="fv_layer").set_value("conv2").run()
        assert "controls changed" in captions(at)
        at.radio(key="fv_whole").set_value("The whole layer")
        at.slider(key="fv_diversity").set_value(0.0)
        at.slider(key="fv_copies").set_value(1)
        at = at.button(key="fv_render").click().run()
        assert not at.exception and "32 images in" in captions(at)
    assert drawn and not [p for _, problems in drawn for p in problems]


def test_every_button_twice_in_two_sessions(small):
    def prepare(at):
        at.select_slider(key="fv_steps").set_value(16)

    pressed = press_every_button(PAGE, prepare=prepare, timeout=240)
    assert pressed.get("fv_render") == 4 and pressed.get("fv_fool") == 4 and pressed.get("fv_compare") == 4
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()  # a third session: every result from the cache
    at = at.button(key="fv_compare").click().run()
    at = at.button(key="fv_fool").click().run()
    assert not at.exception, [e.value for e in at.exception]
    text = captions(at)
    import re

    change = re.search(r"Largest change of any class score on 32 scenes: ([0-9.e+-]+)\.", text)
    assert change and float(change.group(1)) < 1e-9 and "excites the decoy" in text, text
    assert "high-freq" in "".join(str(x) for x in at.get("imgs")) or images(at) >= 2


@pytest.mark.slow  # a Streamlit server and Chromium: ~30 s on 2 idle cores (85 s on our busy ones)
def test_page_opens_in_a_browser(tmp_path):
    """The real app in Chromium: lesson 01's page shows its text and the studio without an exception box."""
    import test_app_browser as b

    chromium = b.need_chromium()
    with b.serving(REPO_ROOT / "lessons", tmp_path) as (port, log):
        dom = b.rendered(chromium, f"http://localhost:{port}/01_feature_visualisation", "Feature-visualisation studio",
                         tmp_path, timeout=120)
        assert "Feature-visualisation studio" in dom, log.read_text()[-3000:]
        assert "Activation maximisation" in dom and "Render" in dom
        assert b.EXCEPTION not in dom and b.RUNNING not in dom
