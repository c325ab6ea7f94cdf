"""Analysis functions on weights whose answers are known by geometry."""

import math

import torch

from course.superposition import analysis as A


def polygon(k: int, n_features: int | None = None) -> torch.Tensor:
    ang = torch.arange(k) * 2 * math.pi / k
    W = torch.stack([ang.cos(), ang.sin()])  # (2, k)
    if n_features:
        W = torch.cat([W, torch.zeros(2, n_features - k)], dim=1)
    return W[None]


def test_known_geometries():
    torch.testing.assert_close(A.feature_dimensionality(polygon(5)), torch.full((1, 5), 0.4))  # pentagon: 2/5
    torch.testing.assert_close(A.feature_dimensionality(polygon(2)), torch.full((1, 2), 0.5))  # antipodal: 1/2
    torch.testing.assert_close(A.feature_dimensionality(torch.eye(3)[None]), torch.ones(1, 3))  # orthogonal: 1
    torch.testing.assert_close(A.feature_dimensionality(polygon(3)), torch.full((1, 3), 2 / 3))  # triangle: 2/3
    W = polygon(4, n_features=6)
    assert A.represented(W).tolist() == [[True] * 4 + [False] * 2]
    assert A.feature_dimensionality(W)[0, 4:].tolist() == [0, 0]
    torch.testing.assert_close(A.dimensions_per_feature(W), torch.tensor([0.5]))  # 2 dims / 4 unit features
    torch.testing.assert_close(A.interference(polygon(4)), torch.ones(1, 4))  # its antipode, cos^2 = 1
    gaps = A.angular_gaps(polygon(5))[0]
    assert all(abs(g - 72) < 1e-4 for g in gaps)
    assert A.wtw(torch.eye(2)[None]).shape == (1, 2, 2)


def test_sticky_share_counts():
    W = torch.cat([polygon(5), polygon(2, n_features=5)], dim=0)  # instances: a pentagon, an antipodal pair
    s = A.sticky_share(W)
    assert s["share"] == 1.0 and s["counts"] == {"2/5": 5, "1/2": 2} and s["represented"] == 7
