"""Sanity checks for attribution maps (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

A map that explains the *model* must change when the model does. The model-parameter randomisation test
re-initialises the layers one after another, cascading from the top (the classifier) down to the first
layer, recomputes the map after each step and measures how similar it still is to the original with the
Spearman rank correlation. A method whose maps barely move (the paper's Guided Backprop) describes the image,
an edge detector in disguise, not what the network computes.

    rank(v)                         ranks 1..n, ties get their average rank (as scipy.stats.rankdata)
    spearman(a, b)                  rank correlation of two maps, one per example
    randomised(model, layers, seed) a copy with those layers' parameters re-initialised
    cascade(model, x, target, fn)   the cascade: maps and correlations after each step

The paper also compares with and without absolute values; `absolute=True` ranks |map|, as its figures do.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

from course.attribution import Target, to_map
from course.errors import UsageError


def rank(v: Tensor) -> Tensor:
    """(n,) -> (n,) float64 ranks from 1, tied values sharing the mean of the ranks they span."""
    v = v.flatten()
    order = v.argsort()
    _, inverse, counts = torch.unique_consecutive(v[order], return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()  # rank of each group's last member
    mean_rank = ends - (counts.double() - 1) / 2
    ranks = torch.empty(len(v), dtype=torch.float64, device=v.device)
    ranks[order] = mean_rank[inverse]
    return ranks


def pearson(a: Tensor, b: Tensor) -> float:
    """Pearson correlation of two flattened tensors (0 when either is constant)."""
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    denom = (a.norm() * b.norm()).item()
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def spearman(a: Tensor, b: Tensor, region: Tensor | None = None) -> Tensor:
    """Spearman rank correlation per example: a, b (N, ...) -> (N,) float64 (a 1-D pair gives a 0-d tensor).

    The Pearson correlation of the ranks, ties averaged: what scipy.stats.spearmanr computes. `region`, a
    boolean mask like a (or like one example), keeps only those positions (e.g. the receptive field)."""
    if a.shape != b.shape:
        raise UsageError(f"the maps must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dim() <= 1:
        keep = torch.ones_like(a, dtype=torch.bool) if region is None else region.bool()
        return torch.tensor(pearson(rank(a[keep]), rank(b[keep])), dtype=torch.float64)
    keep = torch.ones_like(a, dtype=torch.bool) if region is None else region.bool().expand_as(a)
    return torch.tensor([pearson(rank(p[k]), rank(q[k])) for p, q, k in zip(a, b, keep)], dtype=torch.float64)


def top_down(model: nn.Module) -> list[str]:
    """Names of the modules that own parameters directly (convolutions, linear layers), last first."""
    names = [name for name, m in model.named_modules() if name and any(True for _ in m.parameters(recurse=False))]
    # a layer like scenenet's conv1 (a Sequential of conv + ReLU) is named by its parent
    parents = [n.rsplit(".", 1)[0] if "." in n else n for n in names]
    return list(reversed(list(dict.fromkeys(parents))))


def randomised(model: nn.Module, layers: list[str], seed: int = 0) -> nn.Module:
    """A deep copy of `model` with every parameter under `layers` re-drawn from its layer's default initialiser
    (`reset_parameters`), deterministically from `seed`. The original is untouched."""
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise UsageError(f"no layers named {missing}; this model's layers, top first: {top_down(model)}")
    with torch.random.fork_rng(devices=[]):
        for i, name in enumerate(layers):
            torch.manual_seed(seed * 1000 + i)
            for sub in modules[name].modules():
                if hasattr(sub, "reset_parameters") and any(True for _ in sub.parameters(recurse=False)):
                    sub.reset_parameters()
    return clone


@dataclass
class Cascade:
    """The cascade's maps and rank correlations: step 0 is the trained model, step k has the top k layers
    re-initialised (`steps[k]` names the last one randomised)."""

    steps: list[str]
    maps: Tensor  # (len(steps), N, H, W) channel-summed attribution maps
    correlation: Tensor  # (len(steps), N): Spearman rank correlation with step 0 (1 at step 0)
    absolute: bool = True
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        rho = ", ".join(f"{s} {r:.2f}" for s, r in zip(self.steps, self.correlation.mean(1).tolist()))
        return f"Cascade({rho})"


def cascade(model: nn.Module, x: Tensor, target: Target, method: Callable[..., Tensor],
            layers: list[str] | None = None, seed: int = 0, absolute: bool = True, region: Tensor | None = None,
            options: dict | None = None) -> Cascade:
    """Randomise `layers` (default: every layer, top first) one more at a time and recompute
    `method(model, x, target, **options)` after each step. Correlations are between |maps| if `absolute`,
    over `region` (N, H, W) if given: a cell's receptive field (`attribution.support`), since the pixels no
    weights can reach are 0 in every map and would make any two maps look alike."""
    layers = top_down(model) if layers is None else list(layers)
    options = options or {}
    maps = [to_map(method(model, x, target, **options))]
    for k in range(1, len(layers) + 1):
        maps.append(to_map(method(randomised(model, layers[:k], seed), x, target, **options)))
    maps = torch.stack([m.detach() for m in maps])
    ranked = maps.abs() if absolute else maps
    rho = torch.stack([spearman(ranked[0], m, region) for m in ranked])
    return Cascade(["original", *layers], maps, rho, absolute)
