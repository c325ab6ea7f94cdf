"""Lesson 00's interactive part: one image, one cell, three lenses (attribution, probing, mechanism).

`explore(lesson)` lets the learner pick a held-out scene (or draw one shape with sliders) and a cell, then:

    1 · Attribution   the four maps side by side with IG's completeness error; the error against steps
    2 · Sanity check  the randomisation cascade as a row of maps with rank correlations; the lesson's table
    3 · Probing       probe accuracy and selectivity by layer (trained on request, cached for every session)
    4 · Mechanism     ablation toggles (the curve family, a random set, units you pick) with the per-cell
                      predictions redrawn at once; recall on 1,024 held-out scenes against random controls

Slow work goes through `course.ui.cached_compute` (computed once per setting for all sessions, progress bar on
a miss), and so do the figures: each is drawn once per setting into a PNG (`figure`), so a click that changes
nothing else costs no matplotlib time; `tests/test_app_three_lenses.py` checks every figure function's
legibility at 1,400 px directly. The shared scenenet is never given hooks: anything that hooks (ablation,
probing) runs on a private copy, so two sessions can't ablate each other's forward passes.
"""

from __future__ import annotations

import copy
import io

import streamlit as st
import torch

from course.lessons import Lesson
from course.ui.compute import cached_compute
from course.ui.resources import shared_resource
from course.vision.scenes import CLASSES, Scenes

METHOD_NAMES = ("saliency", "gradient x input", "integrated gradients", "occlusion")
RULES = ("gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left", "riemann_right")
BASELINES = {"black": 0.0, "grey": 0.5}


@shared_resource
def scenenet():
    from course import zoo

    return zoo.load("scenenet", device="cpu")


def figure(name: str, *args, progress=None) -> bytes:
    """A PNG of `course.vision.lens_plots.<name>(*args)` (cache it with cached_compute: args must be hashable
    keys of what the figure shows, or plain data for tests)."""
    import matplotlib.pyplot as plt

    from course.vision import lens_plots as P

    fig = getattr(P, name)(*args)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _show(png: bytes) -> None:
    st.image(png, width="stretch")


def _private():
    """A copy of the shared model for work that adds hooks."""
    return copy.deepcopy(scenenet())


