"""Lesson 05's page: live training with progress, the geometry and W^T W figures, and the phase diagram."""

from __future__ import annotations

import torch
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "05_superposition.py"


def test_train_and_phase_diagram(monkeypatch):
    import course.superposition.phase as phase
    from course.superposition.model import TrainConfig

    real = phase.phase_diagram
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))
    monkeypatch.setattr(phase, "phase_diagram", lambda seed=0, progress=False: real(
        torch.logspace(-1, 1, 3), torch.logspace(-2, 0, 3), restarts=1, train_cfg=TrainConfig(steps=200), seed=seed,
        progress=progress))
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    assert "Set the sliders and press Train" in "\n".join(c.value for c in at.caption)
    at.select_slider(key="sp_steps").set_value(500)
    at.slider(key="sp_instances").set_value(3)
    at = at.button(key="sp_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    captions = "\n".join(c.value for c in at.caption)
    assert "Trained 3 instances" in captions and "Represented features per instance" in captions
    assert len(at.get("image")) == 3  # geometry (n_hidden = 2), W^T W with bias, dimensionality
    at.slider(key="sp_hidden").set_value(3).run()
    assert "sliders changed" in "\n".join(c.value for c in at.caption)
    at = at.button(key="sp_train").click().run()
    assert len(at.get("image")) == 2  # no 2-D geometry for 3 hidden dimensions
    at = at.button(key="sp_phase").click().run()
    assert not at.exception and len(at.get("image")) == 3
