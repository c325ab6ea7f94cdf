"""Lesson 02's interactive part, the curve lab: conv4's curve family round the circle, one unit's tuning, stimuli
and dataset examples, an arc you shape with sliders, and the census of every layer.

`explore(lesson)` draws it all. Slow work goes through `course.ui.cached_compute` (computed once for every
session, with a progress bar on a miss): the family's measurements (`course.vision.curves.measure_family`,
a few seconds), a unit's radius tuning, the family's feature visualisations (one batched render, ~20 s, and
their grid's PNG), the dataset examples of every conv4 unit (one scan of 1,024 held-out scenes), and the census.
The four slowest run in a background thread (`_in_background`), so a learner who leaves mid-way doesn't throw
the work away for the next. Each computation loads its own copy of the model
(1 MB, a few milliseconds), so no hook ever touches the shared one; the live slider response uses the shared
model's `features`, which needs no hooks.
"""

from __future__ import annotations

import dataclasses
import threading

import streamlit as st
import torch

from course.lessons import Lesson
from course.ui.compute import cached_compute
from course.ui.resources import shared_resource

MODEL, LAYER = "scenenet", "conv4"
DPI = 110  # figures are 14-15 inches wide: 1,500+ px, sharp at the page's ~1,300 px (st.pyplot's 200 is 2x slower)
N_SCENES, K_EXAMPLES, PATCH = 1024, 9, 40  # dataset examples: scenes scanned, examples kept, patch size (px)
FV_STEPS, FV_SIZE = 256, 64  # the family's feature visualisations: one batch, ~20 s on one loaded core (measured)
_jobs: dict = {}  # slow computations under way, shared by every session (see _in_background)
_jobs_lock = threading.Lock()


@shared_resource
def shared_model(name: str = MODEL):
    from course import zoo

    return zoo.load(name, device="cpu")


def _private(name: str):
    from course import zoo

    return zoo.load(name, device="cpu")


# ------------------------------------------------------------------------------------------ cached computations


def _in_background(fn, *args, progress=None):
    """`fn(*args, progress=...)` in a thread shared by every session, waited for here while `progress` shows how far
    it got. When a session goes away mid-way (Streamlit stops its script at its next progress update), only the
    waiting stops: the work goes on, and the next session to ask collects the result instead of starting again
    (the first class of the day shouldn't pay twice, nor a browser that gave up)."""
    key = (fn.__module__, fn.__qualname__, args)
    with _jobs_lock:
        job = _jobs.get(key)
        if job is None:
            job = _jobs[key] = {"fraction": 0.0, "text": None, "result": None, "error": None,
                                "done": threading.Event()}

            def run() -> None:
                try:
                    job["result"] = fn(*args, progress=lambda f, text=None: job.update(fraction=f, text=text))
                except BaseException as e:  # handed to whoever waits
                    job["error"] = e
                finally:
                    job["done"].set()

            threading.Thread(target=run, daemon=True, name=f"curve-lab {fn.__name__}").start()
    while not job["done"].wait(0.25):
        if progress:
            progress(job["fraction"], job["text"])
    with _jobs_lock:
        if _jobs.get(key) is job:
            del _jobs[key]  # the caller (cached_compute) keeps the result from here on
    if job["error"] is not None:
        raise job["error"]
    return job["result"]


def family_record(name: str = MODEL, layer: str = LAYER, progress=None) -> dict:
    """The family's measurements as plain data: members (dicts), every unit's sweep, the sweep's settings."""
    return _in_background(_family, name, layer, progress=progress)


def _family(name: str, layer: str, progress=None) -> dict:
    from course.vision.curves import census_responses, measure_family

    model = _private(name)
    if progress:
        progress(0.1, "Finding the family with the census's stimuli...")
    fam = measure_family(model, layer)
    if progress:
        progress(0.8, "Measuring straight lines...")
    r, floor = census_responses(model, layer)
    return {"layer": layer, "units": fam.units, "members": [dataclasses.asdict(m) for m in fam.members],
            "tuning": fam.tuning, "sweep": dataclasses.asdict(fam.sweep), "widest_gap": fam.widest_gap,
            "median_echo": fam.median_echo, "lines": r["line"], "floor": floor}


