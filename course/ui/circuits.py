"""Lesson 04's interactive part, the circuit workbench: scenenet's conv4 curve detectors and their circuit.

`explore(lesson)` picks a curve detector, then offers four views (one drawn at a time):

    Inputs            its strongest conv3 inputs as kernel images, and its expanded weights on the pixels
    Ablate and edit   toggles that zero the family or a random set of conv4 units, or drop the family's negative
                      weights from conv3's line detectors; the unit's tuning curve and the per-class recall follow
    Build by hand     the lesson's rule for a curve kernel, its knobs and a 3 x 3 canvas of tap gains, scored live
                      against the learned unit; a button puts the whole built family into the network
    Equivariance      the line-to-curve weights ordered by orientation, the best equivariant fit, and its score
                      against shuffled orientations (learned, or the hand-built family)

Everything measurable about the circuit is computed once (`course.vision.workbench.circuit_data`, through
`cached_compute`, shared by every session); after that each toggle is a few small convolutions on cached conv3
activations, so no model ever carries a hook between runs.
"""

from __future__ import annotations

import streamlit as st
import torch

from course.lessons import Lesson
from course.ui.compute import cached_compute

VIEWS = ("Inputs", "Ablate and edit", "Build by hand", "Equivariance")
DEFAULT_UNIT = 98  # the lesson's running example: conv4:98, 208 degrees
CLASSES = ("background", "disc", "ellipse", "triangle", "square")


# ------------------------------------------------------------------------------------------------ computations


def circuit(progress=None) -> dict:
    """The workbench's shared data: CircuitData, conv3's kinds (from the census) and each unit's pixel weights."""
    from course.vision import census, expanded
    from course.vision.workbench import shipped

    progress = progress or (lambda *a, **k: None)
    data = shipped(progress=lambda f, t=None: progress(0.9 * f, t))
    progress(0.92, "conv3's census and the expanded weights...")
    record = census.measure(data.model, ["conv3"], (64, 64))["layers"]["conv3"]
    kinds: dict[int, list[str]] = {}
    for d in record["curve"]:
        kinds.setdefault(d["unit"], []).append(f"curve {d['orientation']:.0f}°")
    for d in record["edge"]:
        kinds.setdefault(d["unit"], []).append(f"{d['kind']} {d['orientation']:.0f}°")
    for d in record["high_low"]:
        kinds.setdefault(d["unit"], []).append(f"high-low {d['orientation']:.0f}°")
    kinds = {u: ", ".join(v) for u, v in kinds.items()}
    pixels = expanded.to_pixels(data.model, expanded.expanded_weights(data.model, None, "conv4")[data.units])
    progress(1.0)
    return {"data": data, "kinds": kinds, "pixels": pixels}


