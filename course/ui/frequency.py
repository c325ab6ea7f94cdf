"""Lesson 03's interactive part: any unit of scenenet against gratings, boundaries, scenes, and its own weights.

`explore(lesson)` picks a layer and a unit (high-low units are labelled with their orientation), then offers four
views (one drawn at a time): the unit's response over grating frequency x orientation with its tuning curve; the boundary explorer
(orientation, frequency ratio, which side is fine, contrast: the live response beside the unit's whole
orientation x ratio map); a scene with the unit's response map laid over it (and the scene it likes most); and
its expanded weights back to conv2, factorised into the high-low family's HF- and LF-factors.

Slow work goes through `course.ui.cached_compute` (once per setting for every session, with a progress bar);
each computation loads its own copy of the model, so no two sessions ever share hooks on one module.
"""

from __future__ import annotations

import streamlit as st

from course.lessons import Lesson
from course.ui.compute import cached, cached_compute

MODEL = "scenenet"
LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
DEFAULT = ("conv4", 45)  # the lesson's running example
RATIOS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
SCENE_START = 10_000_000
VIEWS = ("Frequency × orientation", "Boundary explorer", "In a scene", "Expanded weights and factors")  # held-out scenes (training used indices far below)


def _model():
    from course import zoo

    return zoo.load(MODEL, device="cpu")  # a private copy: hooks added while measuring never meet another session's


def layer_data(layer: str, progress=None) -> dict:
    """Every unit of `layer`: grating responses (C, F, A), tuning and preferred frequency, boundary map (C, A, R),
    and its kind ("high-low" with the census's orientation, "texture", "neither")."""
    from course.vision import frequency as fq

    progress = progress or (lambda *a, **k: None)
    model = _model()
    progress(0.05, "gratings...")
    g = fq.grating_sweep(model, layer)
    resp = g.responses.mean(dim=3)  # (C, F, A)
    curve = fq.frequency_tuning(g.responses)
    progress(0.4, "boundaries...")
    b = fq.boundary_sweep(model, layer)
    progress(0.8, "the census's tests...")
    kinds = fq.classify_layer(model, layer)
    progress(1.0)
    orientation = {d["unit"]: d["orientation"] for d in kinds["high_low"]}
    labels = [f"{u} · {k}" + (f", {orientation[u]:.0f}°" if u in orientation else "")
              for u, k in enumerate(kinds["kinds"])]
    return {"layer": layer, "grating": resp, "frequencies": g.axes["frequency"], "orientations": g.axes["orientation"],
            "curve": curve, "preferred": fq.preferred_frequency(curve, g.axes["frequency"]),
            "boundary": b.responses.mean(dim=3), "boundary_orientations": b.axes["orientation"],
            "ratios": b.axes["ratio"], "kinds": kinds["kinds"], "orientation": orientation, "labels": labels}


def live_boundary(layer: str, unit: int, orientation: float, ratio: float, contrast: float, progress=None) -> dict:
    """The unit's mean response over 4 seeds to one boundary, and the first seed's image."""
    from course.vision import frequency as fq
    from course.vision import stimuli
    from course.vision.probe import centre_of

    model = _model()
    r = fq.boundary_response(model, layer, orientation, ratio, contrast=contrast)[unit]
    image = stimuli.high_low(orientation, high=0.25, low=0.25 / ratio, seed=1, contrast=contrast,
                             centre=centre_of(model, layer, (64, 64)))[0]
    return {"response": float(r), "image": image}


def scene_map(layer: str, unit: int, index: int, fine: bool, progress=None) -> dict:
    from course.vision import frequency as fq
    from course.vision.scenes import Scenes

    image = Scenes()[index][0]
    return {"image": image, "map": fq.response_map(_model(), layer, unit, image, fine=fine)}


def best_scene(layer: str, unit: int, n: int = 256, progress=None) -> int:
    """The held-out scene (of n) where the unit fires most."""
    from course.vision.examples import top_examples
    from course.vision.scenes import Scenes

    return top_examples(_model(), layer, unit, Scenes(), n=n, k=1, start=SCENE_START)[0].index


