"""Lesson 04: circuits. Reference solutions.

Exercises, easiest first (points in brackets; `course check 04` grades them):

    1. strongest_inputs      the input channels whose kernels into a unit are strongest             [1]
    2. echo_ratio            the response opposite the peak, relative to the peak                   [1]
    3. circulant_score       order a family by orientation: how circulant is its weight matrix?     [2]
    4. ablated_recall        per-class recall with sets of units zeroed or mean-ablated, in turn    [3]
    5. patch_each            each unit patched in from a source image in turn, hooks removed        [2]
    6. drop_negative         a copy without a family's negative inputs; the original untouched      [3]
    7. expanded_weights      units' expanded weights back to an earlier layer or to the pixels      [3]
    8. arc_taps              where an arc passes a kernel's taps, and its tangent there             [2]
    9. curve_family_kernels  a curve family written by hand from the line detectors below           [4]

Models are `scenenet`-shaped (`course.vision.models.SceneNet`): layers conv1..conv5, each `convN` a conv
(`model.convN.conv`) followed by a ReLU, so a forward hook on `model.convN` sees the unit's activation after
its ReLU; then a 1 x 1 head: (N, 3, H, W) images in [0, 1] -> (N, classes, H/8, W/8) scores, one per cell.
Orientations are degrees counter-clockwise from +x with the image's y pointing down; an arc's orientation is
the way its convex side faces. You may use `course.vision.stimuli`, `.probe`, `.models`, `.scenes` and
`course.zoo`; `course.vision.circuits`, `.editing`, `.equivariance`, `.handbuilt`, `.expanded`, `.curves` and
`.census` are off limits while your work is graded.
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


# ------------------------------------------------------------------------------------------ 1. reading weights


def strongest_inputs(model: nn.Module, layer: str, unit: int, k: int) -> tuple[Tensor, Tensor]:
    """The `k` input channels whose kernels into `unit` of `layer` have the largest L2 norm, strongest first:
    (channels (k,) int64, kernels (k, kh, kw)). The conv weight is (out, in, kh, kw)."""
    # BEGIN SOLUTION hint: w = getattr(model, layer).conv.weight.detach()[unit] is (in, kh, kw); rank w.flatten(1).norm(dim=1)
    w = getattr(model, layer).conv.weight.detach()[unit]
    order = w.flatten(1).norm(dim=1).argsort(descending=True)[:k]
    return order, w[order]
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 2. echo


def echo_ratio(tuning: Tensor, step: float, window: float = 45.0) -> Tensor:
    """Tuning curves (U, A) over orientations 0, step, 2 step, ... (A = 360 / step): for each unit, the largest
    response within `window` degrees of the orientation opposite its peak (180 degrees round), over the peak.
    A unit that never responds (peak 0) gets 0. -> (U,)"""
    # BEGIN SOLUTION hint: the opposite of sample i is (i + A // 2) % A; gather the samples i + A // 2 - k .. + k (mod A), k = int(window // step)
    a = tuning.shape[-1]
    i = tuning.argmax(dim=-1, keepdim=True)  # (U, 1)
    peak = tuning.gather(-1, i).squeeze(-1)
    k = int(window // step)
    opposite = (i + a // 2 + torch.arange(-k, k + 1)) % a  # (U, 2k + 1)
    return tuning.gather(-1, opposite).amax(dim=-1) / peak.clamp_min(1e-12)
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 3. equivariance


def circulant_score(W: Tensor, orientations: Tensor) -> float:
    """How close the family-to-family weights W (n, n) are to circulant once the family is ordered by preferred
    orientation (rows and columns are the same n units, in the order of `orientations`).

    Order rows and columns by orientation; the best circulant matrix C has, on each wrapped diagonal
    (j - i) mod n, the mean of the ordered matrix's entries there. Return 1 - |W - C|^2 / |W - mean(W)|^2 (sums of
    squares over all entries; mean(W) the mean of all entries) as a Python float."""
    # BEGIN SOLUTION hint: idx = argsort(orientations); Wo = W[idx][:, idx]; lag = (j - i) % n; average Wo over each lag
    idx = torch.argsort(orientations % 360)
    Wo = W[idx][:, idx].double()
    n = Wo.shape[0]
    i = torch.arange(n)
    lag = (i[None, :] - i[:, None]) % n
    means = torch.zeros(n, dtype=Wo.dtype).index_add_(0, lag.flatten(), Wo.flatten()) / n
    C = means[lag]
    return float(1 - ((Wo - C) ** 2).sum() / ((Wo - Wo.mean()) ** 2).sum())
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 4-5. interventions


def ablated_recall(model: nn.Module, images: Tensor, labels: Tensor, layer: str, unit_sets: list[list[int]],
                   mode: str = "zero") -> Tensor:
    """Per-class recall of the model's per-cell predictions (argmax over classes) on `images` (N, 3, H, W) against
    `labels` (N, H/8, W/8), with each set of units of `layer` in turn ablated after their ReLU (a forward hook on
    `model.<layer>`), one pass per set: a family, say, then random sets of the same size as controls.

        mode="zero"   the units' activations are replaced by 0
        mode="mean"   by each unit's mean activation over these images and every position (one number a unit,
                      measured on one clean pass first)

    Recall of class c: cells labelled c that are predicted c, over cells labelled c (0 if there are none).
    -> (len(unit_sets), classes) float32. Remove each hook after its pass, even when the pass fails: a hook
    left on would still ablate its units in every later pass."""
    # BEGIN SOLUTION hint: a clean pass with a recording hook gives the means; then per set a hook that returns a changed copy of the output
    module = getattr(model, layer)
    with torch.no_grad():
        seen = {}
        handle = module.register_forward_hook(lambda m, inputs, output: seen.__setitem__("act", output))
        try:
            classes = model(images).shape[1]
        finally:
            handle.remove()
        means = seen["act"].mean(dim=(0, 2, 3))  # (C,): every unit's mean activation
        total = torch.bincount(labels.flatten(), minlength=classes).float()
        rows = []
        for units in unit_sets:
            values = means[units] if mode == "mean" else torch.zeros(len(units))

            def replace(m, inputs, output, units=units, values=values):
                output = output.clone()
                output[:, units] = values.view(1, -1, 1, 1).to(output)
                return output

            handle = module.register_forward_hook(replace)
            try:
                pred = model(images).argmax(dim=1)
            finally:
                handle.remove()
            correct = torch.bincount(labels[pred == labels], minlength=classes).float()
            rows.append(correct / total.clamp_min(1))
    return torch.stack(rows)
    # END SOLUTION


def patch_each(model: nn.Module, x: Tensor, source: Tensor, layer: str, units: list[int]) -> Tensor:
    """Activation patching: record `layer`'s activation on `source` (same shape as x), then for each unit u in
    `units`, run the model on x with u's activation (its whole map, after the ReLU) replaced by its activation on
    source: one pass per unit, only that unit patched. -> (len(units), N, classes, h, w)

    Remove each hook after its pass (even if the pass fails): a hook left on would still patch its unit in
    every later pass."""
    # BEGIN SOLUTION hint: one recording pass on source; then per unit: handle = module.register_forward_hook(fn); try: model(x) finally: handle.remove()
    module = getattr(model, layer)
    with torch.no_grad():
        seen = {}
        handle = module.register_forward_hook(lambda m, inputs, output: seen.__setitem__("act", output))
        try:
            model(source)
        finally:
            handle.remove()
        patched = []
        for u in units:
            def replace(m, inputs, output, u=u):
                output = output.clone()
                output[:, u] = seen["act"][:, u]
                return output

            handle = module.register_forward_hook(replace)
            try:
                patched.append(model(x))
            finally:
                handle.remove()
    return torch.stack(patched)
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 6. editing


def drop_negative(model: nn.Module, layer: str, units: list[int], sources: list[int]) -> tuple[nn.Module, nn.Module]:
    """Circuit editing: every negative weight from input channels `sources` into output channels `units` of
    `layer`'s conv (`model.<layer>.conv.weight`, (out, in, kh, kw)) becomes 0, in a copy of the model.

    Returns (before, after): the model you were given, untouched, and the edited copy. Everything else (positive
    weights, biases, other units) stays as it was."""
    # BEGIN SOLUTION hint: after = copy.deepcopy(model); edit after's weight under torch.no_grad(); w[u, sources].clamp(min=0)
    after = copy.deepcopy(model)
    weight = getattr(after, layer).conv.weight
    with torch.no_grad():
        for u in units:
            weight[u, sources] = weight[u, sources].clamp(min=0)
    return model, after
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 7. expanded weights


def expanded_weights(model: nn.Module, start: str | None, end: str, units: list[int]) -> Tensor:
    """The expanded weights of `units` of layer `end` back to the output of layer `start` (a name like "conv2"),
    or, when start is None, back to the raw image pixels in [0, 1]: the single kernel the convs in between are
    equal to with their biases dropped and every ReLU taken as the identity (away from the image's borders).

    The convs are `model.convN.conv` for the layers after `start` up to and including `end`. The model normalises
    its input as (x - model.mean) / model.std, so weights on raw pixels are the first conv's weights divided by
    std (per input channel). -> (len(units), C_start, K, K) (C_start = 3 for pixels)."""
    # BEGIN SOLUTION hint: last conv first: kernel = F.conv_transpose2d(kernel, earlier.weight, stride=earlier.stride); slice the units first
    names = model.layers
    first = 0 if start is None else names.index(start) + 1
    convs = [getattr(model, name).conv for name in names[first:names.index(end) + 1]]
    kernel = convs[-1].weight.detach()[units]
    for conv in reversed(convs[:-1]):
        kernel = F.conv_transpose2d(kernel, conv.weight.detach(), stride=conv.stride)
    if start is None:
        kernel = kernel / model.std.view(1, -1, 1, 1)
    return kernel
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 8-9. a curve detector by hand


def arc_taps(orientation: float, radius: float, spacing: float, span: float, size: int = 3) -> tuple[Tensor, Tensor]:
    """Where an arc passes the taps of a size x size kernel whose neighbouring taps are `spacing` pixels apart.

    The arc is part of a circle of `radius` pixels; its midpoint sits on the middle tap and its convex side faces
    `orientation`, so the circle's centre lies `radius` pixels behind the midpoint, in the direction
    orientation + 180. Tap (i, j) sits at x = (j - size // 2) * spacing, y = (i - size // 2) * spacing from the
    middle tap (y pointing down). A tap is on the arc's side of the circle when the angle between (tap - circle
    centre) and the orientation's direction is at most span / 2 degrees. For those taps return

        distance   | |tap - circle centre| - radius |  (pixels from the tap to the circle)
        tangent    the circle's tangent direction there, in degrees in [0, 180): perpendicular to (tap - centre)

    and for every other tap distance = inf and tangent = 0. -> (distance (size, size), tangent (size, size))"""
    # BEGIN SOLUTION hint: direction (cos t, -sin t) in (x, y); the angle between two vectors is atan2(|cross|, dot); an (x, y) vector's orientation is atan2(-y, x)
    t = math.radians(orientation)
    ux, uy = math.cos(t), -math.sin(t)
    cx, cy = -radius * ux, -radius * uy
    distance = torch.full((size, size), math.inf)
    tangent = torch.zeros(size, size)
    half = size // 2
    for i in range(size):
        for j in range(size):
            qx, qy = (j - half) * spacing - cx, (i - half) * spacing - cy
            angle = math.degrees(math.atan2(abs(qx * uy - qy * ux), qx * ux + qy * uy))
            if angle <= span / 2:
                distance[i, j] = abs(math.hypot(qx, qy) - radius)
                tangent[i, j] = (math.degrees(math.atan2(-qy, qx)) + 90) % 180
    return distance, tangent
    # END SOLUTION


def curve_family_kernels(line_units: list[int], line_orientations: Tensor, orientations: Tensor,
                         channels: int) -> Tensor:
    """Hand-built curve detectors for a layer whose input has `channels` channels, `line_units` of which are line
    detectors with preferred orientations `line_orientations` (degrees mod 180, in the same order): one 3 x 3
    kernel for each of `orientations` (degrees, the way each curve's convex side faces). -> (U, channels, 3, 3)

    No learned weight is needed: write the kernels from what a curve is. The check calibrates each kernel's gain
    and bias (so each built unit fires as often as the learned unit it replaces on training scenes), then asks
    two things: that the built unit's tuning curve correlates with the learned unit's (see the lesson text for
    the threshold), and that the built family, put in place of scenenet's curve family, wins back at least half
    the disc recall that zeroing the family loses. The lesson's rule (radius 12 px, taps 8 px apart, span 120
    degrees): where the arc passes a tap (closeness g = exp(-d^2 / 50) at distance d), a line unit whose
    orientation matches the tangent there excites and an
    orthogonal one inhibits: g x cos(2 x the angle between them), +1 parallel, -1 orthogonal; and every line unit
    gets -0.3 x (1 - g), a little inhibition wherever the arc does not pass. Other channels get 0."""
    # BEGIN SOLUTION hint: per orientation: distance, tangent = arc_taps(theta, 12.0, 8.0, 120.0); g = exp(-distance**2 / 50); match = cos(2 (line - tangent)) in radians
    kernels = torch.zeros(len(orientations), channels, 3, 3)
    lines = torch.as_tensor(line_units, dtype=torch.long)
    lo = torch.as_tensor(line_orientations, dtype=torch.float32).view(-1, 1, 1)
    for k, theta in enumerate(orientations.tolist()):
        distance, tangent = arc_taps(theta, 12.0, 8.0, 120.0)
        g = torch.exp(-distance ** 2 / 50.0)
        match = torch.cos(torch.deg2rad(2 * (lo - tangent)))  # (L, 3, 3): +1 parallel, -1 orthogonal
        kernels[k, lines] = g * match - 0.3 * (1 - g)
    return kernels
    # END SOLUTION
