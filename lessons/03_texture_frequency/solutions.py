"""Lesson 03: texture and high-low frequency detectors. Reference solutions.

Exercises, easiest first (points in brackets; `course check 03` grades them):

    1. grating                a sinusoidal grating, in the course's coordinates                        [1]
    2. frequency_tuning       grating responses -> a frequency tuning curve per unit                  [1]
    3. preferred_frequency    the geometric centroid of the tuning curve above half its peak         [2]
    4. boundary               a fine|coarse boundary: two textures blended along a straight line      [2]
    5. boundary_tuning        a unit's response to boundaries turned round the circle                 [2]
    6. response_map           where a unit fires in an image, at the image's resolution               [2]
    7. expanded_weights       the linear path through a stack of convs, as one kernel                 [3]
    8. nmf                    non-negative matrix factorisation by multiplicative updates             [3]
    9. classify_units         high-low, texture or neither, from a unit's responses (two checks)      [3]

Conventions (those of `course.vision.stimuli`): pixel (row i, column j) has its centre at x = j + 0.5,
y = i + 0.5, measured from the image centre, with y pointing *down*; an orientation is in degrees
counter-clockwise from +x as you look at the picture, the direction (cos t, -sin t) in (x, y) coordinates;
frequencies are in cycles per pixel. You may use `course.vision.stimuli`, `course.vision.probe` and
`course.vision.models`; `course.vision.frequency`, `.expanded`, `.nmf`, `.highlow` and `.census` are off
limits while your work is graded.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course.vision import stimuli
from course.vision.probe import activations


def grating(size: tuple[int, int], frequency: float, orientation: float, phase: float = 0.0) -> Tensor:
    """A grating (H, W) with values in [-1, 1]: cos(2 pi f (x cos t - y sin t) + phase).

    size = (H, W); frequency in cycles per pixel; orientation t and phase in degrees; (x, y) is each pixel's
    centre relative to the image centre, y pointing down. The stripes run across `orientation`.
    """
    # BEGIN SOLUTION hint: x = arange(W) + 0.5 - W / 2, likewise y; mind that y points down and angles are degrees
    H, W = size
    y = torch.arange(H, dtype=torch.float32) + 0.5 - H / 2
    x = torch.arange(W, dtype=torch.float32) + 0.5 - W / 2
    t = math.radians(orientation)
    along = x[None, :] * math.cos(t) - y[:, None] * math.sin(t)  # (H, W)
    return torch.cos(2 * math.pi * frequency * along + math.radians(phase))
    # END SOLUTION


def frequency_tuning(responses: Tensor) -> Tensor:
    """Grating responses (units, frequencies, orientations, phases) -> tuning curves (units, frequencies):
    the mean over phase, then the best orientation at each frequency."""
    # BEGIN SOLUTION
    return responses.mean(dim=3).amax(dim=2)
    # END SOLUTION


def preferred_frequency(curve: Tensor, frequencies: Tensor) -> Tensor:
    """Tuning curves (units, F) and their frequencies (F,) -> preferred frequency per unit (units,).

    With w = max(r - peak / 2, 0) (peak: the unit's largest response), the weighted geometric mean
    exp(sum w log f / sum w). NaN for a unit whose curve is all zero.
    """
    # BEGIN SOLUTION hint: weights w per unit, then a weighted mean of log(frequencies), then exp
    peak = curve.amax(dim=1, keepdim=True)
    w = (curve - peak / 2).clamp(min=0)
    centroid = (w * frequencies.log()).sum(dim=1) / w.sum(dim=1)
    return torch.where(peak[:, 0] > 0, centroid.exp(), torch.full_like(centroid, float("nan")))
    # END SOLUTION


def boundary(fine: Tensor, coarse: Tensor, orientation: float, position: float = 0.0) -> Tensor:
    """A straight boundary between two textures (H, W): `fine` on the side `orientation` points into.

    side = clamp(x cos t - y sin t - position + 0.5, 0, 1) (1 on the fine side, a one-pixel ramp across the
    line, which `position` moves along the orientation); the result is side * fine + (1 - side) * coarse.
    """
    # BEGIN SOLUTION hint: the same (x, y) grid as grating; the ramp is clamp(distance + 0.5, 0, 1)
    H, W = fine.shape
    y = torch.arange(H, dtype=fine.dtype) + 0.5 - H / 2
    x = torch.arange(W, dtype=fine.dtype) + 0.5 - W / 2
    t = math.radians(orientation)
    along = x[None, :] * math.cos(t) - y[:, None] * math.sin(t)
    side = (along - position + 0.5).clamp(0, 1)
    return side * fine + (1 - side) * coarse
    # END SOLUTION


def boundary_tuning(model: nn.Module, layer: str, unit: int, orientations: Tensor, seeds: Tensor,
                    centre: tuple[float, float], size: int = 64, high: float = 0.25, low: float = 0.03) -> Tensor:
    """(len(orientations),): the unit's response to `stimuli.high_low` boundaries at each orientation, averaged
    over the texture seeds. Stimuli are size x size, centred on `centre` (the unit's receptive field); the unit
    is read at the middle of the layer's feature map, (h // 2, w // 2)."""
    # BEGIN SOLUTION hint: one batch of len(orientations) * len(seeds) images; activations(model, x, [layer])
    a, s = len(orientations), len(seeds)
    images = stimuli.high_low(orientations.repeat_interleave(s), high=high, low=low, seed=seeds.repeat(a),
                              size=size, centre=centre)
    act = activations(model, images, [layer])[layer]  # (a * s, C, h, w)
    h, w = act.shape[-2:]
    return act[:, unit, h // 2, w // 2].reshape(a, s).mean(dim=1)
    # END SOLUTION


def response_map(model: nn.Module, layer: str, unit: int, image: Tensor) -> Tensor:
    """Where `layer:unit` fires in `image` (3, H, W): its feature map (h, w), each value repeated over its
    (H / h) x (W / w) cell so that the map is (H, W) and lies over the image."""
    # BEGIN SOLUTION hint: run the model on image[None]; repeat_interleave along both axes
    act = activations(model, image[None], [layer])[layer][0, unit]  # (h, w)
    H, W = image.shape[-2:]
    return act.repeat_interleave(H // act.shape[0], dim=0).repeat_interleave(W // act.shape[1], dim=1)
    # END SOLUTION


def expanded_weights(weights: list[Tensor], strides: list[int]) -> Tensor:
    """The expanded weight of a stack of convs with no biases and no ReLUs, first layer first.

    weights[i]: (out_i, in_i, kh_i, kw_i), with in_{i+1} == out_i; strides[i]: layer i's stride (both axes).
    Returns the single kernel (out_last, in_first, KH, KW) the stack is equal to, away from the borders.
    """
    # BEGIN SOLUTION hint: compose two layers at a time, last first: F.conv_transpose2d(later, earlier, stride=...)
    kernel = weights[-1]
    for w, s in zip(reversed(weights[:-1]), reversed(strides[:-1])):
        kernel = F.conv_transpose2d(kernel, w, stride=s)
    return kernel
    # END SOLUTION


def nmf(X: Tensor, k: int, iters: int = 300, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Non-negative X (m, n) ~ W (m, k) @ H (k, n), both non-negative, by Lee and Seung's multiplicative updates
    from a random positive start (a torch.Generator seeded with `seed`). Returns (W, H)."""
    # BEGIN SOLUTION hint: H *= (W.T @ X) / (W.T @ W @ H + eps), then W *= (X @ H.T) / (W @ H @ H.T + eps)
    g = torch.Generator().manual_seed(seed)
    m, n = X.shape
    scale = (X.mean() / k).sqrt()
    W = torch.rand(m, k, generator=g, dtype=X.dtype) * scale
    H = torch.rand(k, n, generator=g, dtype=X.dtype) * scale
    for _ in range(iters):
        H = H * (W.T @ X) / (W.T @ W @ H + 1e-12)
        W = W * (X @ H.T) / (W @ H @ H.T + 1e-12)
    return W, H
    # END SOLUTION


def classify_units(boundary: Tensor, fine: Tensor, coarse: Tensor, blank: Tensor, floor: float = 0.0,
                   ratio: float = 2.0) -> list[str]:
    """Each unit's kind, "high-low", "texture" or "neither", from its responses:

    boundary (U, A, S) to fine|coarse boundaries at A orientations evenly round the circle and S seeds;
    fine, coarse (U, S) to uniform fine and coarse texture; blank (U,) to a blank grey image.

        high-low  the seed-averaged boundary tuning peaks at some orientation with peak > 0, peak >= floor and
                  peak >= ratio * each of: mean fine, mean coarse, and the tuning 180 degrees from the peak
        texture   not high-low, and the larger of mean fine and mean coarse (> 0, >= floor) is >= ratio * the
                  smaller and >= ratio * blank
        neither   otherwise
    """
    # BEGIN SOLUTION hint: average over seeds first; "180 degrees away" is index (best + A // 2) % A
    b = boundary.mean(dim=2)  # (U, A)
    a = b.shape[1]
    best = b.argmax(dim=1)
    peak = b.gather(1, best[:, None])[:, 0]
    flipped = b.gather(1, ((best + a // 2) % a)[:, None])[:, 0]
    f, c = fine.mean(dim=1), coarse.mean(dim=1)
    rival = torch.stack([f, c, flipped]).amax(dim=0)
    high_low = (peak > 0) & (peak >= floor) & (peak >= ratio * rival)
    top, other = torch.maximum(f, c), torch.minimum(f, c)
    texture = (top > 0) & (top >= floor) & (top >= ratio * other) & (top >= ratio * blank)
    return ["high-low" if h else "texture" if t else "neither" for h, t in zip(high_low.tolist(), texture.tolist())]
    # END SOLUTION