def scene_sides(layer: str, n: int = 64, progress=None) -> dict:
    """{unit: side ratio} for the layer's high-low units over n held-out scenes (see frequency.side_ratio)."""
    from course.vision import frequency as fq
    from course.vision.scenes import Scenes

    model, scenes = _model(), Scenes()
    idx = list(range(SCENE_START, SCENE_START + n))
    edges = fq.texture_edges(scenes, idx)
    maps = fq.layer_maps(model, layer, scenes.batch(idx)[0])
    kinds = fq.classify_layer(model, layer)
    return {d["unit"]: fq.side_ratio(maps[:, d["unit"]], edges, d["orientation"]) for d in kinds["high_low"]}


def factor_data(progress=None) -> dict:
    """The high-low family of conv3 and conv4 factorised at conv2 (course.vision.highlow), as plain data."""
    from course.vision import frequency as fq
    from course.vision import highlow as hl

    progress = progress or (lambda *a, **k: None)
    model = _model()
    config = hl.FactorConfig()
    record = {"layers": {}}
    for i, layer in enumerate(config.layers):
        progress(0.1 + 0.2 * i, f"the census of {layer}...")
        record["layers"][layer] = {"high_low": fq.classify_layer(model, layer)["high_low"]}
    progress(0.5, "expanded weights and NMF...")
    f = hl.factorise(model, record, config)
    tex = fq.texture_sweep(model, config.base)
    progress(1.0)
    return {"H": f.H, "hf": f.hf, "lf": f.lf, "tuning": f.tuning, "frequencies": f.frequencies, "error": f.error,
            "preferred": f.preferred, "base": config.base,
            "base_preferred": fq.preferred_frequency(tex.responses.mean(dim=2), tex.axes["frequency"]),
            "units": {(u.layer, u.unit): {"spatial": u.spatial, "weights": u.weights, "orientation": u.orientation,
                                          "side": u.side} for u in f.units}}


def project_unit(layer: str, unit: int, orientation: float | None, progress=None) -> dict:
    """A unit outside the factorised family, fitted onto the family's factors (H fixed)."""
    from course.vision import highlow as hl

    data = cached(factor_data)[1]
    f = hl.HighLowFactors(hl.FactorConfig(), data["H"], data["hf"], data["lf"], data["tuning"], data["frequencies"],
                          data["preferred"], data["error"], [])
    u = hl.project(_model(), layer, unit, f, orientation)
    return {"spatial": u.spatial, "weights": u.weights, "orientation": u.orientation, "side": u.side}


# ------------------------------------------------------------------------------------------------ the page


def explore(lesson: Lesson) -> None:
    st.subheader("Pick a unit of scenenet")
    c1, c2 = st.columns([1, 2])
    layer = c1.selectbox("Layer", LAYERS, index=LAYERS.index(DEFAULT[0]), key="tf_layer")
    data = cached_compute(layer_data, layer, label=f"Showing {layer}'s units gratings and boundaries...")
    n = len(data["labels"])
    default = DEFAULT[1] if layer == DEFAULT[0] else (data["kinds"].index("high-low") if "high-low" in data["kinds"]
                                                      else 0)
    unit = c2.selectbox("Unit (kind from the census's stimuli)", range(n), index=default,
                        format_func=lambda u: data["labels"][u], key=f"tf_unit_{layer}")
    name = f"{layer}:{unit}"
    # one view at a time (not tabs, which would compute and draw every view on each click)
    view = st.radio("View", VIEWS, horizontal=True, key="tf_view")
    if view == VIEWS[0]:
        _gratings(data, unit, name)
    elif view == VIEWS[1]:
        _boundaries(data, layer, unit, name)
    elif view == VIEWS[2]:
        _scene(layer, unit, name)
    else:
        _weights(layer, unit, name, data["orientation"].get(unit))


def _gratings(data: dict, unit: int, name: str) -> None:
    from course.vision import frequency_plots as plots

    pref = float(data["preferred"][unit])
    st.caption(f"{name} is a {data['kinds'][unit]} unit; its preferred grating frequency is "
               + (f"{pref:.3f} cycles per pixel (a period of {1 / pref:.1f} pixels)." if pref == pref
                  else "undefined: it answers no grating."))
    st.pyplot(plots.frequency_orientation(data["grating"][unit], data["frequencies"], data["orientations"], name,
                                          pref), width="stretch", clear_figure=True)


