# Exercises for lesson 03: Texture and high-low frequency detectors. Fill in each `raise NotImplementedError`, then run `course check 03`.
# (Generated from solutions.py by `course sync`; edit your own copy, made by `course start 03`.)
"""Lesson 03: texture and high-low frequency detectors. Your exercises: fill in each `raise NotImplementedError`.

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
    # Hint: x = arange(W) + 0.5 - W / 2, likewise y; mind that y points down and angles are degrees
    raise NotImplementedError("grating: your code here")


def frequency_tuning(responses: Tensor) -> Tensor:
    """Grating responses (units, frequencies, orientations, phases) -> tuning curves (units, frequencies):
    the mean over phase, then the best orientation at each frequency."""
    raise NotImplementedError("frequency_tuning: your code here")


def preferred_frequency(curve: Tensor, frequencies: Tensor) -> Tensor:
    """Tuning curves (units, F) and their frequencies (F,) -> preferred frequency per unit (units,).

    With w = max(r - peak / 2, 0) (peak: the unit's largest response), the weighted geometric mean
    exp(sum w log f / sum w). NaN for a unit whose curve is all zero.
    """
    # Hint: weights w per unit, then a weighted mean of log(frequencies), then exp
    raise NotImplementedError("preferred_frequency: your code here")


def boundary(fine: Tensor, coarse: Tensor, orientation: float, position: float = 0.0) -> Tensor:
    """A straight boundary between two textures (H, W): `fine` on the side `orientation` points into.

    side = clamp(x cos t - y sin t - position + 0.5, 0, 1) (1 on the fine side, a one-pixel ramp across the
    line, which `position` moves along the orientation); the result is side * fine + (1 - side) * coarse.
    """
    # Hint: the same (x, y) grid as grating; the ramp is clamp(distance + 0.5, 0, 1)
    raise NotImplementedError("boundary: your code here")


def boundary_tuning(model: nn.Module, layer: str, unit: int, orientations: Tensor, seeds: Tensor,
                    centre: tuple[float, float], size: int = 64, high: float = 0.25, low: float = 0.03) -> Tensor:
    """(len(orientations),): the unit's response to `stimuli.high_low` boundaries at each orientation, averaged
    over the texture seeds. Stimuli are size x size, centred on `centre` (the unit's receptive field); the unit
    is read at the middle of the layer's feature map, (h // 2, w // 2)."""
    # Hint: one batch of len(orientations) * len(seeds) images; activations(model, x, [layer])
    raise NotImplementedError("boundary_tuning: your code here")


def response_map(model: nn.Module, layer: str, unit: int, image: Tensor) -> Tensor:
    """Where `layer:unit` fires in `image` (3, H, W): its feature map (h, w), each value repeated over its
    (H / h) x (W / w) cell so that the map is (H, W) and lies over the image."""
    # Hint: run the model on image[None]; repeat_interleave along both axes
    raise NotImplementedError("response_map: your code here")


def expanded_weights(weights: list[Tensor], strides: list[int]) -> Tensor:
    """The expanded weight of a stack of convs with no biases and no ReLUs, first layer first.

    weights[i]: (out_i, in_i, kh_i, kw_i), with in_{i+1} == out_i; strides[i]: layer i's stride (both axes).
    Returns the single kernel (out_last, in_first, KH, KW) the stack is equal to, away from the borders.
    """
    # Hint: compose two layers at a time, last first: F.conv_transpose2d(later, earlier, stride=...)
    raise NotImplementedError("expanded_weights: your code here")


def nmf(X: Tensor, k: int, iters: int = 300, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Non-negative X (m, n) ~ W (m, k) @ H (k, n), both non-negative, by Lee and Seung's multiplicative updates
    from a random positive start (a torch.Generator seeded with `seed`). Returns (W, H)."""
    # Hint: H *= (W.T @ X) / (W.T @ W @ H + eps), then W *= (X @ H.T) / (W @ H @ H.T + eps)
    raise NotImplementedError("nmf: your code here")


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
    # Hint: average over seeds first; "180 degrees away" is index (best + A // 2) % A
    raise NotImplementedError("classify_units: your code here")
