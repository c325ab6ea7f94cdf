"""course.sanity: ranks and Spearman correlations against scipy (the oracle), randomisation that touches only the
named layers and never the original, and the cascade's bookkeeping."""

from __future__ import annotations

import pytest
import torch

from course import attribution as A
from course import sanity as S
from course.errors import UsageError
from course.vision.models import NetConfig, SceneNet

try:
    from scipy import stats
except ImportError:  # scipy is not a dependency; the hand-worked test below still runs
    stats = None
needs_scipy = pytest.mark.skipif(stats is None, reason="scipy (the oracle) is not installed")


def test_rank_and_spearman_worked_by_hand():
    assert S.rank(torch.tensor([5.0, 1.0, 5.0, 3.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    # a = [1, 2, 2, 4] ranks [1, 2.5, 2.5, 4]; b = [10, 0, 5, 100] ranks [3, 1, 2, 4]
    # centred: [-1.5, 0, 0, 1.5] and [0.5, -1.5, -0.5, 1.5]; dot 1.5; norms sqrt(4.5), sqrt(5)
    rho = S.spearman(torch.tensor([1.0, 2, 2, 4]), torch.tensor([10.0, 0, 5, 100]))
    assert float(rho) == pytest.approx(1.5 / (4.5**0.5 * 5**0.5))
    assert S.pearson(torch.ones(3), torch.arange(3.0)) == 0.0  # a constant map: 0, not NaN


@needs_scipy
def test_rank_matches_scipy_with_ties():
    g = torch.Generator().manual_seed(0)
    v = torch.round(torch.randn(200, generator=g) * 2) / 2  # many ties
    assert torch.equal(S.rank(v), torch.tensor(stats.rankdata(v.numpy()), dtype=torch.float64))
    assert S.rank(torch.tensor([5.0, 1.0, 5.0])).tolist() == [2.5, 1.0, 2.5]


@needs_scipy
def test_spearman_matches_scipy_per_example_and_in_a_region():
    g = torch.Generator().manual_seed(1)
    a = torch.round(torch.randn(4, 6, 9, generator=g) * 2) / 2
    b = torch.exp(a + 0.5 * torch.randn(4, 6, 9, generator=g))
    a[:, :2] = 0.0
    b[:, :2] = 0.0
    rho = S.spearman(a, b)
    want = [stats.spearmanr(p.flatten().numpy(), q.flatten().numpy()).statistic for p, q in zip(a, b)]
    torch.testing.assert_close(rho, torch.tensor(want, dtype=torch.float64))
    region = torch.zeros(6, 9, dtype=torch.bool)
    region[2:] = True
    inside = S.spearman(a, b, region)
    want = [stats.spearmanr(p[2:].flatten().numpy(), q[2:].flatten().numpy()).statistic for p, q in zip(a, b)]
    torch.testing.assert_close(inside, torch.tensor(want, dtype=torch.float64))
    assert float(S.spearman(a[0].flatten(), b[0].flatten())) == pytest.approx(float(rho[0]))
    with pytest.raises(UsageError, match="same shape"):
        S.spearman(a, b[:, :3])


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return SceneNet(NetConfig(channels=(4, 5, 6, 7, 8))).eval()


def test_randomised_copies_only_the_named_layers(net):
    assert S.top_down(net) == ["head", "conv5", "conv4", "conv3", "conv2", "conv1"]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    r = S.randomised(net, ["head", "conv5"], seed=3)
    after = r.state_dict()
    for k, v in before.items():
        assert torch.equal(net.state_dict()[k], v), "the original must not change"
        changed = not torch.equal(after[k], v)
        assert changed == (k.startswith("head") or k.startswith("conv5.")), k
    again = S.randomised(net, ["head", "conv5"], seed=3).state_dict()
    assert all(torch.equal(again[k], after[k]) for k in after), "the same seed gives the same weights"
    with pytest.raises(UsageError, match="no layers named"):
        S.randomised(net, ["conv9"])


def test_cascade_steps_maps_and_correlations(net):
    x = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(2))
    c = S.cascade(net, x, [(1, 1, 2), (3, 2, 4)], A.gradient_x_input, seed=0)
    assert c.steps == ["original", "head", "conv5", "conv4", "conv3", "conv2", "conv1"]
    assert c.maps.shape == (7, 2, 32, 48) and c.correlation.shape == (7, 2)
    torch.testing.assert_close(c.correlation[0], torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(c.maps[0], A.to_map(A.gradient_x_input(net, x, [(1, 1, 2), (3, 2, 4)])))
    assert "original 1.00" in repr(c)
    only = S.cascade(net, x, (1, 1, 2), A.saliency, layers=["head"], options={"absolute": False})
    assert only.steps == ["original", "head"] and not torch.equal(only.maps[0], only.maps[1])