def edited_weights(data, zero_family: bool, random_seed: int | None, drop_lines: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """conv4's weight and bias after the chosen interventions (on copies of the tensors)."""
    from course.vision.circuits import random_unit_sets

    conv = data.model.conv4.conv
    weight, bias = conv.weight.detach().clone(), conv.bias.detach().clone()
    if drop_lines:
        block = weight[data.units][:, data.lines]
        weight[torch.tensor(data.units)[:, None], torch.tensor(data.lines)[None, :]] = block.clamp(min=0)
    zeroed = list(data.units) if zero_family else []
    if random_seed is not None:
        zeroed += random_unit_sets(weight.shape[0], len(data.units), 1, torch.Generator().manual_seed(random_seed),
                                   exclude=data.units)[0]
    weight[zeroed], bias[zeroed] = 0, 0
    return weight, bias


def intervention(zero_family: bool, random_seed: int | None, drop_lines: bool, progress=None) -> dict:
    """Per-class recall and every family unit's tuning curve after the chosen interventions."""
    from course.vision.workbench import built_tuning, recall_with

    data = cached_compute(circuit)["data"]
    weight, bias = edited_weights(data, zero_family, random_seed, drop_lines)
    tuning = built_tuning(data, weight[data.units], bias[data.units])
    return {"recall": recall_with(data, weight, bias), "tuning": tuning}


def rule_kernels(radius: float, sigma: float, inhibit: float, background: float, gains: tuple, units: tuple) -> torch.Tensor:
    """The lesson's rule (course.vision.handbuilt.curve_kernel) for the family members `units` (indices), times the
    3 x 3 canvas of tap gains. -> (len(units), 64, 3, 3), unscaled."""
    from course.vision import handbuilt as hb

    data = cached_compute(circuit)["data"]
    rule = hb.CurveRule(radius=radius, sigma=sigma, inhibit=inhibit, background=background)
    canvas = torch.tensor(gains, dtype=torch.float32).view(1, 3, 3)
    return torch.stack([hb.curve_kernel(data.lines, data.line_orientations, float(data.orientations[k]), 64, rule)
                        * canvas for k in units])


def built_family(radius: float, sigma: float, inhibit: float, background: float, gains: tuple, progress=None) -> dict:
    """The whole family rebuilt with these settings: correlations, recall, and the share of the loss won back."""
    from course.vision.workbench import score_kernels

    data = cached_compute(circuit)["data"]
    kernels = rule_kernels(radius, sigma, inhibit, background, gains, tuple(range(len(data.units))))
    s = score_kernels(data, kernels)
    return {"correlation": s["correlation"], "recall": s["recall"], "recovered": s["recovered"]}


def equivariance_data(which: str, progress=None) -> dict:
    from course.vision import equivariance as eq
    from course.vision import handbuilt as hb

    data = cached_compute(circuit)["data"]
    tangents = (data.orientations + 90) % 180
    if which == "learned":
        W = data.model.conv4.conv.weight.detach()[data.units][:, data.lines, 1, 1]
    else:
        W = torch.stack([hb.curve_kernel(data.lines, data.line_orientations, float(o), 64)
                         for o in data.orientations])[:, data.lines, 1, 1]
    fit = eq.equivariant_fit(W, tangents, data.line_orientations, bins=12, period=180.0)
    null = eq.shuffled_scores(W, tangents, data.line_orientations, bins=12, period=180.0, count=200)
    rows, cols = tangents.argsort(), data.line_orientations.argsort()
    return {"W": W[rows][:, cols], "fitted": fit.fitted[rows][:, cols].float(), "f": fit.f, "score": fit.score,
            "null_mean": float(null.mean()), "null_max": float(null.max()), "rows": tangents[rows],
            "cols": data.line_orientations[cols]}


# ------------------------------------------------------------------------------------------------ the page


def explore(lesson: Lesson) -> None:
    shared = cached_compute(circuit, label="Measuring scenenet's curve circuit (once for every session)...")
    data = shared["data"]
    st.subheader("The circuit workbench: conv4's curve detectors")
    labels = [f"conv4:{u} · {float(o):.0f}°" for u, o in zip(data.units, data.orientations)]
    k = st.selectbox("Curve detector (preferred orientation: the way its convex side faces)", range(len(data.units)),
                     index=data.units.index(DEFAULT_UNIT), format_func=lambda i: labels[i], key="cw_unit")
    # one view at a time (not tabs, which would compute and draw every view on each click)
    view = st.radio("View", VIEWS, horizontal=True, key="cw_view")
    if view == VIEWS[0]:
        _inputs(shared, k)
    elif view == VIEWS[1]:
        _ablate(data, k)
    elif view == VIEWS[2]:
        _build(data, k)
    else:
        _equivariance()


def _inputs(shared: dict, k: int) -> None:
    from course.vision import circuit_plots as plots
    from course.vision.circuits import direct_weights

    data, kinds = shared["data"], shared["kinds"]
    unit, theta = data.units[k], float(data.orientations[k])
    n = st.slider("How many inputs", 4, 12, 8, key="cw_inputs")
    channels, kernels = direct_weights(data.model, "conv4", unit, n)
    names = [f"conv3:{c}\n{kinds.get(c, 'no kind')}" for c in channels]
    negative = sum(float(ker.sum()) < 0 for ker in kernels)
    st.caption(f"conv4:{unit}'s {n} strongest inputs (largest L2 norm), strongest first; {negative} of them sum to "
               f"less than zero. Its tangent at the middle tap is {(theta + 90) % 180:.0f}°: line detectors near "
               "that orientation excite there, those across it inhibit.")
    st.pyplot(plots.input_kernels(kernels, names, f"conv4:{unit} ({theta:.0f}°): kernels from conv3, 3 x 3 taps 8 px "
                                                  "apart"), width="stretch", clear_figure=True)
    st.pyplot(plots.pixel_weights(shared["pixels"][k], theta, f"conv4:{unit}: expanded weights on the pixels "
                                                             "(ReLUs as identity)"), width="stretch", clear_figure=True)


def _ablate(data, k: int) -> None:
    from course.vision import circuit_plots as plots

    c1, c2, c3 = st.columns(3)
    zero = c1.toggle("Zero the curve family (15 units)", key="cw_zero")
    rand = c2.toggle("Zero 15 random other conv4 units", key="cw_random")
    seed = c2.number_input("Random set", 0, 999, 0, key="cw_seed") if rand else None
    drop = c3.toggle("Drop the family's negative weights from conv3's line detectors", key="cw_drop")
    out = cached_compute(intervention, bool(zero), None if seed is None else int(seed), bool(drop),
                         label="Measuring recall on 1,024 held-out scenes...", max_entries=128)
    unit = data.units[k]
    curves = {"learned": data.learned[k]}
    recalls = {"clean": data.clean}
    if zero or rand or drop:
        curves["with your changes"] = out["tuning"][k]
        recalls["with your changes"] = out["recall"]
        lost = float(data.clean[1] - out["recall"][1])
        st.caption(f"Disc recall {float(data.clean[1]):.3f} -> {float(out['recall'][1]):.3f} "
                   f"({'a loss' if lost >= 0 else 'a gain'} of {abs(lost):.3f}); triangle "
                   f"{float(data.clean[3]):.3f} -> {float(out['recall'][3]):.3f}.")
    else:
        st.caption("Turn a toggle on: the tuning curve and the recall redraw with your changes beside the learned ones.")
    st.pyplot(plots.tuning_and_recall(data.angles, curves, recalls, CLASSES, f"conv4:{unit}"), width="stretch",
              clear_figure=True)


def _build(data, k: int) -> None:
    from course.vision import circuit_plots as plots
    from course.vision.workbench import score_kernels

    unit = data.units[k]
    c1, c2, c3, c4 = st.columns(4)
    radius = c1.slider("Arc radius (px)", 4.0, 24.0, 12.0, 1.0, key="cw_radius")
    sigma = c2.slider("Fall-off sigma (px)", 1.0, 10.0, 5.0, 0.5, key="cw_sigma")
    inhibit = c3.slider("Inhibition from lines across the tangent", 0.0, 2.0, 1.0, 0.1, key="cw_inhibit")
    background = c4.slider("Inhibition where the arc does not pass", 0.0, 1.0, 0.3, 0.05, key="cw_background")
    st.caption("Kernel canvas: a gain for each tap (rows top to bottom, columns left to right); 0 switches a tap off.")
    gains = []
    for i, col in enumerate(st.columns(3)):
        gains += [col.number_input(f"tap {'tmb'[i]}{'lcr'[j]}", -2.0, 2.0, 1.0, 0.25, key=f"cw_tap_{i}{j}")
                  for j in range(3)]
    gains = tuple(float(g) for g in gains)
    kernel = rule_kernels(radius, sigma, inhibit, background, gains, (k,))
    one = torch.zeros(len(data.units), 64, 3, 3)
    one[k] = kernel[0]
    s = score_kernels(data, one, recall=False)
    corr = float(s["correlation"][k])
    m1, m2 = st.columns(2)
    m1.metric(f"Tuning correlation with conv4:{unit}", f"{corr:.2f}", help="The check's bar is 0.75.")
    order = data.line_orientations.argsort()
    lines = torch.tensor(data.lines)[order]
    st.pyplot(plots.built_unit(data.angles, data.learned[k], s["tuning"][k], s["kernels"][k][lines],
                               data.line_orientations[order], f"conv4:{unit}", corr), width="stretch",
              clear_figure=True)
    settings = (float(radius), float(sigma), float(inhibit), float(background), gains)
    if st.button("Put the whole family, built with these settings, into the network", key="cw_substitute"):
        st.session_state["cw_built"] = settings
    if st.session_state.get("cw_built") == settings:
        fam = cached_compute(built_family, *settings, label="Rebuilding all 15 units and measuring recall...",
                             max_entries=64)
        m2.metric("Disc recall won back (of the ablation's loss)", f"{float(fam['recovered'][1]):.0%}",
                  help="The check's bar is 50%.")
        st.caption(f"Disc recall: clean {float(data.clean[1]):.3f}, family zeroed {float(data.ablated[1]):.3f}, "
                   f"built family {float(fam['recall'][1]):.3f}; triangle {float(fam['recall'][3]):.3f} (clean "
                   f"{float(data.clean[3]):.3f}). Tuning correlations: median {float(fam['correlation'].median()):.2f}, "
                   f"min {float(fam['correlation'].min()):.2f}.")


def _equivariance() -> None:
    from course.vision import circuit_plots as plots

    which = st.radio("Family", ["learned", "hand-built (the lesson's rule)"], horizontal=True, key="cw_which")
    e = cached_compute(equivariance_data, "learned" if which == "learned" else "rule",
                       label="Fitting the equivariant circuit and 200 shuffles...")
    m1, m2 = st.columns(2)
    m1.metric("Variance explained by f(orientation difference)", f"{e['score']:.1%}")
    m2.metric("With the curve orientations shuffled (mean, max of 200)", f"{e['null_mean']:.1%}, {e['null_max']:.1%}")
    st.pyplot(plots.equivariance(e["W"], e["fitted"], e["f"], e["rows"], e["cols"], 180.0,
                                 f"middle-tap weights, {which}"), width="stretch", clear_figure=True)
