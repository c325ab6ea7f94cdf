"""Activations with known ground truth: sparse features in superposition, for testing what an SAE recovers.

    data = SparseFeatures(SparseFeaturesConfig(n_features=256, d=64))   # 256 random directions in 64 dims
    x = data.sample(4096)                                                 # (4096, 64)
    mean_max_cosine(sae.W_dec, data.features)                             # 1.0: every feature found

Each input is a sparse sum of feature directions: feature i is active with probability p, with a magnitude
uniform on [0.5, 1.5) (bounded away from 0, so "active" is unambiguous). `toy_model_activations` does the same
with the hidden layer of a trained toy model of superposition, whose features are the columns of its W.

`HierarchicalFeatures` (lesson 06) adds structure: parent features active whenever one of their children is
(the set-up where SAEs absorb features, Chanin et al. 2024), free features, and pairs of correlated features:

    data = HierarchicalFeatures(HierarchyConfig(n_parents=4, n_children=3, n_free=8, d=32))
    x, coef = data.sample_with_coefficients(4096)                        # (4096, 32), (4096, 24)
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


# ------------------------------------------------------------------------------------ hierarchy and correlation


@dataclass
class HierarchyConfig:
    n_parents: int = 4  # parent features, each with its own children (0: no hierarchy)
    n_children: int = 4  # children per parent
    n_free: int = 8  # features outside any hierarchy
    d: int = 32  # dimension; when every feature fits (d >= n_features) the directions are orthonormal
    p: float = 0.1  # probability that a parent or a free feature is active
    p_child: float = 0.4  # probability that a child is active, given its parent is
    exclusive_children: bool = True  # at most one child of a parent at a time (a word starts with one letter)
    magnitude: tuple[float, float] = (0.5, 1.5)  # an active feature's size is uniform on this range
    n_correlated_pairs: int = 0  # the first 2*n free features come in pairs...
    correlation: float = 0.0  # ...whose second member copies the first's activity with this probability
    seed: int = 0  # fixes the directions

    @property
    def n_features(self) -> int:
        return self.n_parents * (1 + self.n_children) + self.n_free


class HierarchicalFeatures:
    """Sparse features with a hierarchy: a parent is active whenever one of its children is.

    Feature order: the parents, then each parent's children in turn, then the free features. `parent_of[i]` is
    the parent of feature i (-1 for parents and free features). Like `SparseFeatures`, an active feature has a
    magnitude uniform on [0.5, 1.5) by default (`magnitude`).

    The children are drawn only where their parent is active, so P(child) = p * p_child (divided among the
    children when they are exclusive), and a child never fires without its parent: the set-up of Chanin et al.
    (2024), where sparsity makes an SAE fold the parent into its children's latents (feature absorption).
    """

    def __init__(self, cfg: HierarchyConfig | None = None):
        self.cfg = c = cfg or HierarchyConfig()
        if c.n_features < 1 or c.d < 1 or not 0 <= c.p <= 1 or not 0 <= c.p_child <= 1:
            raise ValueError(f"bad hierarchy settings: {c}")
        if 2 * c.n_correlated_pairs > c.n_free:
            raise ValueError(f"{c.n_correlated_pairs} correlated pairs need {2 * c.n_correlated_pairs} free features, "
                             f"there are {c.n_free}")
        g = torch.Generator().manual_seed(c.seed)
        f = torch.randn(c.n_features, c.d, generator=g)
        if c.d >= c.n_features:
            f = torch.linalg.qr(f.T).Q.T  # orthonormal rows
        self.features = f / f.norm(dim=1, keepdim=True)  # (n_features, d) unit rows
        parent_of = torch.full((c.n_features,), -1, dtype=torch.long)
        for i in range(c.n_parents):
            start = c.n_parents + i * c.n_children
            parent_of[start:start + c.n_children] = i
        self.parent_of = parent_of

    def __repr__(self) -> str:
        c = self.cfg
        if not c.n_parents:
            return f"HierarchicalFeatures({c.n_features} free features in {c.d} dimensions, p={c.p:g})"
        return (f"HierarchicalFeatures({c.n_parents} parents x {c.n_children} children + {c.n_free} free = "
                f"{c.n_features} features in {c.d} dimensions, p={c.p:g}, p_child={c.p_child:g})")

    @property
    def parents(self) -> Tensor:
        return torch.arange(self.cfg.n_parents)

    @property
    def children(self) -> Tensor:
        return (self.parent_of >= 0).nonzero().flatten()

    def true_l0(self) -> float:
        """Expected number of active features per input."""
        c = self.cfg
        child = c.p * (min(1.0, c.p_child) if c.exclusive_children else c.p_child * c.n_children)
        return c.n_parents * (c.p + (child if c.n_children else 0)) + c.n_free * c.p

    def coefficients(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, n_features) feature magnitudes (0 where inactive)."""
        c = self.cfg
        u = torch.rand(n, c.n_features, generator=generator)
        active = u < c.p
        children = self.parent_of >= 0
        if c.n_parents and c.n_children:
            parent_on = active[:, :c.n_parents]  # (n, n_parents)
            if c.exclusive_children:
                # one child with probability p_child, chosen uniformly; none otherwise
                which = torch.randint(0, c.n_children, (n, c.n_parents), generator=generator)
                has = torch.rand(n, c.n_parents, generator=generator) < c.p_child
                kids = torch.zeros(n, c.n_parents, c.n_children, dtype=torch.bool)
                kids.scatter_(2, which[..., None], has[..., None])
            else:
                kids = torch.rand(n, c.n_parents, c.n_children, generator=generator) < c.p_child
            active[:, children] = (kids & parent_on[..., None]).reshape(n, -1)
        if c.n_correlated_pairs:
            start = c.n_parents * (1 + c.n_children)
            first = torch.arange(start, start + 2 * c.n_correlated_pairs, 2)
            copy = torch.rand(n, len(first), generator=generator) < c.correlation
            active[:, first + 1] = torch.where(copy, active[:, first], active[:, first + 1])
        lo, hi = c.magnitude
        return active * (lo + (hi - lo) * torch.rand(n, c.n_features, generator=generator))

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, d) activations."""
        return self.coefficients(n, generator) @ self.features

    def sample_with_coefficients(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(activations (n, d), coefficients (n, n_features))."""
        coef = self.coefficients(n, generator)
        return coef @ self.features, coef
