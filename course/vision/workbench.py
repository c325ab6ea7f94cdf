"""scenenet's conv4 curve circuit, measured once, for fast what-ifs on its weights.

Lesson 04's check of a hand-built curve family and its app page (the circuit workbench) ask the same questions
many times: with these conv4 kernels in place of the curve family, what is each unit's tuning curve, and what
is each class's recall? Both only need conv3's activations, which no conv4 edit changes, so they are computed
once here: on the census's arcs in conv4's 3 x 3 window (tuning), on training scenes (calibration) and on the
held-out scenes (recall). After that a what-if is a few small convolutions.

    data = circuit_data()                 CircuitData: the family, conv3's line family and the cached activations
    data = shipped()                      the same for the shipped scenenet, computed once per process and shared
                                          (the grader's check, the app page and the tests); treat it as read-only
    recall_with(data, weight, bias)       per-class recall with conv4's weight and bias replaced (held-out scenes)
    score_kernels(data, kernels)          calibrate built kernels (U, 64, 3, 3), then tuning correlations, recall
                                          and the share of the ablation's disc loss won back
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course.vision import curves, handbuilt
from course.vision.circuits import held_out, layer_output
from course.vision.probe import centre_of

LAYER, BELOW = "conv4", "conv3"


@dataclass
class CircuitData:
    """The curve family of conv4 (sorted by preferred orientation) and everything a what-if needs."""

    model: nn.Module = field(repr=False)
    family: curves.Family = field(repr=False)  # lesson 02's measurements of every member
    units: list[int]  # the family's conv4 units
    orientations: Tensor  # (U,) preferred orientations, degrees
    radii: list[float]  # each unit's best arc radius and polarity (its tuning curve is measured there)
    polarities: list[str]
    lines: list[int]  # conv3's line detectors
    line_orientations: Tensor  # (L,) degrees mod 180
    below: Tensor = field(repr=False)  # (n_cal, 64, 8, 8) conv3 on training scenes
    here: Tensor = field(repr=False)  # (n_cal, 128, 8, 8) conv4 on the same scenes
    eval_below: Tensor = field(repr=False)  # (n, 64, 8, 8) conv3 on the held-out scenes
    labels: Tensor = field(repr=False)  # (n, 8, 8)
    windows: Tensor = field(repr=False)  # (U, A, 64, 3, 3) conv3 in conv4's window, each unit's arcs round the circle
    learned: Tensor = field(repr=False)  # (U, A) the learned units' tuning curves on those arcs
    clean: Tensor = field(default=None)  # (classes,) recall, untouched
    ablated: Tensor = field(default=None)  # (classes,) recall, the family zeroed

    @property
    def angles(self) -> Tensor:
        return torch.arange(0.0, 360.0, handbuilt.STEP)

    def __repr__(self) -> str:
        recall = "" if self.clean is None else (f"; disc recall {float(self.clean[1]):.3f} clean, "
                                                f"{float(self.ablated[1]):.3f} with the family zeroed")
        return (f"CircuitData({len(self.units)} curve detectors in conv4, {len(self.lines)} line detectors in conv3, "
                f"{len(self.labels)} held-out scenes{recall})")


def circuit_data(model: nn.Module | None = None, n: int = 1024, progress=None) -> CircuitData:
    """Measure scenenet's curve circuit once (about 10-30 s on a laptop CPU). `progress(fraction, text)` is told."""
    from course import zoo

    say = progress or (lambda *a, **k: None)
    model = model or zoo.load("scenenet", device="cpu")
    say(0.05, "the curve family (lesson 02's sweep)...")
    family = curves.measure_family(model, LAYER)
    say(0.3, "conv3's line detectors (the census)...")
    lines, line_orientations = handbuilt.line_family(model, BELOW)
    say(0.45, "512 training scenes, for calibration...")
    below, here = handbuilt.calibration_inputs(model, LAYER)
    say(0.65, f"{n} held-out scenes...")
    images, labels = held_out(n)
    eval_below = layer_output(model, images, BELOW)
    say(0.85, "the family's tuning curves...")
    centre = centre_of(model, LAYER, (64, 64))
    angles = torch.arange(0.0, 360.0, handbuilt.STEP)
    windows, learned = [], []
    for m in family.members:
        arcs = curves.arc_batch(angles, [m.radius], light=m.polarity == "light", centre=centre)
        acts = layer_output(model, arcs, BELOW)  # (A, 64, 8, 8)
        h, w = acts.shape[-2:]
        windows.append(acts[:, :, h // 2 - 1:h // 2 + 2, w // 2 - 1:w // 2 + 2])
        learned.append(layer_output(model, arcs, LAYER)[:, m.unit, h // 2, w // 2])
    data = CircuitData(model, family, [m.unit for m in family.members], torch.tensor([m.orientation for m in family.members]),
                       [m.radius for m in family.members], [m.polarity for m in family.members], lines,
                       line_orientations, below, here, eval_below, labels, torch.stack(windows), torch.stack(learned))
    conv = model.conv4.conv
    data.clean = recall_with(data, conv.weight.detach(), conv.bias.detach())
    weight, bias = conv.weight.detach().clone(), conv.bias.detach().clone()
    weight[data.units], bias[data.units] = 0, 0  # zero weights and bias: the units never fire
    data.ablated = recall_with(data, weight, bias)
    say(1.0)
    return data


_shipped: CircuitData | None = None
_shipped_lock = threading.Lock()


def shipped(progress=None) -> CircuitData:
    """`circuit_data()` of the shipped scenenet, computed on the first call in a process and shared after that."""
    global _shipped
    with _shipped_lock:
        if _shipped is None:
            _shipped = circuit_data(progress=progress)
        return _shipped


def recall_with(data: CircuitData, weight: Tensor, bias: Tensor, batch: int = 256) -> Tensor:
    """Per-class recall on the held-out scenes with conv4's weight (128, 64, 3, 3) and bias (128,) replaced."""
    model, conv = data.model, data.model.conv4.conv
    classes = model.head.out_channels
    correct, total = torch.zeros(classes), torch.zeros(classes)
    with torch.no_grad():
        for a3, ys in zip(data.eval_below.split(batch), data.labels.split(batch)):
            h = F.relu(F.conv2d(a3, weight, bias, stride=conv.stride, padding=conv.padding))
            pred = model.head(model.conv5(h)).argmax(1)
            total += torch.bincount(ys.flatten(), minlength=classes).float()
            correct += torch.bincount(ys[pred == ys], minlength=classes).float()
    return correct / total.clamp_min(1)


def calibrate_kernels(data: CircuitData, kernels: Tensor) -> tuple[Tensor, Tensor]:
    """Gains (U,) and biases (U,) for built kernels (U, 64, 3, 3) in the family's order (`handbuilt.calibrate`)."""
    conv = data.model.conv4.conv
    lins = F.conv2d(data.below, kernels.float(), stride=conv.stride, padding=conv.padding)  # (N, U, h, w)
    pairs = [handbuilt.calibrate(lins[:, k], data.here[:, u]) for k, u in enumerate(data.units)]
    return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])


def built_tuning(data: CircuitData, kernels: Tensor, biases: Tensor) -> Tensor:
    """Tuning curves (U, A) of calibrated kernels (U, 64, 3, 3) with biases (U,), on each unit's own arcs."""
    return F.relu(torch.einsum("uachw,uchw->ua", data.windows, kernels.float()) + biases[:, None])


def score_kernels(data: CircuitData, kernels: Tensor, recall: bool = True) -> dict:
    """Calibrate built kernels (U, 64, 3, 3), one per family member in order; their tuning curves (U, A), tuning
    correlations with the learned units (U,), and (if `recall`) per-class recall with them in place of the family
    and the share of each class's ablation loss they win back."""
    gains, biases = calibrate_kernels(data, kernels)
    scaled = kernels.detach().float() * gains.view(-1, 1, 1, 1)
    tuning = built_tuning(data, scaled, biases)
    out = {"kernels": scaled, "biases": biases, "tuning": tuning,
           "correlation": handbuilt.tuning_correlation(tuning, data.learned)}
    if recall:
        conv = data.model.conv4.conv
        weight, bias = conv.weight.detach().clone(), conv.bias.detach().clone()
        weight[data.units], bias[data.units] = scaled, biases
        out["recall"] = recall_with(data, weight, bias)
        out["recovered"] = handbuilt.recovered(data.clean, data.ablated, out["recall"])
    return out
