"""Lesson 06's interactive part: train an SAE live on toy data you configure, and the lesson's experiments.

`explore(lesson)` has four parts, each a button whose work goes through `course.ui.cached_compute` (computed
once per setting for every session, progress drawn only on a miss):

* **Train an SAE** on toy data (n_features, d, feature probability, hierarchy on or off) with a chosen
  architecture (ReLU + L1, TopK, BatchTopK, JumpReLU, Matryoshka BatchTopK) and its sparsity knob (k, the L1 or
  L0 coefficient): the metrics against ground truth (mean max cosine, MCC, shrinkage, true vs SAE L0, FVU, dead
  latents), the matched cosine matrix, arrows when d = 2, and MSE / L0 / dead latents over training.
* **The frontier**: one SAE per k (or L1 coefficient) on the same data, L0 against FVU.
* **Absorption**: a plain and a Matryoshka BatchTopK SAE on the same hierarchy (the lesson's experiment).
* **The lesson's other experiments**: lesson 05's pentagon recovered, and what goes wrong without the
  decoder-norm weighting.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import streamlit as st
import torch

from course.lessons import Lesson
from course.ui.compute import cached_compute

ARCHS = {
    "topk": "TopK (k latents per input)",
    "batchtopk": "BatchTopK (k per input on average)",
    "relu": "ReLU + L1 (decoder-norm weighted)",
    "jumprelu": "JumpReLU (L0 penalty, learned thresholds)",
    "matryoshka": "Matryoshka BatchTopK (inner prefix: one latent per parent)",
}


def data_config(n_features: int, d: int, p: float, hierarchy: bool, seed: int = 0):
    """The toy data for the sliders: with a hierarchy, a fifth of the features (at least 1) are parents with 3
    children each (where they fit), the rest free."""
    from course.sae.toy import HierarchyConfig

    if hierarchy:
        n_parents = max(1, n_features // 5)
        n_parents = min(n_parents, n_features // 4) or 1
        n_free = max(0, n_features - 4 * n_parents)
        return HierarchyConfig(n_parents=n_parents, n_children=3, n_free=n_free, d=d, p=p, p_child=0.8, seed=seed)
    return HierarchyConfig(n_parents=0, n_children=0, n_free=n_features, d=d, p=p, seed=seed)


def make_sae(arch: str, d: int, d_sae: int, knob: float, n_parents: int, seed: int = 0):
    from course.sae import SAE, SAEConfig
    from course.sae.jumprelu import JumpReLUConfig, JumpReLUSAE
    from course.sae.matryoshka import MatryoshkaConfig, MatryoshkaSAE

    g = torch.Generator().manual_seed(seed)
    if arch == "relu":
        return SAE(SAEConfig(d, d_sae, "relu", l1_coefficient=float(knob)), generator=g)
    if arch == "jumprelu":
        return JumpReLUSAE(JumpReLUConfig(d, d_sae, l0_coefficient=float(knob), init_threshold=0.5, bandwidth=0.2),
                           generator=g)
    if arch == "matryoshka":
        inner = min(max(n_parents, 1), d_sae - 1)
        return MatryoshkaSAE(MatryoshkaConfig(d, d_sae, "batchtopk", k=int(knob), matryoshka_widths=(inner,)),
                             generator=g)
    return SAE(SAEConfig(d, d_sae, arch, k=int(knob)), generator=g)


def train_toy_sae(n_features: int, d: int, p: float, hierarchy: bool, arch: str, knob: float, width: int,
                  steps: int, seed: int = 0, progress=None) -> dict:
    """Train one SAE on the configured toy data; plain results for the page."""
    from course.sae.groundtruth import absorption, compare_to_truth
    from course.sae.toy import HierarchicalFeatures
    from course.sae.train import SAETrainConfig, train_sae

    cfg = data_config(n_features, d, p, hierarchy, seed)
    data = HierarchicalFeatures(cfg)
    sae = make_sae(arch, d, width * cfg.n_features, knob, cfg.n_parents, seed)
    g = torch.Generator().manual_seed(seed)
    t = time.perf_counter()
    log = train_sae(sae, lambda b: data.sample(b, g),
                    SAETrainConfig(steps=steps, batch_size=512, lr=3e-3, warmup_steps=min(50, steps // 4),
                                   dead_after=20_000, log_every=max(steps // 40, 1), seed=seed),
                    progress=(lambda f: progress(f, text=f"training... {f:.0%}")) if progress else False)
    seconds = time.perf_counter() - t
    x, coef = data.sample_with_coefficients(10_000, torch.Generator().manual_seed(10_000 + seed))
    out = {"metrics": compare_to_truth(sae, x, coef, data.features), "W_dec": sae.W_dec.detach().clone(),
           "features": data.features.clone(), "parent_of": data.parent_of.clone(), "seconds": seconds,
           "log": {"step": log.step, "mse": log.mse, "l0": log.l0, "dead": log.dead_fraction},
           "true_l0": data.true_l0(), "repr": f"{sae!r} on {data!r}"}
    if cfg.n_parents:
        with torch.no_grad():
            a = absorption(sae.encode(x), coef, sae.W_dec, data.features, data.parent_of)
        out["absorption"] = a["rate"]
    return out


def run_frontier(n_features: int, d: int, p: float, hierarchy: bool, arch: str, values: tuple, steps: int,
                 progress=None) -> dict:
    from course.sae import toy_experiments as E

    cfg = data_config(n_features, d, p, hierarchy)
    r = E.frontier(values=values, architecture=arch, steps=steps, data_cfg=cfg, progress=progress or False)
    return r


def run_absorption(steps: int = 800, progress=None) -> dict:
    from course.sae import toy_experiments as E
    from course.sae.toy import HierarchicalFeatures

    r = E.absorption_pair(steps=steps, progress=progress or False)
    r["parent_of"] = HierarchicalFeatures(E.ABSORPTION_DATA).parent_of
    return r


def run_pentagon(progress=None) -> dict:
    from course.sae import toy_experiments as E

    r = E.pentagon(progress=progress or False)
    return {"features": r.features, "W_dec": r.W_dec, "metrics": r.metrics}


def run_drift(progress=None) -> dict:
    from course.sae import toy_experiments as E

    if progress:
        progress(0.0, text="training (about 10 s)...")
    return E.decoder_norm_drift()


_PNG: "OrderedDict[tuple, tuple]" = OrderedDict()  # (figure name, id(result)) -> (result, png bytes)
_PNG_LOCK = threading.Lock()


def _show(name: str, result, make) -> None:
    """Draw the figure `make()` of `result`, rendered to PNG once per result for every session.

    A figure costs 0.3-1 s to draw and encode, and Streamlit reruns the whole page on every widget change, so
    redrawing seven figures on each click made the page sluggish. Results come from `cached_compute` and are
    read-only, so their pictures can be cached beside them (the entry holds the result, so its id can't be
    reused while cached). Legibility at 1,400 px is tested on the figure functions themselves
    (tests/sae/test_toy_plots.py).
    """
    import io

    import matplotlib.pyplot as plt

    key = (name, id(result))
    with _PNG_LOCK:
        hit = _PNG.get(key)
    if hit is None or hit[0] is not result:
        fig = make()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
        plt.close(fig)
        hit = (result, buf.getvalue())
        with _PNG_LOCK:
            _PNG[key] = hit
            while len(_PNG) > 64:
                _PNG.popitem(last=False)
    st.image(hit[1], width="stretch")


def _metrics_table(m: dict, true_l0: float) -> None:
    rows = {"mean max cosine (MMC)": f"{m['mmc']:.3f}", "Hungarian-matched mean |cosine| (MCC)": f"{m['mcc']:.3f}",
            "shrinkage (mean ‖x̂‖/‖x‖)": f"{m['shrinkage']:.3f}",
            "L0: true / SAE": f"{m['true_l0']:.2f} / {m['sae_l0']:.2f}", "FVU": f"{m['fvu']:.4f}",
            "dead latents (never fire on 10,000 inputs)": f"{m['dead_fraction']:.0%}"}
    st.table({"metric": list(rows), "value": list(rows.values())})


def explore(lesson: Lesson) -> None:
    from course.sae import toy_plots as P

    st.subheader("Train an SAE on toy data")
    c1, c2, c3 = st.columns(3)
    n_features = c1.slider("true features", 5, 64, 24, key="st_features")
    d = c2.slider("dimensions d", 2, 32, 12, key="st_d")
    p = c3.select_slider("feature probability p", [0.01, 0.02, 0.05, 0.1, 0.2], 0.05, key="st_p")
    hierarchy = c1.checkbox("hierarchy (parents with 3 children each)", False, key="st_hier")
    arch = c2.selectbox("architecture", list(ARCHS), format_func=ARCHS.get, key="st_arch")
    width = c3.select_slider("latents per true feature", [1, 2, 4], 2, key="st_width")
    if arch == "relu":
        knob = c1.select_slider("L1 coefficient", [0.1, 0.3, 1.0, 3.0, 10.0], 1.0, key="st_l1")
    elif arch == "jumprelu":
        knob = c1.select_slider("L0 coefficient", [0.1, 0.3, 1.0, 3.0], 1.0, key="st_l0")
    else:
        knob = c1.slider("k", 1, 8, 2, key="st_k")
    steps = c2.select_slider("training steps", [200, 500, 1000, 2000], 1000, key="st_steps")
    settings = (n_features, d, p, hierarchy, arch, knob, width, steps)
    if st.button("Train", type="primary", key="st_train"):
        st.session_state["st_result"] = settings, cached_compute(train_toy_sae, *settings, label="Training the SAE...")
    if "st_result" in st.session_state:
        used, out = st.session_state["st_result"]
        if used != settings:
            st.caption("The settings changed since this SAE was trained: press Train to update.")
        st.markdown(f"**{out['repr']}**, trained in {out['seconds']:.1f} s")
        _metrics_table(out["metrics"], out["true_l0"])
        if "absorption" in out:
            st.caption(f"Absorption rate on this hierarchy: {out['absorption']:.0%} of the inputs where a child and "
                       "its parent are active have the parent's latent silent while the child's latent fires.")
        _show("matched", out, lambda: P.matched_cosines(
            out["W_dec"], out["features"], parent_of=out["parent_of"] if (out["parent_of"] >= 0).any() else None))
        if out["features"].shape[1] == 2:
            _show("arrows", out, lambda: P.arrows(out["W_dec"], out["features"]))
        lg = out["log"]
        _show("curves", out, lambda: P.training_curves(lg["step"], lg["mse"], lg["l0"], lg["dead"], out["true_l0"]))
    else:
        st.caption("Set the data and the SAE, then press Train (a few seconds on a laptop CPU).")

    st.subheader("The L0-vs-FVU frontier")
    relu = arch == "relu"
    values = (0.1, 0.3, 1.0, 3.0, 10.0) if relu else (1, 2, 3, 4, 6, 8)
    f_arch = "relu" if relu else ("batchtopk" if arch in ("batchtopk", "matryoshka") else "topk")
    st.caption(f"One {ARCHS[f_arch].split(' (')[0]} SAE per {'L1 coefficient' if relu else 'k'} in {values}, on the "
               "data above, 500 steps each.")
    f_settings = (n_features, d, p, hierarchy, f_arch, values, 500)
    if st.button("Trace the frontier", key="st_frontier"):
        st.session_state["st_frontier_result"] = f_settings, cached_compute(run_frontier, *f_settings,
                                                                            label="Training one SAE per point...")
    if "st_frontier_result" in st.session_state:
        used, r = st.session_state["st_frontier_result"]
        _show("frontier", r, lambda: P.frontier(r, label="l1" if used[4] == "relu" else "k"))

    st.subheader("Feature absorption, before and after Matryoshka")
    st.caption("The lesson's experiment: 4 parents x 3 children (a child only fires with its parent), BatchTopK with "
               "k = 1, plain and Matryoshka, same data and seed (well under a minute on 2 cores, then cached).")
    if st.button("Run the absorption experiment", key="st_absorb"):
        st.session_state["st_absorb_result"] = cached_compute(run_absorption, label="Training two SAEs...")
    if "st_absorb_result" in st.session_state:
        r = st.session_state["st_absorb_result"]
        st.markdown(f"Absorption: plain **{r['plain']['absorption']:.0%}**, Matryoshka "
                    f"**{r['matryoshka']['absorption']:.0%}** (FVU {r['plain']['fvu']:.3f} vs "
                    f"{r['matryoshka']['fvu']:.3f}).")
        _show("absorption", r, lambda: P.absorption(r))

    st.subheader("The lesson's other experiments")
    c1, c2 = st.columns(2)
    if c1.button("Recover lesson 05's pentagon", key="st_pentagon"):
        st.session_state["st_pentagon_result"] = cached_compute(run_pentagon, label="Training the toy model, then the SAE...")
    if c2.button("L1 without the decoder norms", key="st_drift"):
        st.session_state["st_drift_result"] = cached_compute(run_drift, label="Training...")
    if "st_pentagon_result" in st.session_state:
        r = st.session_state["st_pentagon_result"]
        st.markdown(f"TopK SAE, k = 1, 10 latents: mean max cosine **{r['metrics']['mmc']:.4f}** with the five "
                    "directions of lesson 05's sparse 5-in-2 model.")
        _show("pentagon", r, lambda: P.arrows(r["W_dec"], r["features"],
                                              title="lesson 05's pentagon and the SAE's decoder rows"))
    if "st_drift_result" in st.session_state:
        r = st.session_state["st_drift_result"]
        _show("drift", r, lambda: P.norm_drift(r))