def image_of(source: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """("scene", index) or ("drawn", kind, x, y, radius, angle, outline, background) -> image (3, 64, 64), labels."""
    from course.vision import lenses as L

    if source[0] == "scene":
        return Scenes()[int(source[1])]
    return L.drawn_scene(*source[1:])


# ---------------------------------------------------------------------------------------------- computations


def attribution_maps(source: tuple, target: tuple, steps: int, rule: str, baseline: float, progress=None) -> dict:
    """The four maps (channels summed, (H, W)) and IG's completeness figures for one image and cell."""
    from course import attribution as A

    model = scenenet()
    x = image_of(source)[0][None]
    base = torch.full_like(x, baseline)
    ig = A.integrated_gradients(model, x, target, baseline=base, steps=steps, method=rule)
    maps = {"saliency": A.saliency(model, x, target), "gradient x input": A.gradient_x_input(model, x, target),
            "integrated gradients": ig.attributions,
            "occlusion": A.occlusion(model, x, target, window=8, stride=4, baseline=0.5)}
    return {"maps": {k: A.to_map(v)[0] for k, v in maps.items()}, "error": float(ig.error[0]),
            "f_x": float(A.forward(model, x, target)[0]), "f_base": float(A.forward(model, base, target)[0]),
            "sum": float(ig.attributions.sum())}


def ig_errors(source: tuple, target: tuple, baseline: float, progress=None) -> dict:
    from course import attribution as A

    x = image_of(source)[0][None]
    steps = [4, 8, 16, 32, 64, 128]
    errors = A.error_by_steps(scenenet(), x, target, steps, baseline=torch.full_like(x, baseline))
    return {"steps": steps, "errors": errors}


def cascade_maps(source: tuple, target: tuple, method: str, progress=None) -> dict:
    from course import attribution as A
    from course import sanity as S
    from course.vision import lenses as L

    model = scenenet()
    x = image_of(source)[0][None]
    fn = {"saliency": lambda m, xx, t: A.saliency(m, xx, t, absolute=False)}.get(method, L.methods()[method])
    region = A.support(model, x, target)
    c = S.cascade(model, x, target, fn, region=region)
    signed = [float(S.spearman(c.maps[0], m, region)[0]) for m in c.maps]
    return {"steps": c.steps, "maps": c.maps[:, 0], "abs": c.correlation[:, 0].tolist(), "signed": signed}


def lesson_cascade(progress=None) -> dict:
    from course.vision import lenses as L

    model = scenenet()
    return L.cascade_figures(model, L.disc_cells(model, n=L.EXAMPLES))


def probe_rows(progress=None) -> list[dict]:
    from course.vision import lenses as L

    return L.probe_figures(_private(), n=L.PROBE_SCENES, progress=progress).table()


@shared_resource
def curve_family() -> tuple[int, ...]:
    """conv4's curve detectors, by the census (a few seconds, once per app)."""
    from course.vision import circuits as C

    return tuple(C.curve_family(_private()))


@shared_resource
def held_out(n: int):
    """Held-out scenes for recall (read-only, shared)."""
    from course.vision import circuits as C

    return C.held_out(n)


def recall_study(n: int, controls: int, progress=None) -> dict:
    """Recall with the curve family zeroed and with `controls` random sets (n held-out scenes)."""
    from course.vision import lenses as L

    study = L.ablation_figures(_private(), held_out(n), list(curve_family()), progress=progress)
    return {"units": study.units, "clean": study.clean, "ablated": study.ablated, "controls": study.controls}


def recall_with(units: tuple[int, ...], n: int, progress=None) -> torch.Tensor:
    from course.vision import circuits as C

    return C.class_recall(_private(), held_out(n), units={"conv4": list(units)})


def attribution_view(source: tuple, target: tuple, steps: int, rule: str, baseline: float, progress=None) -> dict:
    out = dict(attribution_maps(source, target, steps, rule, baseline))
    out["png"] = figure("attribution_row", image_of(source)[0], out.pop("maps"), target[1:])
    return out


def ig_errors_view(source: tuple, target: tuple, baseline: float, progress=None) -> bytes:
    res = ig_errors(source, target, baseline)
    return figure("ig_error_plot", res["steps"], res["errors"])


def cascade_view(source: tuple, target: tuple, method: str, signed: bool, progress=None) -> bytes:
    res = cached_compute(cascade_maps, source, target, method, label="Randomising layer after layer...")
    return figure("cascade_row", res["maps"], res["steps"], res["signed"] if signed else res["abs"], target[1:],
                  signed)


def lesson_cascade_view(progress=None) -> bytes:
    return figure("cascade_lines", lesson_cascade())


def probe_view(progress=None) -> tuple[bytes, list[dict]]:
    rows = probe_rows(progress=progress)
    return figure("probe_chart", rows), rows


def predictions_view(source: tuple, units: tuple[int, ...], progress=None) -> bytes:
    image, labels = image_of(source)
    clean, ablated = predictions(source, units)
    return figure("prediction_grids", image, labels, clean, ablated if units else None, f"{len(units)} units zeroed")


def recall_view(n: int, controls: int, units: tuple[int, ...], progress=None) -> tuple[bytes, dict]:
    s = cached_compute(recall_study, n, controls, label="Ablating the curve family and random sets...")
    extra = {}
    if units and tuple(units) != tuple(s["units"]):
        extra[f"your {len(units)} units"] = recall_with(units, n)
    return figure("recall_chart", s["clean"], s["ablated"], s["controls"], extra), s


def predictions(source: tuple, units: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-cell predictions (8, 8), intact and with `units` of conv4 zeroed (one image: fast, not cached)."""
    from course.vision import circuits as C

    model = _private()
    x = image_of(source)[0][None]
    with torch.no_grad():
        clean = model(x).argmax(1)[0]
    return clean, C.ablated(model, x, {"conv4": list(units)}).argmax(1)[0]


# ---------------------------------------------------------------------------------------------- the page


def _pick() -> tuple[tuple, tuple]:
    from course.vision import lenses as L

    st.subheader("Pick an image and a cell")
    c1, c2 = st.columns(2)
    kind = c1.radio("Image", ["a held-out scene", "draw a shape"], horizontal=True, key="tl_source")
    if kind == "a held-out scene":
        k = c1.number_input("scene (0 = the lesson's first example)", 0, 99_999, 0, key="tl_scene")
        source = ("scene", L.EXAMPLES_START + int(k))
    else:
        shape = c1.selectbox("shape", CLASSES[1:], key="tl_shape")
        x = c1.slider("centre x (px)", 0, 64, 30, key="tl_x")
        y = c1.slider("centre y (px)", 0, 64, 34, key="tl_y")
        radius = c1.slider("radius (px)", 7, 17, 13, key="tl_radius")
        angle = c1.slider("angle (degrees)", 0, 180, 0, 5, key="tl_angle")
        outline = c1.checkbox("outline only", True, key="tl_outline")
        source = ("drawn", shape, float(x), float(y), float(radius), float(angle), bool(outline), L.EXAMPLES_START)
    row = c2.slider("cell row", 0, 7, 5, key="tl_row")
    col = c2.slider("cell column", 0, 7, 3, key="tl_col")
    cls = c2.selectbox("explain the logit of", CLASSES, index=1, key="tl_class")
    return source, (CLASSES.index(cls), row, col)


SECTIONS = ("1 · Attribution", "2 · Sanity check", "3 · Probing", "4 · Mechanism")


def explore(lesson: Lesson) -> None:
    source, target = _pick()
    # one lens at a time (a radio, not tabs, which would draw all four on every click)
    section = st.radio("Lens", SECTIONS, horizontal=True, key="tl_section", label_visibility="collapsed")
    if section == SECTIONS[0]:
        _attribution(source, target)
    elif section == SECTIONS[1]:
        _sanity(source, target)
    elif section == SECTIONS[2]:
        _probing()
    else:
        _mechanism(source)


def _attribution(source: tuple, target: tuple) -> None:
    c1, c2, c3 = st.columns(3)
    steps = c1.select_slider("IG steps", [4, 8, 16, 32, 64, 128], 32, key="tl_steps")
    rule = c2.selectbox("IG rule", RULES, key="tl_rule")
    base = c3.radio("IG baseline", list(BASELINES), horizontal=True, key="tl_baseline")
    out = cached_compute(attribution_view, source, target, steps, rule, BASELINES[base], label="Attributing...")
    _show(out["png"])
    st.caption(f"{CLASSES[target[0]]} logit at cell {target[1:]}: f(x) = {out['f_x']:.3f}, f(baseline) = "
               f"{out['f_base']:.3f}. Integrated gradients ({rule}, {steps} steps) sum to {out['sum']:.3f}: "
               f"**completeness error {out['error']:+.3f}**. Occlusion: 8 x 8 grey patches every 4 px.")
    if st.button("Plot the completeness error against steps", key="tl_ig_steps"):
        st.session_state["tl_ig"] = (source, target, base), cached_compute(
            ig_errors_view, source, target, BASELINES[base], label="Integrating with 4 to 128 steps...")
    if "tl_ig" in st.session_state:
        used, png = st.session_state["tl_ig"]
        if used != (source, target, base):
            st.caption("(for an earlier image, cell or baseline: press the button again to update)")
        _show(png)


def _sanity(source: tuple, target: tuple) -> None:
    c1, c2 = st.columns(2)
    method = c1.selectbox("method", METHOD_NAMES, key="tl_cascade_method")
    signed = c2.checkbox("signed maps (rank correlation of the signed values)", False, key="tl_signed")
    if st.button("Randomise the layers from the top (a few seconds)", key="tl_cascade"):
        st.session_state["tl_cascade_out"] = (source, target, method)
    if "tl_cascade_out" in st.session_state:
        used = st.session_state["tl_cascade_out"]
        if used != (source, target, method):
            st.caption("(for an earlier image, cell or method: press the button again to update)")
        _show(cached_compute(cascade_view, *used, signed, label="Drawing the cascade..."))
        st.caption("Spearman rho over the cell's receptive field. A map that still looks the same after every "
                   "layer is random describes the image, not the model.")
    if st.button("The lesson's table: 8 disc cells (about 10 s, then cached)", key="tl_cascade_lesson"):
        st.session_state["tl_cascade_table"] = True
    if st.session_state.get("tl_cascade_table"):
        _show(cached_compute(lesson_cascade_view, label="Running the cascade on the lesson's disc cells..."))


def _probing() -> None:
    st.caption("Linear and MLP probes on every layer for \"is the shape in this cell round?\", with Hewitt & "
               "Liang's control task (random labels per colour). 384 held-out scenes, split by scene.")
    if st.button("Train the probes (about 30 s on 2 cores, then cached)", key="tl_probe"):
        st.session_state["tl_probe_rows"] = True
    if st.session_state.get("tl_probe_rows"):
        png, rows = cached_compute(probe_view, label="Training probes...")
        _show(png)
        st.dataframe(rows, hide_index=True)


def _mechanism(source: tuple) -> None:
    from course.vision import circuits as C
    from course.vision import lenses as L

    family = curve_family()
    choice = st.radio("Zero in conv4", ["nothing", "the curve family", "a random set of as many units",
                                        "units I pick"], horizontal=True, key="tl_ablation")
    units: tuple[int, ...] = ()
    if choice == "the curve family":
        units = family
    elif choice == "a random set of as many units":
        seed = st.number_input("random set number", 0, 999, 0, key="tl_random_seed")
        gen = torch.Generator().manual_seed(int(seed))
        units = tuple(C.random_unit_sets(128, len(family), 1, gen, exclude=family)[0])
    elif choice == "units I pick":
        units = tuple(sorted(st.multiselect("conv4 units (* = curve detector)", list(range(128)), [family[0]],
                                            format_func=lambda u: f"{u}*" if u in family else str(u),
                                            key="tl_units")))
    st.caption(f"conv4's curve family (the census): {', '.join(map(str, family))}. Zeroed now: "
               f"{', '.join(map(str, units)) or 'none'}.")
    _show(cached_compute(predictions_view, source, units, label="Predicting..."))
    n, controls = L.ABLATION_SCENES, L.ABLATION_CONTROLS
    if st.button(f"Measure recall on {n:,} held-out scenes, against {controls} random sets (about 30 s, then "
                 "cached)", key="tl_recall"):
        st.session_state["tl_study"] = True
    if st.session_state.get("tl_study"):
        png, s = cached_compute(recall_view, n, controls, units, label="Ablating...")
        _show(png)
        drop = s["clean"] - s["ablated"]
        rand = s["clean"][None] - s["controls"]
        st.caption(f"Disc recall falls by {float(drop[1]):.3f} with the curve family zeroed; the random sets' "
                   f"drops: mean {float(rand[:, 1].mean()):.3f}, largest {float(rand[:, 1].max()):.3f}.")

