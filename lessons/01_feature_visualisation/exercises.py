# Exercises for lesson 01: Feature visualisation. Fill in each `raise NotImplementedError`, then run `course check 01`.
# (Generated from solutions.py by `course sync`; edit your own copy, made by `course start 01`.)
"""Lesson 01: feature visualisation. Your exercises: fill in each `raise NotImplementedError`.

Exercises, easiest first (points in brackets; `course check 01` grades them):

    1. pixel_image         the pixel parameterisation: raw numbers -> an image in [0, 1]            [1]
    2. fft_image           the FFT parameterisation with a 1/f spectrum (lucent's fft_image)        [2]
    3. to_valid_rgb        decorrelated colour, then the sigmoid                                    [2]
    4. jitter              shift images by whole pixels, zeros where nothing comes in               [1]
    5. scale_rotate        zoom and turn images about their centre                                  [2]
    6. channel_objective   a unit's mean activation, read by a hook that is removed after           [1]
    7. diversity           lucent's diversity term: how alike a batch's Gram matrices are           [2]
    8. visualise           the whole optimisation loop (graded by the activation it reaches)        [3]
    9. fool                a model whose unit's visualisation shows a decoy, outputs unchanged      [3]

Images are (batch, 3, height, width) float tensors; the models take RGB in [0, 1] (they normalise inside).
Load the lesson's model with `course.zoo.load("scenenet")`: conv1..conv5, each conv + ReLU.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course.vision.surgery import widen

# Lucid's colour correlation (the square root of the ImageNet colour covariance, from its SVD): column j is how
# much decorrelated channel j adds to R, G and B. lucent divides it by its largest column norm.
COLOR_CORRELATION_SVD_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                                           [0.27, 0.00, -0.05],
                                           [0.27, -0.09, 0.03]])


# ------------------------------------------------------------------------------------------ parameterisations


def pixel_image(raw: Tensor) -> Tensor:
    """The pixel parameterisation: the parameters ARE the pixels, squashed into (0, 1) by a sigmoid.

    raw: (B, 3, H, W) unconstrained numbers -> (B, 3, H, W) in (0, 1). (Clamping instead would stop the
    gradient of every pixel that leaves [0, 1].)
    """
    raise NotImplementedError("pixel_image: your code here")


def fft_image(spectrum: Tensor, height: int, width: int, decay_power: float = 1.0) -> Tensor:
    """lucent's FFT parameterisation: an image whose Fourier coefficients are the parameters, scaled by 1/f.

    spectrum: (B, C, height, width // 2 + 1, 2), the real and imaginary parts of a half spectrum (the layout of
    torch.fft.rfft2). Each coefficient is multiplied by 1 / max(f, 1 / max(height, width)) ** decay_power, where
    f = sqrt(fy^2 + fx^2) is its frequency in cycles per pixel (fy from torch.fft.fftfreq(height), fx from
    torch.fft.rfftfreq(width)); then the inverse real FFT with norm="ortho" gives (B, C, height, width), which
    is divided by 4 (Lucid's "magic" constant). Returns that, before any colour transform or sigmoid.
    """
    # Hint: f from fftfreq(height)[:, None] and rfftfreq(width)[None, :]; view_as_complex, irfft2 "ortho"
    raise NotImplementedError("fft_image: your code here")


def to_valid_rgb(image: Tensor, decorrelate: bool = True) -> Tensor:
    """lucent's `to_valid_rgb`: optionally decorrelate colour, then a sigmoid into (0, 1).

    Decorrelating multiplies every pixel's 3 channels by M = COLOR_CORRELATION_SVD_SQRT / (its largest column
    norm): out[b, :, y, x] = M @ image[b, :, y, x]. image: (B, 3, H, W) -> (B, 3, H, W).
    """
    # Hint: M = C / C.norm(dim=0).max(); torch.einsum("ij,bjhw->bihw", M, image)
    raise NotImplementedError("to_valid_rgb: your code here")


# ------------------------------------------------------------------------------------------ transforms


def jitter(images: Tensor, dx: int, dy: int) -> Tensor:
    """Shift images dx pixels right and dy pixels down (either may be negative), keeping their size; pixels
    that come in from outside are 0 (what lucent's jitter does with whole-pixel shifts). (B, C, H, W)."""
    # Hint: pad with zeros on every side by the largest shift, then crop the window that moved
    raise NotImplementedError("jitter: your code here")


def scale_rotate(images: Tensor, scale: float, angle: float) -> Tensor:
    """Zoom images by `scale` and turn them `angle` degrees counter-clockwise (as displayed, y pointing down)
    about their centre, keeping their size; bilinear, 0 outside. (B, C, H, W) -> (B, C, H, W).

    Output pixel (x, y) comes from the input at c + R(-angle) (p - c) / scale, where p = (x, y) and
    c = ((W - 1) / 2, (H - 1) / 2). Use F.affine_grid and F.grid_sample with align_corners=True (where
    normalised coordinates are x_n = 2 x / (W - 1) - 1 and y_n = 2 y / (H - 1) - 1): theta maps output to
    input in those coordinates, so mind the aspect ratio of non-square images.
    """
    # Hint: output (u, v) from c samples ((cos u - sin v) / s, (sin u + cos v) / s); then divide by a, b
    raise NotImplementedError("scale_rotate: your code here")


# ------------------------------------------------------------------------------------------ objectives


def channel_objective(model: nn.Module, layer: str, unit: int, images: Tensor) -> Tensor:
    """(B,): the mean over positions of channel `unit` of `layer`'s output, for each image, read by a forward
    hook on the module called `layer` (e.g. "conv4"). The hook must be gone when the function returns, even if
    the model raises. Keep the graph (no torch.no_grad): the optimisation loop differentiates it."""
    # Hint: handle = module.register_forward_hook(fn); try: model(images) ... finally: handle.remove()
    raise NotImplementedError("channel_objective: your code here")


def diversity(activations: Tensor) -> Tensor:
    """lucent's diversity objective for a batch of B activations (B, C, H, W) -> 0-d tensor.

    Each image's Gram matrix G_b = A_b A_b^T (A_b: its activations as C x (H W)) is scaled to unit Frobenius
    norm; the result is minus the sum over pairs i != j of <G_i, G_j> (the elementwise product, summed), divided
    by B. Adding weight * diversity to a loss that is minimised pushes the images apart.
    """
    # Hint: flat = activations.flatten(2); grams = flat @ flat.transpose(1, 2); unit norm per image
    raise NotImplementedError("diversity: your code here")


# ------------------------------------------------------------------------------------------ the loop


def visualise(model: nn.Module, layer: str, unit: int, steps: int = 64, size: int = 48, lr: float = 0.05) -> Tensor:
    """A feature visualisation of `layer:unit`: (3, size, size) in [0, 1].

    Use your pieces: a spectrum (1, 3, size, size // 2 + 1, 2) of torch.randn * 0.01 with requires_grad, made
    into an image by fft_image and to_valid_rgb; each of `steps` Adam steps (lr `lr`) transforms the image as
    lucent's standard transforms do (pad 12 px with 0.5, jitter up to 8 px, scale 0.9-1.1, rotate -10..10
    degrees, jitter up to 4 px; draw the random numbers with torch, e.g. torch.randint), reads the unit with
    channel_objective and MAXIMISES it. Return the final untransformed image, detached.
    """
    # Hint: Adam minimises, so the loss is minus the objective; call opt.zero_grad() every step
    raise NotImplementedError("visualise: your code here")


# ------------------------------------------------------------------------------------------ don't trust it


def fool(model: nn.Module, unit: int, decoy: int, gain: float = 10.0) -> nn.Module:
    """An edited SceneNet whose conv4 unit `unit` is visualised as conv3 unit `decoy`, while its outputs (the
    per-cell class scores) stay exactly what `model` gives on every input.

    Start from `widen(model, (0, 0, 0, 1, 0))` (conv4 gets one extra unit, index n = 128, wired to nothing):
      1. make the new unit n an exact copy of `unit` (its conv4 weights and bias);
      2. let conv5 read the copy instead of `unit`: move conv5's input weights for `unit` to n, zero them for `unit`;
      3. give `unit` a strong extra input from the decoy: add `gain` to its conv4 weights from conv3 unit
         `decoy` (all 3 x 3 taps).
    Nothing downstream reads `unit` any more, so the network computes what it did; but "conv4:unit" now fires
    for, and is visualised as, the decoy's pattern. Don't change `model`.
    """
    # Hint: edit wide = widen(model, ...) under torch.no_grad(); wide.convN.conv.weight is (out, in, k, k)
    raise NotImplementedError("fool: your code here")