def unit_radius_record(name: str, layer: str, unit: int, orientation: float, light: bool, progress=None) -> dict:
    from course.vision.curves import Sweep, radius_tolerance, radius_tuning

    radii = Sweep().radius_range
    curve = radius_tuning(_private(name), layer, [unit], [orientation], [light], radii)[0]
    return {"radii": list(radii), "curve": curve, "range": radius_tolerance(curve, radii)}


def receptive_field_centre(name: str = MODEL, layer: str = LAYER, progress=None) -> tuple[float, float]:
    from course.vision.probe import centre_of

    return centre_of(_private(name), layer, (64, 64))


def examples_record(name: str = MODEL, layer: str = LAYER, n: int = N_SCENES, k: int = K_EXAMPLES,
                    progress=None) -> dict:
    return _in_background(_examples, name, layer, n, k, progress=progress)


def _examples(name: str, layer: str, n: int, k: int, progress=None) -> dict:
    from course.vision.curves import dataset_examples
    from course.vision.scenes import Scenes

    values, where = dataset_examples(_private(name), layer, Scenes(), n=n, k=k, progress=progress)
    return {"values": values, "where": where, "n": n}


def family_featurevis(name: str, layer: str, units: tuple[int, ...], radii: tuple[float, ...], steps: int = FV_STEPS,
                      size: int = FV_SIZE, progress=None) -> dict:
    """Every unit's feature visualisation (`course.vision.featurevis.render`, one batched optimisation, seed 0) and
    which way the arcs in each picture face (`arc_orientation`, at the unit's best radius)."""
    return _in_background(_featurevis, name, layer, units, radii, steps, size, progress=progress)


def _featurevis(name: str, layer: str, units: tuple, radii: tuple, steps: int, size: int, progress=None) -> dict:
    from course.vision.curves import arc_orientation
    from course.vision.featurevis import render

    images = render(_private(name), layer, list(units), steps=steps, size=size, progress=progress)
    return {"units": list(units), "images": images, "found": arc_orientation(images, radii).tolist(),
            "steps": steps, "size": size}


def featurevis_png(name: str, layer: str, units: tuple[int, ...], radii: tuple[float, ...], members: tuple,
                   steps: int = FV_STEPS, size: int = FV_SIZE, progress=None) -> bytes:
    """The family's feature-visualisation grid (`curve_plots.featurevis_grid`) as PNG bytes, drawn once per render
    and shared (building and rasterising 15 panels takes ~1.3 s, too long to repeat on every rerun).
    members: ((unit, orientation), ...), the panels' order and titles."""
    from course.ui.compute import cached
    from course.vision import curve_plots as P

    hit, rec = cached(family_featurevis, name, layer, units, radii, steps, size)
    rec = rec if hit else family_featurevis(name, layer, units, radii, steps, size)
    fig = P.featurevis_grid(rec["images"], [{"unit": u, "orientation": o} for u, o in members], rec["found"],
                            rec["steps"])
    return _png(fig)


def census_record(name: str = MODEL, progress=None) -> dict:
    return _in_background(_census, name, progress=progress)


def _census(name: str, progress=None) -> dict:
    from course.vision.census import census

    if progress:
        progress(0.05, "Measuring every unit of every layer...")
    return census(name)


# ------------------------------------------------------------------------------------------ the page


def explore(lesson: Lesson) -> None:
    from course.vision import curve_plots as P

    fam = cached_compute(family_record, MODEL, LAYER, label="Measuring conv4's curve family...")
    members, step = fam["members"], fam["sweep"]["step"]
    _family_section(fam, members, step, P)
    _featurevis_section(members)
    _one_unit(fam, members)
    _census_section()


