"""A curve detector built by hand: conv4 kernels written from a rule, scored against the learned units, and
substituted into the network.

The Curve Circuits article (Cammarata et al., Distill 2021) wrote an "artificial artificial neural network"
by hand: curve detectors made of line detectors placed along the curve's tangent, without looking at the real
weights. Put in place of InceptionV1's 3b curve family, they won back 26 of the 46 top-5 answers that removing
the family lost. Here the same idea on scenenet, whose conv4 curve detectors read conv3:

    line_family(model, "conv3")            conv3's line detectors and their orientations, from the census (the
                                           only thing the rule needs to know about the layer below)
    CurveRule                              the rule's knobs: radius of the arc, how fast excitation falls off
                                           with distance from it, how much mismatched lines inhibit
    curve_kernel(lines, orientations, theta, channels, rule)   one kernel (C_in, 3, 3): at each tap, line
                                           units excite in proportion to how well they match the tangent of the
                                           arc there (and how close the arc passes), and inhibit when orthogonal
    template_kernels(model, layer, thetas) another way, from responses rather than a rule: the layer below's mean
                                           response to arcs at theta minus its mean response to arcs at every angle
    calibrate(lin, learned)                gain and bias so a built unit fires as often as the learned one on
                                           training scenes, with the same mean when it fires (two numbers a unit)
    calibration_inputs(model, "conv4")     the layer below and the layer on training scenes, for calibrate
    recovered(clean, ablated, rebuilt)     per class: the fraction of what ablation lost that the rebuilt family
                                           wins back

Tuning correlation is the Pearson correlation of two tuning curves over orientation (the unit's best radius
and polarity, 5-degree steps), as the article scored its hand-built units against the real ones.
`course.vision.workbench.score_kernels` calibrates a whole built family and scores it on scenenet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from course.vision.circuits import conv_of, layer_output
from course.vision.probe import centre_of
from course.vision.scenes import Scenes

CALIBRATION_SCENES = 512  # training scenes 0 .. 511 set each built unit's gain and bias
STEP = 5.0  # orientation step of the tuning curves, degrees


@dataclass(frozen=True)
class CurveRule:
    """How to write a curve detector's kernel over the line detectors of the layer below."""

    radius: float = 12.0  # pixels: the arc the kernel looks for (the scenes' shapes have radius 7-17)
    sigma: float = 5.0  # pixels: excitation falls off as exp(-d^2 / 2 sigma^2) with a tap's distance d from the arc
    inhibit: float = 1.0  # weight of a line orthogonal to the tangent, relative to -1 x a matched line's
    background: float = 0.3  # inhibition (x inhibit) of every line unit at taps the arc does not pass
    span: float = 120.0  # degrees of arc, as the census's stimuli
    spacing: float = 8.0  # pixels between neighbouring taps: the layer below's stride (conv3: 8)


def line_family(model: nn.Module, layer: str = "conv3", size: tuple[int, int] = (64, 64)) -> tuple[list[int], Tensor]:
    """The census's line detectors of `layer` (kind "line") and their orientations (degrees mod 180): (units, (L,))."""
    from course.vision.census import measure

    record = measure(model, [layer], size)
    found = sorted((u["unit"], u["orientation"]) for u in record["layers"][layer]["edge"] if u["kind"] == "line")
    return [u for u, _ in found], torch.tensor([o for _, o in found], dtype=torch.float32)


def arc_geometry(orientation: float, rule: CurveRule, size: int = 3) -> tuple[Tensor, Tensor]:
    """For each tap of a size x size kernel: the distance (pixels) from the tap's centre to the arc whose midpoint
    sits on the middle tap with its convex side facing `orientation`, and the arc's tangent (degrees mod 180)
    at the nearest point. Taps beyond the arc's ends get distance inf. -> ((size, size), (size, size))"""
    t = math.radians(orientation)
    ux, uy = math.cos(t), -math.sin(t)  # the convex side's direction, y pointing down
    cx, cy = -rule.radius * ux, -rule.radius * uy  # the circle's centre, relative to the arc's midpoint
    dist = torch.full((size, size), math.inf)
    tangent = torch.zeros(size, size)
    half = size // 2
    for i in range(size):
        for j in range(size):
            qx, qy = (j - half) * rule.spacing - cx, (i - half) * rule.spacing - cy  # tap relative to the centre
            along = math.atan2(qx * uy - qy * ux, qx * ux + qy * uy)  # angle round the circle from the midpoint
            if abs(math.degrees(along)) <= rule.span / 2:
                dist[i, j] = abs(math.hypot(qx, qy) - rule.radius)
                tangent[i, j] = (math.degrees(math.atan2(-qy, qx)) + 90) % 180  # perpendicular to the radius
    return dist, tangent


