"""Lesson 00's experiments: one question ("how does scenenet tell a disc from a square?") through three lenses.

Each function computes one group of figures the lesson states, on fixed held-out scenes, so the app page
shows and `tests/vision/test_lenses_shipped.py` asserts exactly what the text says:

    disc_cells(n)          n held-out scenes, each with one disc cell the model gets right (the examples)
    outline_masks(...)     the pixels on the outline of the shape covering each example's cell
    attribution_figures()  the four maps, their share on the outline, IG's completeness error by steps
    cascade_figures()      the sanity check: rank correlations as layers are randomised from the top
    probe_figures()        linear and MLP probes per layer for "round?", with the control task
    ablation_figures()     conv4's curve family zeroed against random sets of as many conv4 units

Everything is deterministic (fixed scene indices and seeds); scenes come after the first 4,096 held-out
scenes for the attribution and probing figures, and are the first 1,024 for recall (as the recipe's metrics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course import attribution as A
from course import probing as P
from course import sanity as S
from course.vision import circuits as C
from course.vision.scenes import CLASSES, Scenes, signed_distance

EXAMPLES_START = C.EVAL_OFFSET + 4096  # attribution examples and probing scenes: held out, after the recall set
DISC = CLASSES.index("disc")
IG_STEPS = (4, 16, 64)
EXAMPLES = 8  # disc cells the attribution and cascade figures average over
IG_RULES = ("riemann_trapezoid", "gausslegendre")


@dataclass
class Examples:
    """Held-out scenes, one disc cell each that the model labels disc: images (N, 3, 64, 64), the scene
    indices, and targets [(disc, row, col)] for `course.attribution`."""

    images: Tensor
    indices: list[int]
    targets: list[tuple[int, int, int]]

    def __len__(self) -> int:
        return len(self.indices)


def disc_cells(model: nn.Module, n: int = EXAMPLES, start: int = EXAMPLES_START,
               scenes: Scenes | None = None) -> Examples:
    """The first `n` held-out scenes from `start` that have a correctly labelled disc cell; in each, the disc
    cell with the highest disc logit."""
    scenes = scenes or Scenes()
    images, indices, targets = [], [], []
    i = start
    while len(indices) < n:
        x, y = scenes.batch(range(i, i + 64))
        with torch.no_grad():
            out = model(x)
        good = (y == DISC) & (out.argmax(1) == DISC)
        for k in range(len(x)):
            if good[k].any() and len(indices) < n:
                score = torch.where(good[k], out[k, DISC], torch.tensor(-float("inf")))
                r, c = divmod(int(score.argmax()), score.shape[1])
                images.append(x[k])
                indices.append(i + k)
                targets.append((DISC, r, c))
        i += 64
    return Examples(torch.stack(images), indices, targets)


class _OneShape(Scenes):
    """Scenes with one shape of your choosing on scene `index`'s background (every other shape removed)."""

    def __init__(self, shape: dict):
        super().__init__()
        self.shape = shape

    def _draw(self, index: int) -> dict:
        d = super()._draw(index)
        d["kind"] = torch.zeros_like(d["kind"])
        d["kind"][0] = CLASSES.index(self.shape["kind"])
        for key in ("x", "y", "radius", "angle"):
            d[key] = d[key].clone()
            d[key][0] = float(self.shape[key])
        d["outline"] = d["outline"].clone()
        d["outline"][0] = bool(self.shape["outline"])
        return d


def drawn_scene(kind: str = "disc", x: float = 32, y: float = 32, radius: float = 12, angle: float = 0,
                outline: bool = True, background: int = EXAMPLES_START) -> tuple[Tensor, Tensor]:
    """One shape (kind: disc, ellipse, triangle or square; centre (x, y) and radius in pixels; angle in
    degrees; outlined or textured) on the background (and colours) of scene `background`.
    Returns image (3, 64, 64) and labels (8, 8), as `Scenes()[i]`."""
    if kind not in CLASSES[1:]:
        raise ValueError(f"kind must be one of {', '.join(CLASSES[1:])}, not {kind!r}")
    shape = {"kind": kind, "x": x, "y": y, "radius": radius, "angle": math.radians(angle), "outline": outline}
    return _OneShape(shape)[background]


def outline_masks(examples: Examples, width: float = 2.0, scenes: Scenes | None = None) -> Tensor:
    """(N, H, W) bool: pixels within `width` px of the outline of the shape on top at each example's cell
    (found as the scenes' labels are: the last drawn shape whose inside holds the cell's centre)."""
    scenes = scenes or Scenes()
    size, stride = scenes.config.size, scenes.config.stride
    pixels = torch.arange(size, dtype=torch.float32) + 0.5
    centres = torch.arange(stride / 2, size, stride, dtype=torch.float32)
    masks = []
    for index, (_, r, c) in zip(examples.indices, examples.targets):
        p = {k: v[None] for k, v in scenes._draw(index).items()}  # one scene's random numbers, (1, K, ...)
        inside = (signed_distance(p, centres)[0, :, r, c] < 0) & (p["kind"][0] > 0)  # (K,)
        top = int(torch.nonzero(inside).max())
        shape = {k: v[:, top:top + 1] for k, v in p.items() if k in ("kind", "x", "y", "radius", "angle", "aspect")}
        masks.append(signed_distance(shape, pixels)[0, 0].abs() <= width)
    return torch.stack(masks)


