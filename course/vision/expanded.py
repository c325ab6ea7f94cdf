"""Expanded weights: the linear path from a unit back to an earlier layer, with every ReLU taken as the identity.

Between two adjacent conv layers the "connection" from channel c to unit u is simply the weight `W[u, c]`, a
small spatial kernel. Between layers further apart the network is not linear, but we can *linearise* it: drop
the biases and pretend every ReLU in between is the identity. What is left is a stack of convolutions, and a
stack of convolutions is one convolution, whose kernel is the **expanded weight**: how strongly, and where,
each channel of the early layer would push the unit if the layers in between simply passed it on (Olah et al.,
"Visualizing Weights", Distill 2021; the High-Low Frequency Detectors article factorises these).

Two ways to compute it, which must agree exactly (`tests/vision/test_expanded.py` checks it on random stacks):

    compose(weights, strides)          compose the kernels: each earlier layer's kernel is "painted" into the
                                       later kernel with `conv_transpose2d` at the later layer's input stride.
                                       The composite of layers k1/s1 and k2/s2 has size k1 + (k2 - 1) * s1 and
                                       stride s1 * s2. Padding does not change it (it only adds zeros at the
                                       image's border), so an interior unit sees exactly this kernel.
    by_autograd(convs, ...)            run the linearised stack on a zero input with `requires_grad`, take the
                                       gradient of one interior output unit, and cut out its receptive field.

    expanded_weights(model, "conv2", "conv4")   SceneNet (or any model whose convs are named modules): the
                                       expanded weights (C_conv4, C_conv2, K, K) from conv4's units back to conv2's
                                       output, through conv3 with its ReLU taken as the identity.
    receptive_field(kernels, strides)  (size, stride) of the composite, in input pixels of the first conv.
    to_pixels(model, kernel)           folds SceneNet's input normalisation in, when expanding down to the image.

Shapes follow `nn.Conv2d`: weights are (out, in, kh, kw); the result of `compose` is (C_last_out, C_first_in,
KH, KW). Kernels may be rectangular and strides may be per-axis pairs. Lesson 04 reuses this module for the
connections between several layers (curve circuits).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course.errors import CourseError

Pair = int | tuple[int, int]


def _pair(v: Pair) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def receptive_field(kernels: Sequence[Pair], strides: Sequence[Pair]) -> tuple[tuple[int, int], tuple[int, int]]:
    """((KH, KW), (SH, SW)): size and stride of the composite of convs with these kernel sizes and strides."""
    size, jump = [1, 1], [1, 1]
    for k, s in zip(kernels, strides):
        k, s = _pair(k), _pair(s)
        for a in range(2):
            size[a] += (k[a] - 1) * jump[a]
            jump[a] *= s[a]
    return (size[0], size[1]), (jump[0], jump[1])


def compose(weights: Sequence[torch.Tensor], strides: Sequence[Pair]) -> torch.Tensor:
    """The expanded weight of a stack of convs (first to last): (C_out_last, C_in_first, KH, KW).

    `weights[i]` is layer i's kernel (out_i, in_i, kh_i, kw_i) with in_{i+1} == out_i; `strides[i]` its stride.
    Start from the last kernel and, walking down, replace each of its taps by the earlier layer's kernel placed
    `stride` input pixels apart: exactly `conv_transpose2d(later, earlier, stride=earlier_stride)`, with the
    later kernel's output channels as the batch. The last layer's own stride does not enter the kernel.
    """
    if len(weights) != len(strides) or not weights:
        raise CourseError(f"need one stride per weight and at least one weight; got {len(weights)} weights and "
                         f"{len(strides)} strides")
    for i in range(1, len(weights)):
        if weights[i].shape[1] != weights[i - 1].shape[0]:
            raise CourseError(f"layer {i} takes {weights[i].shape[1]} channels but layer {i - 1} makes "
                             f"{weights[i - 1].shape[0]}")
    kernel = weights[-1]  # (C_out, C_mid, k, k): "an image" per output channel, with C_mid channels
    for w, s in zip(reversed(weights[:-1]), reversed(list(strides[:-1]))):
        kernel = F.conv_transpose2d(kernel, w.to(kernel.dtype), stride=_pair(s))  # (C_out, w's in, K', K')
    return kernel


def linear_stack(convs: Sequence[nn.Conv2d], x: torch.Tensor) -> torch.Tensor:
    """The convs applied in order without biases or nonlinearities (the linearised network), to x (N, C, H, W)."""
    for c in convs:
        x = F.conv2d(x, c.weight.to(x.dtype), None, c.stride, c.padding, c.dilation, c.groups)
    return x


def by_autograd(convs: Sequence[nn.Conv2d], dtype=torch.float64) -> torch.Tensor:
    """The expanded weight computed by autograd through the linearised stack (an oracle for `compose`).

    Builds an input big enough that one output unit sees no padding, takes d(output[c, i, j]) / d(input) for
    every output channel c, and cuts out the receptive field. -> (C_out_last, C_in_first, KH, KW)
    """
    for c in convs:
        if c.dilation != (1, 1) or c.groups != 1:
            raise CourseError("by_autograd covers plain convs (dilation 1, groups 1), like compose")
    (kh, kw), (sh, sw) = receptive_field([c.kernel_size for c in convs], [c.stride for c in convs])
    # padding of the whole stack, in first-layer input pixels: sum of each layer's padding times its input jump
    pad, jump = [0, 0], [1, 1]
    for c in convs:
        for a in range(2):
            pad[a] += c.padding[a] * jump[a]
            jump[a] *= c.stride[a]
    i, j = 2, 2  # an interior output position: its window starts at i * stride - pad >= 0 when i is big enough
    i, j = max(i, -(-pad[0] // sh) + 1), max(j, -(-pad[1] // sw) + 1)
    top, left = i * sh - pad[0], j * sw - pad[1]
    h, w = top + kh + 2 * sh + pad[0], left + kw + 2 * sw + pad[1]
    c_in, c_out = convs[0].in_channels, convs[-1].out_channels
    x = torch.zeros(c_out, c_in, h, w, dtype=dtype, requires_grad=True)  # one copy of the input per output channel
    out = linear_stack(convs, x)  # (c_out, c_out, h', w')
    out[torch.arange(c_out), torch.arange(c_out), i, j].sum().backward()
    return x.grad[:, :, top:top + kh, left:left + kw].detach()


def convs_between(model: nn.Module, start: str | None, end: str) -> list[nn.Conv2d]:
    """The conv modules of `model` from just after layer `start` (None: the input) up to and including `end`.

    Layers are the model's `layers` (SceneNet: conv1..conv5) and each layer's first `nn.Conv2d`.
    """
    layers = list(getattr(model, "layers", []))
    if end not in layers or (start is not None and start not in layers):
        raise CourseError(f"layers must be among {layers}; got start={start!r}, end={end!r}")
    first = 0 if start is None else layers.index(start) + 1
    last = layers.index(end)
    if first > last:
        raise CourseError(f"{end!r} must come after {start!r}")
    modules = dict(model.named_modules())
    return [next(m for m in modules[name].modules() if isinstance(m, nn.Conv2d)) for name in layers[first:last + 1]]


def expanded_weights(model: nn.Module, start: str | None, end: str, dtype=torch.float32) -> torch.Tensor:
    """Expanded weights from layer `end`'s units back to layer `start`'s output (None: the normalised input).

    (C_end, C_start, K, K). One layer apart this is just `end`'s conv weight.
    """
    convs = convs_between(model, start, end)
    with torch.no_grad():
        return compose([c.weight.detach().to(dtype) for c in convs], [c.stride for c in convs])


def to_pixels(model: nn.Module, kernel: torch.Tensor) -> torch.Tensor:
    """A kernel on SceneNet's normalised input (x - mean) / std, as weights on raw [0, 1] pixels: divide by std."""
    std = getattr(model, "std", None)
    if std is None:
        return kernel
    return kernel / std.view(1, -1, 1, 1).to(kernel)


def split_signs(kernel: torch.Tensor) -> torch.Tensor:
    """(..., C, K, K) signed -> (2, ..., C, K, K) non-negative: the excitatory part, then the inhibitory part.

    The circuits papers treat positive and negative influence separately; NMF needs non-negative data.
    """
    return torch.stack([kernel.clamp(min=0), (-kernel).clamp(min=0)])
