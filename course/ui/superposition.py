"""Lesson 05's interactive part: train toy models live, look at their geometry, and the phase diagram.

`explore(lesson)` draws sliders for the model (n_features, n_hidden, importance decay, the range of feature
probabilities and the training length), trains all instances in one batched run with a progress bar (a few
seconds on a laptop CPU), and shows the feature geometry (n_hidden == 2) or W^T W with the bias, and the
dimensionality plot. The phase diagram is computed on request and cached for every session.
"""

from __future__ import annotations

import time

import streamlit as st
import torch

from course.lessons import Lesson


@st.cache_data(show_spinner=False, max_entries=32)
def _train(n_features: int, n_hidden: int, n_instances: int, decay: float, p_range: tuple[float, float],
           steps: int, seed: int, _progress=None) -> dict:
    """Train and return plain tensors (cached by the settings; `_progress` is not part of the key)."""
    from course.superposition import ToyModel, ToyModelConfig, TrainConfig, train

    lo, hi = p_range
    p = torch.logspace(torch.tensor(hi).log10().item(), torch.tensor(lo).log10().item(), n_instances)
    model = ToyModel(ToyModelConfig(n_features, n_hidden, n_instances), feature_probability=p,
                     importance=decay ** torch.arange(float(n_features)), device="cpu",
                     generator=torch.Generator().manual_seed(seed))
    t = time.perf_counter()
    losses = train(model, TrainConfig(steps=steps, batch_size=1024, lr=1e-2, seed=seed), progress=_progress or False)
    return {"W": model.W.detach().clone(), "b": model.b_final.detach().clone(), "p": p,
            "loss": losses[-1], "seconds": time.perf_counter() - t}


@st.cache_data(show_spinner=False)
def _phase(seed: int, _progress=None):
    from course.superposition.phase import phase_diagram

    return phase_diagram(seed=seed, progress=_progress or False)


def explore(lesson: Lesson) -> None:
    from course.superposition import analysis as A
    from course.superposition import plots

    st.subheader("Train toy models")
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
        bar = st.progress(0.0, text="training...")
        out = _train(*settings, _progress=lambda f: bar.progress(min(f, 1.0), text=f"training... {f:.0%}"))
        bar.empty()
        st.session_state["sp_result"] = (settings, out)
    if "sp_result" not in st.session_state:
        st.caption("Set the sliders and press Train: every instance trains at once, in a few seconds.")
        return
    settings_used, out = st.session_state["sp_result"]
    if settings_used != settings:
        st.caption("The sliders changed since this training: press Train to update.")
    W, b, p = out["W"], out["b"], out["p"]
    rep = A.represented(W).sum(dim=1).tolist()
    st.caption(f"Trained {W.shape[0]} instances in {out['seconds']:.1f} s. Represented features per instance "
               f"(norm > 0.5), from the densest: {rep}.")
    if W.shape[1] == 2:
        st.pyplot(plots.geometry(W, p), clear_figure=True)
    st.pyplot(plots.wtw_and_bias(W, b, p), clear_figure=True)
    st.pyplot(plots.dimensionality(W, p), clear_figure=True)

    st.subheader("Phase diagram: 2 features, 1 dimension")
    if st.button("Compute the phase diagram (about 20 s, then cached)", key="sp_phase"):
        bar = st.progress(0.0, text="training 324 models...")
        st.session_state["sp_phase_result"] = _phase(0, _progress=lambda f: bar.progress(min(f, 1.0)))
        bar.empty()
    if "sp_phase_result" in st.session_state:
        st.pyplot(plots.phase(st.session_state["sp_phase_result"]), clear_figure=True)
