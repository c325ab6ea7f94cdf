"""Lesson 05's interactive part: the paper's experiments in one click, toy models of your own, the phase diagram.

`explore(lesson)` offers two ways to train: **paper settings** run the exact experiments the lesson's text
describes and its tests check (`course.superposition.experiments`: the pentagon, 20 features in 5 dimensions,
the sticky dimensionalities), and **your own settings** (sliders for n_features, n_hidden, importance decay,
the range of feature probabilities and the training length). Either way every instance trains in one batched
run with a progress bar, then the page shows the feature geometry (n_hidden == 2), W^T W with the bias, and the
dimensionality plot. The phase diagram is one more button, available at any time.

Every computation goes through `course.ui.cached_compute`: computed once per setting for every session (a
class pressing the same button trains once), with the progress bar drawn outside the cache.
"""

from __future__ import annotations

import time

import streamlit as st
import torch

from course.lessons import Lesson
from course.ui.compute import cached_compute

# Paper settings: what each runs, and how long it took on 2 idle cores of the development machine (AMD EPYC).
PRESETS = {
    "five_two": ("5 features in 2 dimensions, dense (p = 1) and sparse (p = 0.02): §3's pentagon", "about 8 s"),
    "twenty_five": ("20 features in 5 dimensions at p = 1, 0.3, 0.1, 0.03, 0.01: §4", "about 13 s"),
    "linear_baseline": ("20 in 5 at p = 0.01 without the ReLU: §4's linear baseline", "about 3 s"),
    "sticky": ("200 features in 20 dimensions: §5's sticky dimensionalities", "about 30 s"),
}
PHASE_TIME = "about 55 s"


def _plain(model, p: torch.Tensor, losses: torch.Tensor, seconds: float, title: str) -> dict:
    return {"W": model.W.detach().cpu().clone(), "b": model.b_final.detach().cpu().clone(), "p": p.cpu().clone(),
            "loss": losses[-1].cpu().clone(), "seconds": seconds, "title": title}


def run_experiment(name: str, progress=None) -> dict:
    """One of the paper's experiments (`PRESETS`), as plain tensors."""
    from course.superposition import experiments

    t = time.perf_counter()
    exp = getattr(experiments, name)(progress=progress or False)
    return _plain(exp.model, exp.feature_probability, exp.losses, time.perf_counter() - t, PRESETS[name][0])


def train_custom(n_features: int, n_hidden: int, n_instances: int, decay: float, p_range: tuple[float, float],
                 steps: int, seed: int = 0, progress=None) -> dict:
    """Toy models with the sliders' settings, one instance per feature probability (log-spaced, densest first)."""
    from course.superposition import ToyModel, ToyModelConfig, TrainConfig, train

    lo, hi = p_range
    p = torch.logspace(torch.tensor(hi).log10().item(), torch.tensor(lo).log10().item(), n_instances)
    model = ToyModel(ToyModelConfig(n_features, n_hidden, n_instances), feature_probability=p,
                     importance=decay ** torch.arange(float(n_features)), device="cpu",
                     generator=torch.Generator().manual_seed(seed))
    t = time.perf_counter()
    losses = train(model, TrainConfig(steps=steps, batch_size=1024, lr=1e-2, seed=seed), progress=progress or False)
    title = f"{n_features} features in {n_hidden} dimensions, importance {decay:g}^i, {steps} steps"
    return _plain(model, p, losses, time.perf_counter() - t, title)


def phase_diagram(seed: int = 0, progress=None):
    """The 2-features-in-1-dimension phase diagram (a PhaseDiagram of plain tensors)."""
    from course.superposition.phase import phase_diagram as compute

    return compute(seed=seed, progress=progress or False)


def explore(lesson: Lesson) -> None:
    st.subheader("Train toy models")
    mode = st.radio("Settings", ["Paper settings (the lesson's figures)", "Your own settings"], horizontal=True,
                    key="sp_mode")
    if mode.startswith("Paper"):
        name = st.selectbox("Experiment", list(PRESETS), format_func=lambda k: PRESETS[k][0], key="sp_preset")
        if st.button(f"Run it ({PRESETS[name][1]} on 2 cores, then cached)", type="primary", key="sp_run_preset"):
            st.session_state["sp_result"] = ("preset", name), cached_compute(
                run_experiment, name, label=f"Training: {PRESETS[name][0]}...")
        current = ("preset", name)
    else:
        c1, c2 = st.columns(2)
        n_features = c1.slider("n_features", 2, 30, 5, key="sp_features")
        n_hidden = c2.slider("n_hidden", 1, 6, 2, key="sp_hidden")
        decay = c1.slider("importance decay (importance = decay^i)", 0.5, 1.0, 0.9, 0.05, key="sp_decay")
        steps = c2.select_slider("training steps", [500, 1000, 2000, 5000], 2000, key="sp_steps")
        p_lo, p_hi = st.select_slider("feature probability range (one instance per step, log-spaced)",
                                      options=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0], value=(0.01, 1.0), key="sp_p")
        n_instances = st.slider("instances (models trained side by side)", 2, 12, 6, key="sp_instances")
        if p_lo >= p_hi:
            st.warning("Pick a range with the lower probability below the upper one.")
            return
        settings = (n_features, n_hidden, n_instances, decay, (p_lo, p_hi), steps, 0)
        if st.button("Train", type="primary", key="sp_train"):
            st.session_state["sp_result"] = ("custom", settings), cached_compute(
                train_custom, *settings, label="Training your toy models...")
        current = ("custom", settings)

    if "sp_result" in st.session_state:
        used, out = st.session_state["sp_result"]
        if used != current:
            st.caption("The settings changed since these models were trained: press the button to update.")
        _show(out)
    else:
        st.caption("Pick an experiment (or your own settings) and press the button: every instance trains at once.")

    st.subheader("Phase diagram: 2 features, 1 dimension")
    st.caption(f"81 grid points x 4 restarts = 324 models in one batched run ({PHASE_TIME} on 2 cores, then "
               "cached for every session).")
    if st.button("Compute the phase diagram", key="sp_phase"):
        st.session_state["sp_phase_result"] = cached_compute(phase_diagram, 0, label="Training 324 models...")
    if "sp_phase_result" in st.session_state:
        from course.superposition import plots

        st.pyplot(plots.phase(st.session_state["sp_phase_result"]), clear_figure=True)


def _show(out: dict) -> None:
    from course.superposition import analysis as A
    from course.superposition import plots

    W, b, p = out["W"], out["b"], out["p"]
    rep = A.represented(W).sum(dim=1).tolist()
    st.markdown(f"**{out['title']}**")
    st.caption(f"Trained {W.shape[0]} instances in {out['seconds']:.1f} s. Represented features per instance "
               f"(norm > 0.5), in order: {rep}.")
    if W.shape[1] == 2:
        st.pyplot(plots.geometry(W, p), clear_figure=True)
    st.pyplot(plots.wtw_and_bias(W, b, p), clear_figure=True)
    st.pyplot(plots.dimensionality(W, p), clear_figure=True)
