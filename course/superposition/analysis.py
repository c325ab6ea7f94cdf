"""Reading a toy model's weights: norms, interference, dimensionality, geometry.

All functions take W of shape (n_instances, n_hidden, n_features) (one instance: add a leading axis) and follow
the definitions of "Toy Models of Superposition":

    ||W_i||                 how strongly feature i is represented (about 1: represented, about 0: dropped)
    sum_j!=i (Ŵ_i . W_j)^2  interference: how much the other features leak into feature i's direction
    D_i = ||W_i||^2 / sum_j (Ŵ_i . W_j)^2     feature dimensionality: the share of a dimension feature i gets
    D* = n_hidden / ||W||_F^2                 dimensions per (represented) feature, per instance

Sticky fractions: with many features, D_i clusters at the dimensionalities of the polytopes superposition
likes: 1 (a dedicated dimension), 3/4 (tetrahedron), 2/3 (triangle), 1/2 (antipodal pair), 2/5 (pentagon),
3/8 (square antiprism), 0 (dropped).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

STICKY_FRACTIONS = {"1": 1.0, "3/4": 0.75, "2/3": 2 / 3, "1/2": 0.5, "2/5": 0.4, "3/8": 0.375, "0": 0.0}


def _check(W: Tensor) -> Tensor:
    if W.dim() == 2:
        W = W[None]
    if W.dim() != 3:
        raise ValueError(f"W must be (n_instances, n_hidden, n_features), got shape {tuple(W.shape)}")
    return W.detach().float()


def feature_norms(W: Tensor) -> Tensor:
    """(n_instances, n_features): the length of each feature's direction in the hidden space."""
    return _check(W).norm(dim=1)


def represented(W: Tensor, threshold: float = 0.5) -> Tensor:
    """(n_instances, n_features) bool: features whose norm exceeds `threshold`."""
    return feature_norms(W) > threshold


def overlaps(W: Tensor) -> Tensor:
    """(n_instances, n_features, n_features): entry [i, j] = Ŵ_i . W_j (Ŵ_i the unit vector of feature i)."""
    W = _check(W)
    unit = W / W.norm(dim=1, keepdim=True).clamp(min=1e-8)
    return torch.einsum("nhi,nhj->nij", unit, W)


def interference(W: Tensor) -> Tensor:
    """(n_instances, n_features): sum over j != i of (Ŵ_i . W_j)^2."""
    o = overlaps(W) ** 2
    return o.sum(-1) - torch.diagonal(o, dim1=-2, dim2=-1)


def feature_dimensionality(W: Tensor) -> Tensor:
    """(n_instances, n_features): D_i = ||W_i||^2 / sum_j (Ŵ_i . W_j)^2 (0 for a dropped feature)."""
    W = _check(W)
    norms2 = W.norm(dim=1) ** 2
    denom = (overlaps(W) ** 2).sum(-1)
    return torch.where(norms2 > 1e-6, norms2 / denom.clamp(min=1e-12), torch.zeros_like(norms2))


def dimensions_per_feature(W: Tensor) -> Tensor:
    """(n_instances,): D* = n_hidden / ||W||_F^2."""
    W = _check(W)
    return W.shape[1] / (W**2).sum(dim=(1, 2))


def wtw(W: Tensor) -> Tensor:
    """(n_instances, n_features, n_features): W^T W, the features' overlaps as the model sees them."""
    W = _check(W)
    return torch.einsum("nhi,nhj->nij", W, W)


def angles_2d(W: Tensor) -> Tensor:
    """(n_instances, n_features): each feature's angle in degrees in [0, 360) when n_hidden == 2."""
    W = _check(W)
    if W.shape[1] != 2:
        raise ValueError("angles_2d needs n_hidden == 2")
    return torch.rad2deg(torch.atan2(W[:, 1], W[:, 0])) % 360


def angular_gaps(W: Tensor, threshold: float = 0.5) -> list[list[float]]:
    """For n_hidden == 2: per instance, the angles between neighbouring represented features, in degrees."""
    ang, rep = angles_2d(W), represented(W, threshold)
    out = []
    for a, r in zip(ang, rep):
        a = torch.sort(a[r]).values
        if len(a) < 2:
            out.append([])
            continue
        out.append(torch.diff(torch.cat([a, a[:1] + 360])).tolist())
    return out


def nearest_sticky(d: Tensor) -> tuple[list[str], Tensor]:
    """For dimensionalities d (any shape, flattened): the nearest sticky fraction's name and the distance."""
    values = torch.tensor(list(STICKY_FRACTIONS.values()))
    names = list(STICKY_FRACTIONS)
    dist = (d.reshape(-1, 1) - values).abs()
    best = dist.argmin(dim=1)
    return [names[i] for i in best.tolist()], dist.gather(1, best[:, None]).squeeze(1)


def sticky_share(W: Tensor, tolerance: float = 0.05, threshold: float = 0.5) -> dict:
    """How the represented features' dimensionalities cluster at the sticky fractions.

    Returns {"share": fraction of represented features within `tolerance` of a sticky fraction,
             "counts": {fraction name: number of features nearest to it (within tolerance)},
             "represented": number of represented features}.
    """
    d = feature_dimensionality(W)[represented(W, threshold)]
    names, dist = nearest_sticky(d)
    close = dist <= tolerance
    counts: dict[str, int] = {}
    for n, c in zip(names, close.tolist()):
        if c:
            counts[n] = counts.get(n, 0) + 1
    return {"share": float(close.float().mean()) if len(d) else math.nan, "counts": counts, "represented": len(d)}