@st.fragment
def _one_unit(fam: dict, members: list[dict]) -> None:
    """Everything about the picked unit; as a fragment, picking another unit redraws only this part."""
    from course.vision import curve_plots as P

    unit = _pick_unit(fam, members)
    _unit_section(fam, unit, P)
    _examples_section(unit, P)
    _shape_section(fam, unit)


def _family_section(fam: dict, members: list[dict], step: float, P) -> None:
    st.subheader("The family round the circle")
    if not members:
        st.info(f"No unit of {fam['layer']} passes the census's three tests.")
        return
    curves = torch.stack([fam["tuning"][m["unit"], ("dark", "light").index(m["polarity"]),
                                        fam["sweep"]["radii"].index(m["radius"])] for m in members])
    _show(P.family_circle(members, curves, step, fam["widest_gap"]))
    fw = [m["fwhm"] for m in members]
    st.caption(f"{len(members)} of {fam['units']} {fam['layer']} units pass the census's tests. Tuning widths "
               f"(FWHM) {min(fw):.1f}-{max(fw):.1f}° (InceptionV1's mixed3b: 28-69°); widest gap "
               f"{fam['widest_gap']:.1f}° (mixed3b: two large gaps, 68° and 62°); median echo/peak "
               f"{fam['median_echo']:.2f} (mixed3b: 0.01). Each curve is at the unit's best polarity and radius "
               f"in the census, every {step:g}°.")
    rows = [{"unit": m["unit"], "preferred (°)": m["orientation"], "census (°)": m["census_orientation"],
             "best arc": f"{m['polarity']} r{m['radius']:g}", "FWHM (°)": m["fwhm"], "echo/peak": m["echo"],
             "vs line": _ratio(m["line_ratio"]), "vs segment": _ratio(m["segment_ratio"]),
             "radii (px)": f"{m['radius_range'][0]:g}-{m['radius_range'][1]:g}"} for m in members]
    st.dataframe(rows, hide_index=True, width="stretch")


def _featurevis_section(members: list[dict]) -> None:
    st.subheader("Feature visualisation of the family")
    st.caption("Lesson 01's tool: for each curve detector, an image optimised until the unit's mean activation over "
               f"conv4's map is as high as it goes ({FV_STEPS} steps of lucent's recipe, {FV_SIZE} px, seed 0). "
               "Under each unit's preferred orientation, the way the arcs in its picture face, read off the pixels "
               "by matching arc templates (`course.vision.curves.arc_orientation`).")
    if not members:
        return
    if st.button(f"Render the family's feature visualisations ({len(members)} units in one batch, about 20 s on "
                 "one laptop core; then cached)", key="cv_fv"):
        st.session_state["cv_fv_ready"] = True
    if not st.session_state.get("cv_fv_ready"):
        return
    units = tuple(m["unit"] for m in members)
    radii = tuple(float(m["radius"]) for m in members)
    cached_compute(family_featurevis, MODEL, LAYER, units, radii, FV_STEPS, FV_SIZE,
                   label="Rendering the family's feature visualisations...")
    png = cached_compute(featurevis_png, MODEL, LAYER, units, radii,
                         tuple((m["unit"], m["orientation"]) for m in members), FV_STEPS, FV_SIZE,
                         label="Drawing the grid...")
    st.image(png, width="stretch")


def _show(fig) -> None:
    """Draw a matplotlib figure at the page's width: PNG at `DPI` (st.pyplot's 200 dpi takes twice as long)."""
    st.image(_png(fig), width="stretch")


def _png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _ratio(x: float) -> str:
    return "none" if x == float("inf") else f"{x:.1f}x"