def curve_kernel(line_units: Sequence[int], line_orientations: Tensor, orientation: float, channels: int,
                 rule: CurveRule | None = None, size: int = 3) -> Tensor:
    """A curve detector's kernel (channels, size, size) over the layer below, written from `rule`: at each tap
    the arc passes (closeness g = exp(-d^2 / 2 sigma^2)), a line unit gets g x its match to the tangent there,
    cos(2 x angle between them) (+1 parallel, -1 orthogonal), negative matches scaled by `inhibit`; every line
    unit gets -(1 - g) x inhibit x background. Other channels (not line detectors) get 0."""
    rule = rule or CurveRule()
    dist, tangent = arc_geometry(orientation, rule, size)
    g = torch.exp(-dist ** 2 / (2 * rule.sigma ** 2))  # (size, size); 0 where the arc does not pass
    lo = torch.as_tensor(line_orientations, dtype=torch.float32).view(-1, 1, 1)
    match = torch.cos(torch.deg2rad(2 * (lo - tangent)))  # (L, size, size)
    w = g * (match.clamp(min=0) - rule.inhibit * (-match).clamp(min=0)) - (1 - g) * rule.inhibit * rule.background
    kernel = torch.zeros(channels, size, size)
    kernel[torch.as_tensor(list(line_units), dtype=torch.long)] = w
    return kernel


def template_kernels(model: nn.Module, layer: str, orientations, radii=(8.0, 12.0, 16.0), widths=(1.5, 3.0),
                     size: tuple[int, int] = (64, 64)) -> Tensor:
    """Kernels from responses rather than a rule: for each of `orientations`, the layer below's response (in
    `layer`'s window at the receptive-field centre) to arcs at that orientation, minus its mean response to arcs
    at every orientation, averaged over both polarities, `radii` and stroke `widths`. -> (U, C_in, kh, kw)"""
    from course.vision import stimuli

    conv = conv_of(model, layer)
    below = model.layers[model.layers.index(layer) - 1]
    centre = centre_of(model, layer, size)
    ors = torch.arange(0.0, 360.0, STEP)
    kh, kw = conv.kernel_size
    windows = []
    for r in radii:
        for c in (-1.0, 1.0):
            for wd in widths:
                a = layer_output(model, stimuli.curve(ors, r, width=wd, contrast=c, centre=centre, size=size), below)
                top, left = a.shape[-2] // 2 - kh // 2, a.shape[-1] // 2 - kw // 2
                windows.append(a[:, :, top:top + kh, left:left + kw])
    S = torch.stack(windows)  # (K, A, C, kh, kw): every stimulus kind at every orientation
    k = torch.round(torch.as_tensor(orientations, dtype=torch.float32) / STEP).long() % len(ors)  # (U,)
    return S[:, k].mean(0) - S.mean((0, 1))


def calibrate(lin: Tensor, learned: Tensor) -> tuple[float, float]:
    """(gain, bias) so that relu(gain * lin + bias) fires on the same fraction of positions as `learned` and has the
    same mean where it fires. lin: a built kernel's pre-activation on scenes; learned: the unit's activation there."""
    lin, learned = lin.flatten().double(), learned.flatten().double()
    frac = float((learned > 0).double().mean())
    if frac == 0 or lin.max() <= lin.min():
        return 0.0, 0.0
    thr = float(torch.quantile(lin, 1 - frac))
    above = lin[lin > thr] - thr
    gain = float(learned[learned > 0].mean()) / max(float(above.mean()), 1e-12) if above.numel() else 0.0
    return gain, -gain * thr


def tuning_correlation(a: Tensor, b: Tensor) -> Tensor:
    """Pearson correlation of tuning curves, row by row (..., A) with (..., A) -> (...); 0 where one is flat."""
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    den = a.norm(dim=-1) * b.norm(dim=-1)
    return torch.where(den > 0, (a * b).sum(-1) / den.clamp_min(1e-30), torch.zeros_like(den))


def calibration_inputs(model: nn.Module, layer: str, n: int = CALIBRATION_SCENES) -> tuple[Tensor, Tensor]:
    """The layer below `layer` and `layer` itself on training scenes 0 .. n - 1: ((n, C_in, h, w), (n, C, h, w))."""
    from course.vision.probe import activations

    below = model.layers[model.layers.index(layer) - 1]
    x, _ = Scenes().batch(range(n))
    acts = activations(model, x, [below, layer])
    return acts[below], acts[layer]


def recovered(clean: Tensor, ablated: Tensor, rebuilt: Tensor) -> Tensor:
    """Per class: (rebuilt - ablated) / (clean - ablated), the share of the ablation's loss won back (NaN where
    the ablation lost nothing)."""
    lost = clean - ablated
    return torch.where(lost.abs() > 1e-9, (rebuilt - ablated) / lost, torch.full_like(lost, float("nan")))
