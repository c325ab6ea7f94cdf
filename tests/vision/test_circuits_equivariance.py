"""course.vision.equivariance: the circulant fit is the least-squares one (an lstsq oracle over a basis of
circulant matrices), the score is order-aware, and the general fit reduces to it for evenly spaced families."""

from __future__ import annotations

import math

import pytest
import torch

from course.errors import UsageError
from course.vision import equivariance as eq


def circulant(c: torch.Tensor) -> torch.Tensor:
    n = len(c)
    i = torch.arange(n)
    return c[(i[None, :] - i[:, None]) % n]


def test_circulant_part_is_the_least_squares_circulant():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(7, 7, generator=g, dtype=torch.float64)
    basis = torch.stack([circulant(torch.eye(7, dtype=torch.float64)[k]).flatten() for k in range(7)], 1)  # (49, 7)
    coef = torch.linalg.lstsq(basis, W.flatten()[:, None]).solution
    assert torch.allclose(eq.circulant_part(W), (basis @ coef).reshape(7, 7), atol=1e-12)
    with pytest.raises(UsageError, match="square"):
        eq.circulant_part(torch.zeros(3, 4))


def test_circulant_score_orders_the_family_first():
    g = torch.Generator().manual_seed(1)
    n = 9
    W = circulant(torch.randn(n, generator=g, dtype=torch.float64))
    ors = torch.arange(n, dtype=torch.float64) * 40 + 17
    assert eq.circulant_score(W, ors) == pytest.approx(1.0, abs=1e-12)
    perm = torch.randperm(n, generator=g)
    assert eq.circulant_score(W[perm][:, perm], ors[perm]) == pytest.approx(1.0, abs=1e-12)
    assert eq.circulant_score(W[perm][:, perm], ors) < 0.9  # the wrong order is not circulant
    noise = torch.randn(200, n, n, generator=g, dtype=torch.float64)
    scores = torch.tensor([eq.circulant_score(m, ors) for m in noise])
    assert abs(float(scores.mean()) - (n - 1) / (n * n - 1)) < 0.02  # noise: about 1/n


def test_equivariant_fit_is_the_circulant_fit_for_even_families():
    g = torch.Generator().manual_seed(2)
    n = 8
    W = torch.randn(n, n, generator=g, dtype=torch.float64)
    ors = torch.arange(n, dtype=torch.float64) * 45
    fit = eq.equivariant_fit(W, ors, ors, bins=n, period=360.0)
    assert torch.allclose(fit.fitted, eq.circulant_part(W), atol=1e-12)
    assert fit.score == pytest.approx(eq.circulant_score(W, ors), abs=1e-12)
    assert "explains" in repr(fit)


def test_equivariant_fit_finds_a_rotated_circuit_and_shuffles_do_not():
    g = torch.Generator().manual_seed(3)
    rows, cols = torch.rand(15, generator=g) * 180, torch.rand(36, generator=g) * 180
    d = torch.deg2rad(2 * (cols[None, :] - rows[:, None]))
    W = torch.cos(d) + 0.3 * torch.randn(15, 36, generator=g)
    fit = eq.equivariant_fit(W, rows, cols, bins=12, period=180.0)
    assert fit.score > 0.7 and float(fit.f[0]) > 0.8 and float(fit.f[6]) < -0.8
    null = eq.shuffled_scores(W, rows, cols, bins=12, period=180.0, count=50)
    assert float(null.mean()) < 0.15 and float(null.max()) < fit.score - 0.2
    assert math.isclose(float(eq.shuffled_scores(W, rows, cols, 12, 180.0, 5, seed=4)[0]),
                        float(eq.shuffled_scores(W, rows, cols, 12, 180.0, 5, seed=4)[0]))