def _pick_unit(fam: dict, members: list[dict]) -> int:
    st.subheader("One unit")
    labels = {m["unit"]: f"conv4:{m['unit']} ({m['orientation']:.0f}°, {m['polarity']} r{m['radius']:g})"
              for m in members}
    which = st.radio("Pick", ["a curve detector", f"any {fam['layer']} unit"], horizontal=True, key="cv_which")
    if which == "a curve detector" and members:
        return st.selectbox("Curve detector (by preferred orientation)", list(labels), format_func=labels.get,
                            key="cv_member")
    return int(st.number_input(f"{fam['layer']} unit", 0, fam["units"] - 1, 0, key="cv_any"))


def _unit_best(fam: dict, unit: int) -> dict:
    from course.vision.probe import Probes

    tuning, sweep = fam["tuning"][unit], fam["sweep"]  # (2, R, A)
    member = next((m for m in fam["members"] if m["unit"] == unit), None)
    if member:
        p, r = ("dark", "light").index(member["polarity"]), sweep["radii"].index(member["radius"])
        orientation = member["orientation"]
    else:
        p, rest = divmod(int(tuning.argmax()), tuning.shape[1] * tuning.shape[2])
        r = rest // tuning.shape[2]
        orientation = float(tuning[p, r].argmax()) * sweep["step"]
    lines = fam["lines"][unit]  # (2, L, P, A/2)
    endless = torch.tensor([float(x) == 0 for x in Probes().line_lengths])
    return {"polarity": ("dark", "light")[p], "p": p, "r": r, "radius": sweep["radii"][r], "orientation": orientation,
            "curve": float(tuning.max()), "line": float(lines[:, endless].max()),
            "segment": float(lines[:, ~endless].max()), "member": member}


def _unit_section(fam: dict, unit: int, P) -> None:
    from course.vision import stimuli

    best = _unit_best(fam, unit)
    if best["curve"] <= 0:
        st.info(f"conv4:{unit} never responds to an arc at its receptive-field centre.")
        return
    rad = cached_compute(unit_radius_record, MODEL, fam["layer"], unit, best["orientation"], best["p"] == 1,
                         label=f"Sweeping conv4:{unit}'s radius...")
    _show(P.unit_tuning(unit, fam["tuning"][unit], fam["sweep"]["step"], fam["sweep"]["radii"], rad["radii"],
                        rad["curve"], rad["range"], best))
    verdict = "is one of the family" if best["member"] else "is not a curve detector by the census's tests"
    st.caption(f"conv4:{unit} {verdict}. Best arc: {best['polarity']}, radius {best['radius']:g} px, "
               f"{best['orientation']:.1f}°.")
    # the stimuli gallery: 8 orientations from the preferred one, at its best radius and polarity
    model = shared_model(MODEL)
    centre = cached_compute(receptive_field_centre, MODEL, fam["layer"], label="Finding the receptive field...")
    orientations = [(best["orientation"] + 45 * j) % 360 for j in range(8)]
    images = stimuli.curve(torch.tensor(orientations), best["radius"], size=64, span=fam["sweep"]["span"],
                           contrast=1.0 if best["p"] == 1 else -1.0, centre=centre)
    responses = _responses(model, fam["layer"], images, unit)
    _show(P.stimulus_gallery(images, orientations, responses, max(responses),
                             f"conv4:{unit}'s response to arcs every 45° from its preference"))