def methods(ig_steps: int = 32, occlusion_stride: int = 4) -> dict:
    """The four maps the lesson compares, as functions (model, x, target) -> attributions like x."""
    return {
        "saliency": A.saliency,
        "gradient x input": A.gradient_x_input,
        "integrated gradients": lambda m, x, t: A.integrated_gradients(m, x, t, steps=ig_steps).attributions,
        "occlusion": lambda m, x, t: A.occlusion(m, x, t, window=8, stride=occlusion_stride, baseline=0.5),
    }


def outline_share(maps: Tensor, outline: Tensor, region: Tensor) -> Tensor:
    """(N,): the share of each |map|'s mass within `region` that lies on the outline."""
    mass = maps.abs() * region
    return (mass * outline).flatten(1).sum(1) / mass.flatten(1).sum(1).clamp_min(1e-12)


def attribution_figures(model: nn.Module, examples: Examples) -> dict:
    """Per method: mean share of |attribution| on the outline; the outline's share of the receptive field;
    IG's mean |completeness error| (and the mean |f(x) - f(0)| it is out of) by steps, for two rules."""
    region = A.support(model, examples.images, examples.targets)
    outline = outline_masks(examples) & region
    shares = {}
    for name, fn in methods().items():
        maps = A.to_map(fn(model, examples.images, examples.targets))
        shares[name] = float(outline_share(maps, outline, region).mean())
    gap = A.forward(model, examples.images, examples.targets) - A.forward(
        model, torch.zeros_like(examples.images), examples.targets)
    errors = A.error_by_steps(model, examples.images, examples.targets, list(IG_STEPS), methods=IG_RULES,
                              reduce="mean")
    return {"outline_share": shares,
            "outline_area": float((outline.flatten(1).sum(1) / region.flatten(1).sum(1)).mean()),
            "ig_error": errors, "ig_steps": list(IG_STEPS), "ig_gap": float(gap.abs().mean())}


CASCADE_METHODS = ("saliency", "gradient x input", "integrated gradients")


def cascade_figures(model: nn.Module, examples: Examples, seed: int = 0) -> dict:
    """Mean Spearman correlation with the trained model's map after each cascade step (head first), over
    each cell's receptive field: of |maps| ("abs") and of the signed maps ("signed"; saliency's signed map is
    the raw gradient)."""
    region = A.support(model, examples.images, examples.targets)
    out: dict = {"steps": None, "abs": {}, "signed": {}}
    for name in CASCADE_METHODS:
        fn = {"saliency": lambda m, x, t: A.saliency(m, x, t, absolute=False)}.get(name, methods(ig_steps=16)[name])
        c = S.cascade(model, examples.images, examples.targets, fn, seed=seed, region=region, absolute=True)
        signed = torch.stack([S.spearman(c.maps[0], m, region) for m in c.maps])
        out["steps"] = c.steps
        out["abs"][name] = c.correlation.mean(1).tolist()
        out["signed"][name] = signed.mean(1).tolist()
    return out


PROBE_SCENES = 384
PROBE_LAYERS = ("pixels", "conv1", "conv2", "conv3", "conv4", "conv5")
PROBE_CONFIG = P.ProbeConfig(steps=200, lr=0.02)


def probe_figures(model: nn.Module, n: int = PROBE_SCENES, progress=None) -> P.ProbeReport:
    """Linear and MLP probes per layer for "is the shape here round?" on the shape cells of `n` held-out
    scenes (a quarter of the scenes held out from the probes), with the colour control task."""
    images, labels = Scenes().batch(range(EXAMPLES_START, EXAMPLES_START + n))
    task, keep = P.round_task(labels)
    types = P.colour_types(images)[keep]
    return P.probe_layers(model, images, task, types, list(PROBE_LAYERS), keep=keep, cfg=PROBE_CONFIG,
                          progress=progress)


ABLATION_SCENES = 1024
ABLATION_CONTROLS = 20


def ablation_figures(model: nn.Module, data: tuple[Tensor, Tensor] | None = None, family: list[int] | None = None,
                     progress=None) -> C.AblationStudy:
    """conv4's curve family (the census's) zeroed, against 20 random sets of as many other conv4 units."""
    family = C.curve_family(model) if family is None else family
    data = data if data is not None else C.held_out(ABLATION_SCENES)
    return C.ablation_study(model, "conv4", family, data, controls=ABLATION_CONTROLS, seed=0, progress=progress)
