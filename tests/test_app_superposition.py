"""Lesson 05's page: paper presets and your own settings with progress, the figures, and the phase diagram;
every button pressed twice and in two sessions (the second press once failed with CacheReplayClosureError)."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT
from course.ui import compute
from course.ui.testing import press_every_button, record_figures

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "05_superposition.py"


@pytest.fixture
def small(monkeypatch):
    """The real lessons, and the expensive experiments cut to a few hundred steps (same code paths)."""
    import course.superposition.experiments as ex
    import course.superposition.phase as phase
    from course.superposition.model import TrainConfig

    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))
    real_phase, real_run = phase.phase_diagram, ex._run
    monkeypatch.setattr(phase, "phase_diagram", lambda seed=0, progress=False: real_phase(
        torch.logspace(-1, 1, 3), torch.logspace(-2, 0, 3), restarts=1, train_cfg=TrainConfig(steps=200), seed=seed,
        progress=progress))
    monkeypatch.setattr(ex, "_run", lambda name, cfg, p, imp, train_cfg, seed, progress: real_run(
        name, cfg, p, imp, TrainConfig(steps=150, batch_size=256, lr=1e-2, seed=seed), seed, progress))
    compute.clear()
    yield
    compute.clear()


def test_presets_and_phase_diagram(small):
    with record_figures() as drawn:
        _presets_and_phase_diagram()
    assert len(drawn) >= 7 and not [p for _, problems in drawn for p in problems]  # legible at 1,400 px


def _presets_and_phase_diagram():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    assert "press the button" in "\n".join(c.value for c in at.caption)
    at = at.button(key="sp_run_preset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    captions = "\n".join(c.value for c in at.caption)
    assert "Trained 16 instances" in captions  # five_two: 8 dense + 8 sparse
    assert len(at.get("imgs")) == 3 or len(at.get("image")) == 3  # geometry, W^T W with bias, dimensionality
    at.selectbox(key="sp_preset").set_value("twenty_five").run()
    assert "settings changed" in "\n".join(c.value for c in at.caption)
    at = at.button(key="sp_run_preset").click().run()
    assert "Trained 10 instances" in "\n".join(c.value for c in at.caption)
    # the phase diagram is reachable without training anything first (a fresh session)
    fresh = AppTest.from_file(str(PAGE), default_timeout=120).run()
    fresh = fresh.button(key="sp_phase").click().run()
    assert not fresh.exception and len(fresh.get("image")) + len(fresh.get("imgs")) >= 1


def test_own_settings(small):
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.radio(key="sp_mode").set_value("Your own settings").run()
    at.select_slider(key="sp_steps").set_value(500)
    at.slider(key="sp_instances").set_value(3)
    at = at.button(key="sp_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Trained 3 instances" in "\n".join(c.value for c in at.caption)
    at.slider(key="sp_hidden").set_value(3).run()
    assert "settings changed" in "\n".join(c.value for c in at.caption)


def test_every_button_twice_in_two_sessions(small):
    press_every_button(PAGE, timeout=180)  # paper settings (the default mode)

    def own(at):
        at.radio(key="sp_mode").set_value("Your own settings").run()
        at.select_slider(key="sp_steps").set_value(500)

    pressed = press_every_button(PAGE, prepare=own, timeout=180)
    assert pressed.get("sp_train") == 4 and pressed.get("sp_phase") == 4