def _responses(model, layer: str, images: torch.Tensor, unit: int) -> list[float]:
    """`unit`'s response at the middle of `layer`'s map (SceneNet.features: no hooks on the shared model)."""
    with torch.no_grad():
        act = model.features(images)[layer]
    h, w = act.shape[-2:]
    return act[:, unit, h // 2, w // 2].tolist()


def _examples_section(unit: int, P) -> None:
    st.subheader("Dataset examples")
    st.caption(f"The {K_EXAMPLES} held-out scenes (of {N_SCENES:,}) where conv4:{unit} fires most, one position "
               f"per scene, cropped {PATCH} px round the unit (+ marks its centre; grey beyond the scene's edge).")
    if st.button(f"Find the dataset examples (one scan of {N_SCENES:,} scenes for every conv4 unit, about 10 s "
                 "on a laptop; then cached)", key="cv_examples"):
        st.session_state["cv_examples_ready"] = True
    if not st.session_state.get("cv_examples_ready"):
        return
    from course.vision.curves import example_shapes
    from course.vision.examples import Example, patch
    from course.vision.scenes import Scenes

    ex = cached_compute(examples_record, MODEL, LAYER, N_SCENES, K_EXAMPLES, label="Scanning held-out scenes...")
    scenes = Scenes()
    where, values = ex["where"][unit], ex["values"][unit].tolist()
    patches = torch.stack([patch(scenes, Example(s, r, c, v), 8, PATCH)
                           for (s, r, c), v in zip(where.tolist(), values)])
    labels = example_shapes(scenes, where)
    _show(P.example_grid(patches, values, labels, f"conv4:{unit}'s top {len(values)} dataset examples "
                         "(activation; the shape whose rim passes nearest the centre)"))


@st.fragment
def _shape_section(fam: dict, unit: int) -> None:
    """An arc shaped with sliders and the unit's live response (a fragment: moving a slider redraws only this)."""
    from course.vision import stimuli

    st.subheader("Shape an arc")
    best = _unit_best(fam, unit)
    c1, c2, c3 = st.columns(3)
    orientation = c1.slider("orientation (°)", 0, 355, int(round(best["orientation"] / 5) * 5) % 360, 5,
                            key="cv_o")
    radius = c2.slider("radius (px)", 4.0, 32.0, float(best["radius"]), 1.0, key="cv_r")
    span = c3.slider("span (°)", 30, 360, 120, 10, key="cv_span")
    width = c1.slider("stroke width (px)", 1.0, 5.0, 2.0, 0.5, key="cv_w")
    light = c2.radio("polarity", ["dark on light", "light on dark"], index=best["p"], key="cv_pol") == "light on dark"
    centre = cached_compute(receptive_field_centre, MODEL, fam["layer"], label="Finding the receptive field...")
    image = stimuli.curve(float(orientation), radius, size=64, span=float(span), width=width,
                          contrast=1.0 if light else -1.0, centre=centre)
    response = _responses(shared_model(MODEL), fam["layer"], image, unit)[0]
    peak = float(fam["tuning"][unit].max())
    left, right = st.columns([1, 2])
    left.image(image[0].permute(1, 2, 0).numpy(), caption="the stimulus (64 x 64, centred on the receptive field)",
               width=256, clamp=True)
    right.metric(f"conv4:{unit}'s response", f"{response:.3f}",
                 f"{response / peak:.0%} of its best in the sweep" if peak > 0 else "it never fires in the sweep",
                 delta_color="off")


def _census_section() -> None:
    st.subheader("Census of every layer")
    st.caption("`course census scenenet`: every unit of every conv layer, shown the census's stimuli at its "
               "receptive-field centre and tested for curve, high-low frequency and edge/line detection.")
    if st.button("Run the census (a few seconds; then cached)", key="cv_census"):
        st.session_state["cv_census_ready"] = True
    if not st.session_state.get("cv_census_ready"):
        return
    rec = cached_compute(census_record, MODEL, label="Running the census...")
    rows = [{"layer": layer, "units": d["units"], "curve": len(d["curve"]), "high-low": len(d["high_low"]),
             "edge/line": len(d["edge"]),
             "curve units (orientation)": ", ".join(f"{u['unit']} ({u['orientation']:.0f}°)"
                                                    for u in sorted(d["curve"], key=lambda u: u["orientation"]))}
            for layer, d in rec["layers"].items()]
    st.dataframe(rows, hide_index=True, width="stretch")
    s = rec["summary"]
    st.caption(f"Most curve detectors: {s['curve_detectors']} in {s['curve_layer']}, widest gap "
               f"{s['curve_widest_gap']:.0f}° on the census's 15° sweep; {s['high_low_detectors']} high-low and "
               f"{s['edge_detectors']} edge/line detectors in all ({rec['seconds']:.1f} s).")
