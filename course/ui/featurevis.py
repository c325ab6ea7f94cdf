"""Lesson 01's interactive part, the feature-visualisation studio.

`explore(lesson)` has three parts:

* **Studio**: pick the model (scenenet; InceptionV1 when its weights are in torch.hub's cache), a layer, one unit
  or the whole layer, the parameterisation, decorrelation, each transform, the steps, diversity (with several
  images per unit) and negative; Render draws a grid (every unit in one batched optimisation, with a progress
  bar) and offers it as a PNG; then pick a rendered unit to see its dataset examples beside its picture.
* **Pixel vs FFT vs FFT + transforms** for one unit, with each image's high-frequency share.
* **The fooled unit**: a curve detector before and after `course.vision.fooling.fool`, with the decoy's own
  picture and the measured output change.

Every computation is `course.ui.cached_compute(fn, *settings)`: done once per setting for every session, and
the functions below return plain tensors and numbers. Models come from `shared_resource` and are never hooked:
`render` works on a private copy, and so do the dataset examples here.
"""

from __future__ import annotations

import io
import os

import streamlit as st
import torch

from course.lessons import Lesson
from course.ui.compute import cached_compute
from course.ui.resources import shared_resource

TRANSFORM_NAMES = {"pad": "pad 12 px", "jitter": "jitter (8 px, then 4 px)", "scale": "scale 0.9-1.1",
                   "rotate": "rotate -10..10 degrees"}
LAYERS = {"scenenet": ["conv1", "conv2", "conv3", "conv4", "conv5"],
          "inceptionv1": ["conv2d2", "mixed3a", "mixed3b", "mixed4a", "mixed4b", "mixed4c"]}
CURVES = [27, 93, 110, 101, 71, 68, 48, 24, 22, 41, 74, 98, 116, 0, 19]  # conv4's curve detectors (the census)
DECOYS = {0: "conv3:0 (vertical lines)", 2: "conv3:2 (diagonal lines)", 12: "conv3:12 (blobs)",
          37: "conv3:37 (slanted stripes)"}


def models_available() -> list[str]:
    """scenenet, and inceptionv1 when its ImageNet weights are already cached (nothing is downloaded)."""
    names = ["scenenet"]
    if os.path.isfile(torch.hub.get_dir() + "/checkpoints/inception5h.pth"):
        names.append("inceptionv1")
    return names


@shared_resource
def vision_model(name: str):
    from course import zoo

    return zoo.load(name)


# ------------------------------------------------------------------------------------------------ computations


def render_grid(name: str, layer: str, units: tuple[int, ...], steps: int, size: int, param: str, decorrelate: bool,
                transforms: tuple[str, ...], diversity: float, negative: bool, seed: int = 0, progress=None) -> dict:
    """Render `units` (repeated units make several images) and return plain tensors and timings."""
    import time
    import warnings

    from course.vision.featurevis import render

    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = render(vision_model(name), layer, list(units), steps=steps, size=size, param=param,
                        decorrelate=decorrelate, transforms=list(transforms), diversity=diversity, negative=negative,
                        seed=seed, progress=progress)
    return {"images": images, "units": units, "seconds": time.perf_counter() - t,
            "notes": [str(w.message) for w in caught if issubclass(w.category, UserWarning)]}


def dataset_examples(name: str, layer: str, unit: int, n: int = 1024, k: int = 8, progress=None) -> dict:
    """The `k` scene patches (the unit's receptive field) that excite `layer:unit` most among `n` scenes."""
    from course.vision.examples import patch, top_examples
    from course.vision.featurevis import private_copy, receptive_field
    from course.vision.scenes import Scenes

    model = private_copy(vision_model(name)).to("cpu")  # never a hook on the shared model
    scenes = Scenes()
    best = []
    for i, first in enumerate(range(0, n, 256)):  # in chunks, for the progress bar
        best += top_examples(model, layer, unit, scenes, n=min(256, n - first), k=k, start=10_000_000 + first)
        if progress:
            progress((i + 1) * 256 / n, f"scanning scenes {first + 256} of {n}")
    best = sorted(best, key=lambda e: -e.activation)[:k]
    stride = {"conv1": 2, "conv2": 4}.get(layer, 8)
    side = min(64, receptive_field(model, layer) + 2)
    return {"patches": torch.stack([patch(scenes, e, stride, side) for e in best]),
            "activations": [e.activation for e in best], "scenes": [e.index for e in best]}


