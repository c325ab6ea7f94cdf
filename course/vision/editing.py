"""Editing a circuit's weights, always on a copy: the model you were given stays as it was.

The Curve Circuits article (Cammarata et al., Distill 2021) edits InceptionV1's weights to test what its
reading of them predicts: remove the negative weights from the early curve family into the later one and
the later curve detectors' *echoes* (a weaker response to the opposite orientation) come back. Editing in
place would change the model every other part of a program (or every other session of an app) is using,
so every function here returns an edited deep copy, in eval mode, and leaves its argument untouched.

    edit(model, layer, fn)                       a copy whose `layer` conv weight is fn(weight, bias) (in place on
                                                 the copy's tensors)
    drop_negative(model, "conv4", units, src)    the copy with every negative weight from channels `src` (default:
                                                 all) of the layer below into `units` set to 0
    substitute(model, "conv4", units, kernels, biases)  the copy with `units` rebuilt from the given kernels
                                                 (U, C_in, kh, kw) and biases (U,): a hand-built unit in the network
    same_weights(a, b)                           True if two models have identical parameters and buffers
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from course.errors import UsageError
from course.vision.circuits import conv_of


def edit(model: nn.Module, layer: str, fn: Callable[[Tensor, Tensor | None], None]) -> nn.Module:
    """A deep copy of `model` (eval mode) after `fn(weight, bias)` has changed the copy's `layer` conv in place."""
    edited = copy.deepcopy(model).eval()
    conv = conv_of(edited, layer)
    with torch.no_grad():
        fn(conv.weight, conv.bias)
    return edited


def _indices(values: Sequence[int] | None, n: int, what: str) -> Tensor:
    idx = torch.arange(n) if values is None else torch.as_tensor(list(values), dtype=torch.long)
    if idx.numel() and (idx.min() < 0 or idx.max() >= n):
        raise UsageError(f"{what} must be between 0 and {n - 1}; got {idx.tolist()}")
    return idx


def drop_negative(model: nn.Module, layer: str, units: Sequence[int], sources: Sequence[int] | None = None) -> nn.Module:
    """A copy of `model` in which every negative weight from input channels `sources` (None: all of them) into
    output channels `units` of `layer` is 0. Positive weights, biases and every other unit stay as they were."""
    conv = conv_of(model, layer)
    out = _indices(units, conv.out_channels, "units")
    src = _indices(sources, conv.in_channels, "sources")

    def fn(weight: Tensor, bias: Tensor | None) -> None:
        block = weight[out[:, None], src[None, :]]  # (U, S, kh, kw)
        weight[out[:, None], src[None, :]] = block.clamp(min=0)

    return edit(model, layer, fn)


def substitute(model: nn.Module, layer: str, units: Sequence[int], kernels: Tensor, biases: Tensor) -> nn.Module:
    """A copy of `model` whose units `units` of `layer` have the given kernels (U, C_in, kh, kw) and biases (U,)."""
    conv = conv_of(model, layer)
    out = _indices(units, conv.out_channels, "units")
    want = (len(out), *conv.weight.shape[1:])
    if tuple(kernels.shape) != want or tuple(biases.shape) != (len(out),):
        raise UsageError(f"{layer} needs kernels of shape {want} and biases of shape ({len(out)},) for "
                         f"{len(out)} units; got {tuple(kernels.shape)} and {tuple(biases.shape)}")

    def fn(weight: Tensor, bias: Tensor | None) -> None:
        weight[out] = kernels.to(weight)
        if bias is not None:
            bias[out] = biases.to(bias)

    return edit(model, layer, fn)


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Whether two models hold exactly the same tensors (names, shapes and values)."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape and torch.equal(sa[k], sb[k]) for k in sa)
