"""Lesson 02: curve detectors. Reference solutions.

Exercises, easiest first (points in brackets; `course check 02` grades them on the shipped `scenenet`):

     1. arc_batch              a grid of arc stimuli, radius-major                                   [1]
     2. circular_mean          the mean direction of angles (not their arithmetic mean)             [1]
     3. widest_gap             the widest empty arc a family leaves round the circle                 [1]
     4. echo_ratio             the response to the opposite orientation, relative to the peak        [1]
     5. preferred_orientation  a sub-step estimate of where a tuning curve peaks                     [2]
     6. tuning_width           full width at half maximum (FWHM), in degrees                         [2]
     7. selectivity            best curve over best straight line, and over best segment             [2]
     8. orientation_tuning     a unit's tuning curve, read at the centre of its map                  [2]
     9. top_examples           the k scenes (and positions) that excite a unit most, one per scene    [2]
    10. crop_patches           the receptive-field patch of each example                              [1]
    11. find_family            the units that pass the census's stated tests for a curve detector    [3]

Conventions (the same as `course.vision.stimuli` and the census): orientations are degrees counter-clockwise
from +x with the image's y pointing down, and an arc's orientation is the way its convex side faces. A tuning
curve is a tensor (U, A): U units' responses to orientations 0, step, 2 * step, ... (A = 360 / step).
Polarity index 0 is a dark arc on a light ground (contrast -1), index 1 a light arc on dark (contrast +1).
"""

import torch
from torch import Tensor, nn

from course.vision import stimuli
from course.vision.probe import activations, centre_of


def arc_batch(orientations: Tensor, radii: Tensor, *, light: bool = False, size: tuple[int, int] = (64, 64),
              centre: tuple[float, float] | None = None, width: float = 2.0) -> Tensor:
    """Every (radius, orientation) arc of span 120 degrees, radius-major: image r * A + a shows radii[r] at
    orientations[a]. `light` False: dark arcs on a light ground (contrast -1); True: light on dark (contrast +1).
    Use `stimuli.curve`, which draws a whole batch from 1-D tensors of parameters. -> (R * A, 3, H, W)
    """
    # BEGIN SOLUTION hint: stimuli.curve(orientations repeated R times, each radius repeated A times, ...)
    n_o, n_r = len(orientations), len(radii)
    return stimuli.curve(orientations.repeat(n_r), radii.repeat_interleave(n_o), size=size, span=120.0,
                         width=width, contrast=1.0 if light else -1.0, centre=centre)
    # END SOLUTION


def circular_mean(angles: Tensor, weights: Tensor) -> Tensor:
    """The weighted mean direction of `angles` (degrees) over the last dim, in [0, 360). -> angles.shape[:-1]

    Average the unit vectors (cos t, sin t), weighted, and take the direction of the sum: 350 and 10 degrees
    average to 0, where their arithmetic mean is 180.
    """
    # BEGIN SOLUTION hint: torch.atan2(sum of w sin t, sum of w cos t); sin and cos want radians
    t = torch.deg2rad(angles)
    return torch.rad2deg(torch.atan2((weights * torch.sin(t)).sum(-1), (weights * torch.cos(t)).sum(-1))) % 360
    # END SOLUTION


def widest_gap(orientations: list[float]) -> float:
    """The widest empty arc, in degrees, between neighbouring orientations round the circle (any real numbers,
    taken mod 360; 360.0 for an empty list). The gap from the last orientation back round to the first counts."""
    # BEGIN SOLUTION hint: sort them mod 360; don't forget the gap that wraps from the largest back to the smallest
    ors = sorted(float(o) % 360 for o in orientations)
    if not ors:
        return 360.0
    return max([b - a for a, b in zip(ors, ors[1:])] + [ors[0] + 360 - ors[-1]])
    # END SOLUTION