def high_frequency_share(images: torch.Tensor) -> list[float]:
    """Per image: the share of spectral power (mean removed) above half the Nyquist frequency (0.25 cycles/px)."""
    x = images - images.mean((-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs() ** 2
    f = torch.sqrt(torch.fft.fftfreq(x.shape[-2])[:, None] ** 2 + torch.fft.fftfreq(x.shape[-1])[None, :] ** 2)
    return ((power * (f > 0.25)).sum((-3, -2, -1)) / power.sum((-3, -2, -1))).tolist()


def three_ways(name: str, layer: str, unit: int, steps: int, progress=None) -> dict:
    """The same unit with raw pixels (no transforms), FFT + decorrelation (no transforms), and FFT + transforms."""
    from course.vision.featurevis import render

    settings = [("pixels, no transforms", dict(param="pixel", decorrelate=False, transforms="none")),
                ("FFT + decorrelated colour", dict(transforms="none")),
                ("FFT + decorrelated + transforms", dict())]
    images = []
    for i, (_, kw) in enumerate(settings):
        part = (lambda f, text=None, i=i: progress((i + f) / 3, text)) if progress else None
        images.append(render(vision_model(name), layer, [unit], steps=steps, progress=part, **kw))
    images = torch.cat(images)
    with torch.no_grad():
        acts = _features(name, images)[layer][:, unit].mean((1, 2)).tolist()
    return {"images": images, "titles": [t for t, _ in settings], "hf": high_frequency_share(images), "acts": acts}


def fooled_unit(unit: int, decoy: int, steps: int, progress=None) -> dict:
    """Before/after pictures of conv4:unit fooled into showing conv3:decoy, and the measurements."""
    from course.vision.featurevis import render
    from course.vision.fooling import check, fool

    model = vision_model("scenenet")
    fooled = fool(model, unit, decoy)
    step = lambda i: (lambda f, text=None: progress((i + f) / 3, text)) if progress else None  # noqa: E731
    images = {"original": render(model, "conv4", [unit], steps=steps, progress=step(0)),
              "fooled": render(fooled, "conv4", [unit], steps=steps, progress=step(1)),
              "decoy": render(model, "conv3", [decoy], steps=steps, progress=step(2))}
    report = check(model, fooled, unit, decoy, images)
    return {"images": images, "report": report.__dict__}


@st.cache_data(show_spinner=False)
def _width(name: str, layer: str) -> int:
    from course.vision.featurevis import layer_width

    return layer_width(vision_model(name), layer)


def _features(name: str, images: torch.Tensor) -> dict:
    from course.vision.featurevis import private_copy

    model = private_copy(vision_model(name)).to("cpu")
    return model.features(images) if hasattr(model, "features") else {}


# ------------------------------------------------------------------------------------------------ figures


def grid(images: torch.Tensor, labels: list[str], ncols: int = 8):
    """Legible at 1,400 px: at most 8 columns, 1.6-inch cells, 11-point titles."""
    from course.vision.fvgrid import grid_figure

    fig = grid_figure(images, labels, ncols=min(ncols, len(images)), cell=1.6)
    for ax in fig.axes:
        ax.title.set_fontsize(11)
    return fig


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def row(images, titles: list[str]):
    """Images (a list or a batch; sizes may differ) side by side, 2.4 inches each (up to 10 in a row stay legible
    at 1,400 px), 11-12-point titles."""
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(max(2.4 * n, 7.5), 3.2), squeeze=False)
    for ax, img, title in zip(axes[0], images, titles):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
        ax.set_title(title, fontsize=12 if n > 4 else 11)
        ax.set_xticks([]), ax.set_yticks([]), ax.axis("off")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ the page


def explore(lesson: Lesson) -> None:
    studio()
    st.divider()
    compare_section()
    st.divider()
    fooled_section()


def studio() -> None:
    st.subheader("Feature-visualisation studio")
    c1, c2, c3 = st.columns(3)
    name = c1.selectbox("Model", models_available(), key="fv_model")
    layer = c2.selectbox("Layer", LAYERS[name], index=min(3, len(LAYERS[name]) - 1), key="fv_layer")
    width = _width(name, layer)
    whole = c3.radio("Units", ["One unit", "The whole layer"], key="fv_whole") == "The whole layer"
    if whole:
        units = tuple(range(width))
    else:
        default = 93 if (name, layer) == ("scenenet", "conv4") else 0
        units = (int(c3.number_input(f"Unit (0-{width - 1})", 0, width - 1, min(default, width - 1), key="fv_unit")),)
    c1, c2, c3 = st.columns(3)
    param = c1.radio("Parameterisation", ["fft", "pixel"], horizontal=True, key="fv_param")
    decorrelate = c1.checkbox("Decorrelated colour", True, key="fv_decorrelate")
    chosen = c2.multiselect("Transforms", list(TRANSFORM_NAMES), default=list(TRANSFORM_NAMES),
                            format_func=TRANSFORM_NAMES.get, key="fv_transforms")
    steps = c3.select_slider("Steps", [16, 32, 64, 128, 256, 512], 128, key="fv_steps")
    negative = c3.checkbox("Negative (what inhibits the unit)", key="fv_negative")
    c1, c2 = st.columns(2)
    diversity = c1.slider("Diversity weight", 0.0, 20.0, 0.0, 1.0, key="fv_diversity")
    copies = c2.slider("Images per unit", 1, 4, 1 if not diversity else 3, key="fv_copies",
                       help="With diversity > 0, the images of one unit are pushed apart.")
    size = 64 if name == "scenenet" else 128
    settings = (name, layer, tuple(u for u in units for _ in range(copies)), steps, size, param, decorrelate,
                tuple(chosen), float(diversity), negative)
    n = len(settings[2])
    st.caption(f"{n} image{'s' * (n != 1)} of {size} px in one batched optimisation"
               + (" (the whole layer takes a minute or more on a laptop CPU)" if whole else ""))
    if st.button("Render", type="primary", key="fv_render"):
        st.session_state["fv_result"] = settings, cached_compute(render_grid, *settings,
                                                                  label="Optimising the images...")
    if "fv_result" not in st.session_state:
        st.caption("Set the controls and press Render.")
        return
    used, out = st.session_state["fv_result"]
    if used != settings:
        st.caption("The controls changed since this render: press Render to update.")
    u_name, u_layer = used[0], used[1]
    for note in out["notes"]:
        st.info(note)
    labels = [f"{u_layer}:{u}" for u in out["units"]]
    fig = grid(out["images"], labels)
    st.caption(f"{len(labels)} images in {out['seconds']:.1f} s.")
    st.pyplot(fig, width="stretch")
    st.download_button("Download the grid (PNG)", png_bytes(fig), file_name=f"{u_name}_{u_layer}.png",
                       mime="image/png", key="fv_png")

    st.markdown("**Dataset examples**: the scene patches that excite a rendered unit most, beside its picture.")
    rendered = sorted(set(out["units"]))
    c1, c2 = st.columns([2, 1])
    pick = c1.selectbox("Unit", rendered, format_func=lambda u: f"{u_layer}:{u}", key="fv_example_unit")
    if u_name == "scenenet" and c2.button("Show dataset examples", key="fv_examples"):
        st.session_state["fv_examples_result"] = (u_layer, pick), cached_compute(
            dataset_examples, u_name, u_layer, int(pick), label="Scanning 1,024 scenes...")
    if u_name != "scenenet":
        c2.caption("Dataset examples come from scenenet's scenes.")
    if "fv_examples_result" in st.session_state:
        (ex_layer, ex_unit), ex = st.session_state["fv_examples_result"]
        if ex_layer == u_layer and ex_unit in rendered:
            picture = out["images"][out["units"].index(ex_unit)][None]
            st.pyplot(row([picture[0], *ex["patches"]],
                          ["visualisation"] + [f"scene {s}: {a:.2f}" for s, a in zip(ex["scenes"], ex["activations"])]),
                      width="stretch")


def compare_section() -> None:
    st.subheader("Pixels vs FFT vs FFT + transforms")
    st.caption("One unit, three ways, the same steps. The titles give each picture's share of spectral power "
               "above half the Nyquist frequency, and the unit's mean activation on it.")
    c1, c2 = st.columns(2)
    unit = c1.selectbox("conv4 unit", CURVES, key="fv_cmp_unit")
    steps = c2.select_slider("Steps", [64, 128, 256], 128, key="fv_cmp_steps")
    if st.button("Render the three", key="fv_compare"):
        st.session_state["fv_compare_result"] = cached_compute(three_ways, "scenenet", "conv4", int(unit), steps,
                                                               label="Three optimisations...")
    if "fv_compare_result" in st.session_state:
        out = st.session_state["fv_compare_result"]
        titles = [f"{t}\nhigh-freq {h:.0%}, activation {a:.2f}"
                  for t, h, a in zip(out["titles"], out["hf"], out["acts"])]
        st.pyplot(row(out["images"], titles), width="stretch")


def fooled_section() -> None:
    st.subheader("Don't trust your eyes: a fooled unit")
    st.caption("conv4's unit is rewired to fire for a conv3 decoy, and conv5 reads an exact copy of the old unit "
               "instead: the class scores do not change, but the unit's picture does.")
    c1, c2, c3 = st.columns(3)
    unit = c1.selectbox("Curve detector", CURVES, key="fv_fool_unit")
    decoy = c2.selectbox("Decoy", list(DECOYS), format_func=DECOYS.get, key="fv_fool_decoy")
    steps = c3.select_slider("Steps", [64, 128, 256], 128, key="fv_fool_steps")
    if st.button("Fool it", key="fv_fool"):
        st.session_state["fv_fool_result"] = cached_compute(fooled_unit, int(unit), int(decoy), steps,
                                                            label="Rendering before and after...")
    if "fv_fool_result" in st.session_state:
        out = st.session_state["fv_fool_result"]
        r, im = out["report"], out["images"]
        st.pyplot(row(torch.cat([im["original"], im["fooled"], im["decoy"]]),
                      ["conv4 unit, before", "the same unit, fooled", "the decoy's own picture"]),
                  width="stretch")
        st.caption(f"Largest change of any class score on {r['scenes']} scenes: {r['max_output_difference']:.1g}. "
                   f"The fooled picture excites the decoy {r['decoy_after'] / max(r['decoy_own'], 1e-9):.0%} as much "
                   f"as its own picture does, and the original unit "
                   f"{r['unit_after'] / max(r['unit_before'], 1e-9):.0%}.")