def _boundaries(data: dict, layer: str, unit: int, name: str) -> None:
    from course.vision import frequency_plots as plots

    start = int(round(data["orientation"].get(unit, 0.0) / 5) * 5) % 360
    c1, c2 = st.columns(2)
    orientation = c1.slider("Orientation (degrees; the arrow points into the fine side)", 0, 355, start, 5,
                            key=f"tf_orient_{layer}_{unit}")
    ratio = c2.select_slider("Frequency ratio high / low (high = 0.25 cycles/px)", RATIOS, 8.0, key="tf_ratio")
    side = c1.radio("Which side is fine", ["where the arrow points", "swapped (the boundary turned 180°)"],
                    horizontal=True, key="tf_side")
    contrast = c2.slider("Contrast", 0.1, 1.0, 1.0, 0.1, key="tf_contrast")
    shown = (orientation + (180 if side.startswith("swapped") else 0)) % 360
    live = cached_compute(live_boundary, layer, unit, float(shown), float(ratio), float(contrast),
                          label="Showing the boundary...", max_entries=256)
    best = float(data["boundary"][unit].max())
    m1, m2 = st.columns(2)
    m1.metric("Response (mean of 4 texture seeds)", f"{live['response']:.3f}")
    m2.metric("Its best response in the sweep", f"{best:.3f}")
    st.pyplot(plots.boundary_explorer(data["boundary"][unit], data["boundary_orientations"], data["ratios"],
                                      live["image"], shown, ratio, live["response"], name),
              width="stretch", clear_figure=True)


def _scene(layer: str, unit: int, name: str) -> None:
    from course.vision import frequency_plots as plots

    key = f"tf_scene_{layer}_{unit}"
    c1, c2, c3 = st.columns([1, 1, 1])
    if c3.button("Find the scene it likes most (256 held-out scenes)", key="tf_best"):
        st.session_state[key] = cached_compute(best_scene, layer, unit, label="Searching 256 scenes...")
    index = c1.number_input("Held-out scene", SCENE_START, SCENE_START + 100_000, SCENE_START, key=key)
    fine = c2.checkbox("Pixel by pixel (the image slid under the network)", True, key="tf_fine")
    out = cached_compute(scene_map, layer, unit, int(index), bool(fine), label="Sweeping the unit over the scene...",
                         max_entries=128)
    st.pyplot(plots.scene_overlay(out["image"], out["map"], f"{name}'s response"), width="stretch",
              clear_figure=True)
    if layer != "conv1":
        sides = cached_compute(scene_sides, layer, label=f"Measuring {layer}'s high-low units on 64 scenes...")
        if unit in sides:
            st.caption(f"On 64 held-out scenes, where fine texture meets the blurry background, {name} answers "
                       f"{sides[unit]:.1f}x more when the texture lies its preferred way than the opposite way.")


def _weights(layer: str, unit: int, name: str, orientation: float | None) -> None:
    from course.vision import frequency_plots as plots

    if layer in ("conv1", "conv2"):
        st.info("The factors live in conv2's channels: pick a unit of conv3, conv4 or conv5 to see its weights "
                "from conv2 (conv4 and conv5 through the layers between, their ReLUs taken as the identity).")
        return
    done, data = cached(factor_data)
    if st.button("Factorise the high-low family's expanded weights (5-20 s, then cached)", key="tf_factorise"):
        data, done = cached_compute(factor_data, label="Factorising..."), True
    if not done:
        st.caption("The 31 high-low units of conv3 and conv4, their expanded weights from conv2 split into "
                   "excitatory and inhibitory parts, factorised by NMF into two factors.")
        return
    u = data["units"].get((layer, unit))
    if u is None:
        u = cached_compute(project_unit, layer, unit, orientation, label="Fitting the unit onto the factors...")
        st.caption(f"{name} is not one of the factorised units: its expanded weights are fitted onto the family's "
                   "two factors (NMF with the factors held fixed).")
    side = u["side"]
    st.caption(f"Joint factorisation: relative error {data['error']:.3f}. HF-factor prefers "
               f"{data['preferred'][data['hf']]:.3f} cycles/px, LF-factor {data['preferred'][data['lf']]:.3f}."
               + (f" For {name}, HF - LF is {'larger' if side > 0 else 'smaller'} on the fine side "
                  f"(side score {side:+.3f})." if side == side else ""))
    st.pyplot(plots.factors(u["spatial"], u["orientation"], data["tuning"], data["frequencies"], data["hf"],
                            data["lf"], name), width="stretch", clear_figure=True)
    st.pyplot(plots.channels(u["weights"], data["H"], data["base_preferred"], data["hf"], data["lf"], data["base"]),
              width="stretch", clear_figure=True)
