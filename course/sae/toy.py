"""Activations with known ground truth: sparse features in superposition, for testing what an SAE recovers.

    data = SparseFeatures(SparseFeaturesConfig(n_features=256, d=64))   # 256 random directions in 64 dims
    x = data.sample(4096)                                                 # (4096, 64)
    mean_max_cosine(sae.W_dec, data.features)                             # 1.0: every feature found

Each input is a sparse sum of feature directions: feature i is active with probability p, with a magnitude
uniform on [0.5, 1.5) (bounded away from 0, so "active" is unambiguous). `toy_model_activations` does the same
with the hidden layer of a trained toy model of superposition, whose features are the columns of its W.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class SparseFeaturesConfig:
    n_features: int = 256  # ground-truth features
    d: int = 64  # dimension they live in (n_features > d: superposition)
    p: float = 0.02  # probability that a feature is active in an input
    seed: int = 0  # fixes the feature directions


class SparseFeatures:
    def __init__(self, cfg: SparseFeaturesConfig | None = None):
        self.cfg = cfg or SparseFeaturesConfig()
        g = torch.Generator().manual_seed(self.cfg.seed)
        f = torch.randn(self.cfg.n_features, self.cfg.d, generator=g)
        self.features = f / f.norm(dim=1, keepdim=True)  # (n_features, d) unit rows

    def __repr__(self) -> str:
        c = self.cfg
        return f"SparseFeatures({c.n_features} features in {c.d} dimensions, p={c.p:g})"

    def coefficients(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        c = self.cfg
        active = torch.rand(n, c.n_features, generator=generator) < c.p
        return active * (0.5 + torch.rand(n, c.n_features, generator=generator))

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, d) activations."""
        return self.coefficients(n, generator) @ self.features


def toy_model_activations(model, instance: int, n: int, threshold: float = 0.5,
                          generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Hidden activations h = W x of one instance of a trained `course.superposition.ToyModel`, and its
    represented features' directions (the columns of W with norm above `threshold`), as (n, n_hidden) and
    (n_represented, n_hidden)."""
    with torch.no_grad():
        x = model.generate_batch(n, generator)[:, instance]  # (n, n_features)
        W = model.W[instance]  # (n_hidden, n_features)
        h = x @ W.T
        keep = W.norm(dim=0) > threshold
    return h, W[:, keep].T.clone()
