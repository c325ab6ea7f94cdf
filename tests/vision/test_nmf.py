"""NMF by multiplicative updates: non-negative factors, an error that never grows, exact recovery of a
non-negative low-rank matrix, fixed H, and the same reconstruction error as scikit-learn's multiplicative-update
solver where scikit-learn is installed."""

from __future__ import annotations

import pytest
import torch

from course.errors import CourseError
from course.vision.nmf import NMFConfig, error_by_rank, nmf, relative_error


def _low_rank(seed=0, m=40, n=25, k=3):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(m, k, generator=g, dtype=torch.float64) @ torch.rand(k, n, generator=g, dtype=torch.float64)


def test_factors_are_non_negative_sorted_and_normalised():
    X = _low_rank() + 0.05
    f = nmf(X, k=3, iters=300)
    assert f.W.shape == (40, 3) and f.H.shape == (3, 25)
    assert (f.W >= 0).all() and (f.H >= 0).all()
    assert torch.allclose(f.H.norm(dim=1), torch.ones(3, dtype=f.H.dtype))
    norms = f.W.norm(dim=0)
    assert (norms[:-1] >= norms[1:]).all()
    assert f.error == pytest.approx(relative_error(X, f.W, f.H)) and f.explained == pytest.approx(1 - f.error**2)
    assert "relative error" in repr(f)


def test_error_never_grows():
    X = torch.rand(30, 20, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    errors = [nmf(X, k=2, iters=i).error for i in (1, 2, 5, 10, 50, 200)]
    assert all(b <= a + 1e-12 for a, b in zip(errors, errors[1:]))


def test_recovers_a_low_rank_matrix():
    X = _low_rank(seed=4)
    assert nmf(X, k=3, iters=3000).error < 0.02
    errors = error_by_rank(X, ranks=(1, 2, 3), iters=1000)
    assert errors[1] > errors[2] > errors[3]


def test_fixed_h_fits_only_w():
    X = _low_rank(seed=5)
    f = nmf(X, k=3, iters=2000)
    again = nmf(X, H=f.H, iters=2000)
    assert torch.equal(again.H, f.H) and again.error <= f.error + 1e-3


def test_config_and_early_stop():
    X = _low_rank(seed=6) + 0.1
    f = nmf(X, NMFConfig(k=2, iters=5000, tol=1e-6))
    assert f.iters < 5000


def test_bad_input_is_refused():
    with pytest.raises(CourseError, match="non-negative"):
        nmf(torch.tensor([[1.0, -1.0]]), k=1)
    with pytest.raises(CourseError, match="matrix"):
        nmf(torch.ones(3), k=1)


def test_matches_scikit_learn():
    decomposition = pytest.importorskip("sklearn.decomposition")
    import numpy as np

    X = _low_rank(seed=7, m=50, n=30, k=4) + 0.3 * torch.rand(50, 30, generator=torch.Generator().manual_seed(8),
                                                               dtype=torch.float64)
    ours = nmf(X, k=4, iters=500).error
    model = decomposition.NMF(n_components=4, solver="mu", init="random", max_iter=500, tol=0, random_state=0)
    W = model.fit_transform(X.numpy())
    theirs = float(np.linalg.norm(X.numpy() - W @ model.components_) / np.linalg.norm(X.numpy()))
    assert 0.02 < theirs and ours == pytest.approx(theirs, rel=0.01)
