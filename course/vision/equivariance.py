"""The equivariance test: are a family's weights rotated copies of one another?

Olah et al. ("Naturally Occurring Equivariance in Neural Networks", Distill 2020) find that InceptionV1's
curve detectors come as rotated copies and so do the circuits between families: the weight from a unit of
one family to a unit of the next depends only on how far apart their orientations are. Order each family by
preferred orientation and, for two evenly spaced families of n units, that says the weight matrix is
*circulant*: every row is the row above shifted one place round, W[i, j] = c[(j - i) mod n]. Describing the
circuit then takes one row instead of n (the article counts a ~50x saving in description length for curve
detection from rotation, scale and other equivariances).

    order(orientations)                the indices that sort a family by orientation
    circulant_part(W)                  the best circulant approximation (least squares) of a square matrix:
                                       each wrapped diagonal replaced by its mean
    circulant_score(W, orientations)   order the family (rows and columns alike), then 1 - |W - C|^2 / |W - mean|^2:
                                       1 for a circulant matrix, near 1/n for noise
    equivariant_fit(W, rows, cols, bins, period)   the general test for families of any size and spacing: the
                                       best W[i, k] = f(cols[k] - rows[i]) with f a step function of the orientation
                                       difference over `bins` bins, and the fraction of variance it explains
    shuffled_scores(W, rows, cols, ...)  the same fit with the row orientations shuffled: the control

For two evenly spaced families of n units with bins = n and matching offsets, `equivariant_fit` is exactly
the circulant fit. Scenenet's families are neither evenly spaced nor the same size, so the lesson uses both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from course.errors import UsageError


def order(orientations: Tensor) -> Tensor:
    """Indices that sort a family by preferred orientation (degrees, taken mod 360)."""
    return torch.argsort(torch.as_tensor(orientations, dtype=torch.float64) % 360, stable=True)


def circulant_part(W: Tensor) -> Tensor:
    """The circulant matrix C closest to square W (Frobenius norm): C[i, j] = mean of W over the wrapped diagonal
    (j - i) mod n. Shape (n, n)."""
    if W.dim() != 2 or W.shape[0] != W.shape[1]:
        raise UsageError(f"a circulant matrix is square; got shape {tuple(W.shape)}")
    n = W.shape[0]
    i = torch.arange(n)
    lag = (i[None, :] - i[:, None]) % n  # (n, n): which wrapped diagonal each entry is on
    c = torch.zeros(n, dtype=W.dtype).index_add_(0, lag.flatten(), W.flatten()) / n  # (n,) one mean per lag
    return c[lag]


def circulant_score(W: Tensor, orientations: Tensor) -> float:
    """How circulant the family-to-family matrix W (n, n) is once rows and columns are ordered by the family's
    `orientations` (n,): 1 - |W - C|^2 / |W - mean(W)|^2 with C the best circulant matrix. 1: a perfectly rotated
    circuit; a matrix of noise scores about 1/n (each lag's mean fits a little by chance)."""
    idx = order(orientations)
    Wo = W[idx][:, idx].double()
    resid = ((Wo - circulant_part(Wo)) ** 2).sum()
    total = ((Wo - Wo.mean()) ** 2).sum()
    return float(1 - resid / total) if total > 0 else 1.0


@dataclass
class EquivariantFit:
    """W[i, k] ~ f(cols[k] - rows[i]): the step function f (bins,), the fitted matrix and the variance it explains."""

    f: Tensor  # (bins,) mean weight per orientation-difference bin
    fitted: Tensor  # (n, m) f at each entry's difference
    score: float  # 1 - residual / total sum of squares about the mean
    bins: int
    period: float

    def __repr__(self) -> str:
        return f"EquivariantFit({self.bins} bins over {self.period:g} deg: explains {self.score:.1%} of the variance)"


def _bin_of(rows: Tensor, cols: Tensor, bins: int, period: float) -> Tensor:
    d = (torch.as_tensor(cols, dtype=torch.float64)[None, :] - torch.as_tensor(rows, dtype=torch.float64)[:, None])
    return (torch.floor((d % period) / (period / bins) + 0.5).long()) % bins  # bin 0 is centred on difference 0


def equivariant_fit(W: Tensor, rows: Tensor, cols: Tensor, bins: int = 12, period: float = 360.0) -> EquivariantFit:
    """The best W[i, k] = f(cols[k] - rows[i] mod period), f constant on each of `bins` bins (bin 0 centred on 0)."""
    if W.shape != (len(rows), len(cols)):
        raise UsageError(f"W must be (len(rows), len(cols)) = ({len(rows)}, {len(cols)}); got {tuple(W.shape)}")
    b = _bin_of(rows, cols, bins, period)
    Wd = W.double()
    count = torch.bincount(b.flatten(), minlength=bins).double()
    f = torch.zeros(bins, dtype=torch.float64).index_add_(0, b.flatten(), Wd.flatten()) / count.clamp_min(1)
    fitted = f[b]
    total = ((Wd - Wd.mean()) ** 2).sum()
    score = float(1 - ((Wd - fitted) ** 2).sum() / total) if total > 0 else 1.0
    return EquivariantFit(f, fitted, score, bins, period)


def shuffled_scores(W: Tensor, rows: Tensor, cols: Tensor, bins: int = 12, period: float = 360.0, count: int = 200,
                    seed: int = 0) -> Tensor:
    """`equivariant_fit(...).score` with the row orientations randomly permuted, `count` times: (count,)."""
    g = torch.Generator().manual_seed(seed)
    rows = torch.as_tensor(rows, dtype=torch.float64)
    return torch.tensor([equivariant_fit(W, rows[torch.randperm(len(rows), generator=g)], cols, bins, period).score
                         for _ in range(count)])
