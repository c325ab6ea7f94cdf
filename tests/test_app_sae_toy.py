"""Lesson 06's page: live training with the ground-truth metrics and figures (arrows when d = 2, absorption with a
hierarchy), the frontier, the absorption experiment, the pentagon and the decoder-norm drift; every button pressed
twice in two sessions. (The page shows its figures as cached PNGs, so their legibility at 1,400 px is tested on the
figure functions, in tests/sae/test_toy_plots.py.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT
from course.ui import compute
from course.ui.testing import press_every_button

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "06_sae_toy.py"
STEPS = 40


@pytest.fixture
def small(monkeypatch):
    """The real lessons, and every training cut to a few dozen steps (same code paths)."""
    import dataclasses

    import course.sae.toy_experiments as E
    import course.sae.train as T
    import course.superposition.experiments as ex
    from course.superposition.model import TrainConfig

    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))
    real_train = T.train_sae

    def short(sae, source, cfg=None, progress=False, callback=None):
        cfg = dataclasses.replace(cfg or T.SAETrainConfig(), steps=min((cfg or T.SAETrainConfig()).steps, STEPS),
                                  warmup_steps=5, log_every=5)
        return real_train(sae, source, cfg, progress=progress, callback=callback)

    monkeypatch.setattr(T, "train_sae", short)
    monkeypatch.setattr(E, "train_sae", short)
    real_run, real_drift = ex._run, E.decoder_norm_drift
    monkeypatch.setattr(ex, "_run", lambda name, cfg, p, imp, train_cfg, seed, progress: real_run(
        name, cfg, p, imp, TrainConfig(steps=100, batch_size=256, lr=1e-2, seed=seed), seed, progress))
    monkeypatch.setattr(E, "decoder_norm_drift", lambda **kw: real_drift(steps=STEPS, log_every=5))
    compute.clear()
    yield
    compute.clear()


def _text(at) -> str:
    return "\n".join([c.value for c in at.caption] + [m.value for m in at.markdown])


def _images(at) -> int:
    return len(at.get("imgs")) + len(at.get("image"))


def test_train_metrics_and_figures(small):
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()
    assert not at.exception and "press Train" in _text(at)
    at.select_slider(key="st_steps").set_value(200)
    at.slider(key="st_d").set_value(2)
    at = at.button(key="st_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "trained in" in _text(at) and "SAE(topk" in _text(at)
    table = at.table[0].value
    assert "mean max cosine (MMC)" in table["metric"].tolist() and len(table) == 6
    assert _images(at) == 3  # matched cosines, arrows (d = 2), training curves
    at.slider(key="st_d").set_value(12).run()
    assert "settings changed" in _text(at)
    at.checkbox(key="st_hier").check().run()
    at.selectbox(key="st_arch").set_value("matryoshka").run()
    at = at.button(key="st_train").click().run()
    assert not at.exception and "Absorption rate on this hierarchy" in _text(at) and "MatryoshkaSAE" in _text(at)
    assert _images(at) == 2  # no arrows for d = 12
    at.selectbox(key="st_arch").set_value("jumprelu").run()
    at = at.button(key="st_train").click().run()
    assert not at.exception and "JumpReLUSAE" in _text(at)
    at.selectbox(key="st_arch").set_value("relu").run()
    at = at.button(key="st_frontier").click().run()
    assert not at.exception and _images(at) == 3  # + the frontier


def test_every_button_twice_in_two_sessions(small):
    def quick(at):
        at.select_slider(key="st_steps").set_value(200)
        at.slider(key="st_features").set_value(10)

    pressed = press_every_button(PAGE, prepare=quick, timeout=300)
    for key in ("st_train", "st_frontier", "st_absorb", "st_pentagon", "st_drift"):
        assert pressed.get(key) == 4, pressed
    at = AppTest.from_file(str(PAGE), default_timeout=180).run()  # a third session: every result is cached now
    for key in ("st_absorb", "st_pentagon", "st_drift"):
        at = at.button(key=key).click().run()
    assert not at.exception and "Absorption: plain" in _text(at) and "mean max cosine" in _text(at)
    assert _images(at) == 3  # absorption, pentagon arrows, the drift