def echo_ratio(tuning: Tensor, step: float, window: float = 45.0) -> Tensor:
    """The echo of each tuning curve (U, A): the largest response at the orientations within `window` degrees
    of the one opposite the peak (peak index + A / 2, round the circle: int(window // step) samples each
    side), divided by the peak response; 0 for a unit whose peak is 0. -> (U,)"""
    # BEGIN SOLUTION hint: the opposite of sample i is (i + A // 2) % A; gather a window of samples round it
    a = tuning.shape[-1]
    i = tuning.argmax(-1, keepdim=True)  # (U, 1)
    peak = tuning.gather(-1, i).squeeze(-1)
    k = int(window // step)
    opposite = (i + a // 2 + torch.arange(-k, k + 1)) % a  # (U, 2k + 1)
    return tuning.gather(-1, opposite).amax(-1) / peak.clamp_min(1e-12)
    # END SOLUTION


def preferred_orientation(tuning: Tensor, step: float) -> Tensor:
    """Where each tuning curve (U, A) peaks, to better than a step: the circular mean (your `circular_mean`) of
    the peak sample's orientation and its two neighbours' (round the circle), each weighted by how far its
    response exceeds the lowest of the three, plus 1e-12. -> (U,) degrees in [0, 360)"""
    # BEGIN SOLUTION hint: indices (i - 1) % A, i, (i + 1) % A; angles = index * step; weights = value - min + 1e-12
    a = tuning.shape[-1]
    i = tuning.argmax(-1, keepdim=True)
    idx = torch.cat([(i - 1) % a, i, (i + 1) % a], -1)  # (U, 3)
    vals = tuning.gather(-1, idx)
    w = (vals - vals.min(-1, keepdim=True).values).clamp_min(0) + 1e-12
    return circular_mean(idx.float() * step, w)
    # END SOLUTION


def tuning_width(tuning: Tensor, step: float) -> Tensor:
    """Full width at half maximum (degrees) of each tuning curve (U, A). From the peak sample i, walk each way
    round the circle (at most A // 2 samples) to the first sample below half the peak response; the crossing
    lies between it and the sample before, by linear interpolation; the width is the sum of the two sides'
    distances from the peak. 360.0 where a side never drops below half. -> (U,) float32"""
    # BEGIN SOLUTION hint: p >= half > v at j - 1 and j steps out: the crossing is (j - 1 + (p - half) / (p - v)) * step
    a = tuning.shape[-1]
    out = []
    for row in tuning:
        i = int(row.argmax())
        half = float(row[i]) / 2
        width = 0.0
        for direction in (1, -1):
            prev = float(row[i])
            for j in range(1, a // 2 + 1):
                v = float(row[(i + direction * j) % a])
                if v < half:
                    width += step * (j - 1 + (prev - half) / (prev - v))
                    break
                prev = v
            else:
                width = 360.0
                break
        out.append(min(width, 360.0))
    return torch.tensor(out)
    # END SOLUTION


def selectivity(curves: Tensor, lines: Tensor, lengths: list[float]) -> Tensor:
    """How much more each unit answers curves than straight strokes. curves: (U, ...) responses to any arcs;
    lines: (U, polarity, length, position, orientation) responses to straight strokes, where lengths[k] is the
    length of index k on the length axis (0: an endless line; > 0: a segment that long).
    -> (U, 2): [best curve / best endless line, best curve / best segment] (inf where the lines give 0)."""
    # BEGIN SOLUTION hint: flatten(1).amax(1) is each unit's best; pick the length axis (dim 2) with a mask
    best = curves.flatten(1).amax(1)  # (U,)
    endless = torch.tensor([float(x) == 0 for x in lengths])
    line = lines[:, :, endless].flatten(1).amax(1)
    segment = lines[:, :, ~endless].flatten(1).amax(1)
    return torch.stack([best / line, best / segment], 1)
    # END SOLUTION


def orientation_tuning(model: nn.Module, layer: str, units: list[int], orientations: Tensor, radius: float,
                       light: bool = False, size: tuple[int, int] = (64, 64)) -> Tensor:
    """The tuning curves of `units` of `layer`: their responses at the middle of the layer's feature map,
    position (h // 2, w // 2), to arcs of one `radius` and polarity (your `arc_batch`, stroke width 2) centred
    on that position's receptive field (`centre_of(model, layer, size)`), images of `size` (H, W).
    `activations(model, images, [layer])[layer]` is the layer's output (N, C, h, w). -> (len(units), A)"""
    # BEGIN SOLUTION hint: centre_of gives (x, y); the response is act[:, units, h // 2, w // 2], then transpose
    centre = centre_of(model, layer, size)
    images = arc_batch(orientations, torch.tensor([float(radius)]), light=light, size=size, centre=centre)
    act = activations(model, images, [layer])[layer]  # (A, C, h, w)
    h, w = act.shape[-2:]
    return act[:, units, h // 2, w // 2].T.contiguous()
    # END SOLUTION


def top_examples(acts: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k dataset examples that excite a unit most, at most one per scene. acts: (N, h, w), the unit's
    activation map on N scenes. Take each scene's best position (the first, in row-major order, if two tie),
    then the k scenes whose best is largest, largest first.
    -> (values (k,), where (k, 3) int64 rows [scene, row, col])."""
    # BEGIN SOLUTION hint: acts.flatten(1).max(1) gives each scene's best and its flat index; row = index // w
    w = acts.shape[-1]
    best, flat = acts.flatten(1).max(1)  # (N,)
    values, scenes = best.topk(k)
    where = torch.stack([scenes, flat[scenes] // w, flat[scenes] % w], 1)
    return values, where
    # END SOLUTION


def crop_patches(images: Tensor, where: Tensor, stride: int, size: int) -> Tensor:
    """The size x size patch of each example's scene round its unit: images (N, 3, H, W), where (k, 3) rows
    [scene, row, col] of a map with `stride` pixels per unit. Unit (row, col) sits at pixel (y, x) =
    (stride * row + stride // 2, stride * col + stride // 2); the patch's top-left pixel is size // 2 up and
    left of that. Pixels outside the image are grey (0.5). -> (k, 3, size, size)"""
    # BEGIN SOLUTION hint: pad the images by `size` on every side with value 0.5, then slice; rows are y, columns x
    padded = torch.nn.functional.pad(images, (size, size, size, size), value=0.5)
    out = []
    for scene, row, col in where.tolist():
        top = stride * row + stride // 2 - size // 2 + size
        left = stride * col + stride // 2 - size // 2 + size
        out.append(padded[scene, :, top:top + size, left:left + size])
    return torch.stack(out)
    # END SOLUTION


def find_family(curves: Tensor, lines: Tensor, radii: list[float], step: float, floor: float) -> list[int]:
    """The curve detectors among U units: the indices u (ascending) whose responses pass all three tests.

    curves: (U, 2, R, A) responses to arcs (polarity, radius radii[r], orientation a * step); lines: (U, ...)
    responses to every straight line and segment. With `peak` the unit's largest curve response, at polarity
    p, radius r and orientation index i, and `line` its largest line response:
        1. curve:  peak >= floor and peak >= 2 * line;
        2. tuned:  on the tuning curve curves[u, p, r], both the k = int(60 // step) samples after i and the k
                   before i (round the circle) include one below peak / 2;
        3. radii:  at >= 2 radii q, some orientation within int(30 // step) samples of i (either side, round
                   the circle; i itself included) gives curves[u, p, q, ...] >= max(2 * line, floor).
    """
    # BEGIN SOLUTION hint: divmod(int(curves[u].argmax()), R * A) gives p, then divmod(rest, A) gives r and i
    family = []
    n_radii, a = curves.shape[2], curves.shape[3]
    for u in range(len(curves)):
        line = float(lines[u].max())
        p, rest = divmod(int(curves[u].argmax()), n_radii * a)
        r, i = divmod(rest, a)
        peak = float(curves[u, p, r, i])
        if peak < floor or peak < 2 * line:
            continue
        tuning = curves[u, p, r]
        k = int(60 // step)
        right = tuning[[(i + j) % a for j in range(1, k + 1)]].min()
        left = tuning[[(i - j) % a for j in range(1, k + 1)]].min()
        if not (right < peak / 2 and left < peak / 2):
            continue
        near = [(i + j) % a for j in range(-int(30 // step), int(30 // step) + 1)]
        held = [q for q in range(n_radii) if float(curves[u, p, q, near].max()) >= max(2 * line, floor)]
        if len(held) >= 2:
            family.append(u)
    return family
    # END SOLUTION
