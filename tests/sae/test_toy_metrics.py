"""Hierarchical toy data and the ground-truth metrics: each checked against a definition or a brute-force oracle."""

from __future__ import annotations

import itertools

import pytest
import torch

from course.sae import SAE, SAEConfig
from course.sae.groundtruth import absorption, compare_to_truth, cosines, l0s, match, mcc, mean_max_cosine, shrinkage
from course.sae.toy import HierarchicalFeatures, HierarchyConfig


def test_hierarchy_structure_and_rates():
    data = HierarchicalFeatures(HierarchyConfig(n_parents=3, n_children=4, n_free=5, d=24, p=0.2, p_child=0.6))
    assert data.cfg.n_features == 3 + 12 + 5 and data.features.shape == (20, 24)
    assert torch.allclose(data.features @ data.features.T, torch.eye(20), atol=1e-5)  # orthonormal: they fit
    assert data.parent_of.tolist()[:8] == [-1, -1, -1, 0, 0, 0, 0, 1] and data.children.tolist() == list(range(3, 15))
    coef = data.coefficients(60_000, torch.Generator().manual_seed(0))
    on = coef > 0
    for c in data.children.tolist():  # a child never fires without its parent
        assert not (on[:, c] & ~on[:, data.parent_of[c]]).any()
    kids = on[:, 3:15].reshape(-1, 3, 4)
    assert kids.sum(-1).max() <= 1  # exclusive children
    rate = on.float().mean(0)
    assert rate[:3].tolist() == pytest.approx([0.2] * 3, abs=0.01)
    assert rate[3:15].mean().item() == pytest.approx(0.2 * 0.6 / 4, abs=0.003)
    assert rate[15:].tolist() == pytest.approx([0.2] * 5, abs=0.01)
    assert on.float().sum(-1).mean().item() == pytest.approx(data.true_l0(), rel=0.02)
    vals = coef[on]
    assert vals.min() >= 0.5 and vals.max() < 1.5
    x, c2 = data.sample_with_coefficients(5, torch.Generator().manual_seed(1))
    assert torch.allclose(x, c2 @ data.features)
    assert "3 parents x 4 children + 5 free = 20 features in 24 dimensions" in repr(data)


def test_correlated_pairs_and_superposed_directions():
    data = HierarchicalFeatures(HierarchyConfig(n_parents=0, n_free=6, d=4, p=0.3, n_correlated_pairs=2,
                                                correlation=0.7, magnitude=(1.0, 1.0)))
    on = (data.coefficients(40_000, torch.Generator().manual_seed(0)) > 0).float()
    corr = torch.corrcoef(on.T)
    # P(second = first) mixes copying (0.7) with independence: correlation 0.7
    assert corr[0, 1].item() == pytest.approx(0.7, abs=0.03) and corr[2, 3].item() == pytest.approx(0.7, abs=0.03)
    assert abs(corr[4, 5].item()) < 0.03 and abs(corr[1, 2].item()) < 0.03
    assert on.mean(0).tolist() == pytest.approx([0.3] * 6, abs=0.01)  # marginals unchanged
    assert data.features.norm(dim=1).tolist() == pytest.approx([1.0] * 6)  # 6 directions in 4 dims: not orthogonal
    coef = data.coefficients(1000, torch.Generator().manual_seed(1))
    assert torch.all(coef[coef > 0] == 1.0)  # fixed magnitudes
    with pytest.raises(ValueError):
        HierarchicalFeatures(HierarchyConfig(n_parents=0, n_free=3, n_correlated_pairs=2))


def _brute_force_mcc(W, F):
    c = cosines(W, F).abs()
    n, m = c.shape
    best = 0.0
    for perm in itertools.permutations(range(m), n):
        best = max(best, sum(c[i, j].item() for i, j in enumerate(perm)) / n)
    return best


def test_mcc_matches_brute_force_and_ignores_order_and_sign():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        W, F = torch.randn(6, 3, generator=g), torch.randn(4, 3, generator=g)
        assert mcc(W, F) == pytest.approx(_brute_force_mcc(W, F), abs=1e-6)
    F = torch.randn(5, 8, generator=g)
    W = torch.cat([-F[[3, 1]] * 2.0, F[[0, 4, 2]] * 0.5, torch.randn(3, 8, generator=g)])  # permuted, scaled, flipped
    assert mcc(W, F) == pytest.approx(1.0, abs=1e-6)
    assert mean_max_cosine(W, F) < 1.0  # the flipped two point the wrong way: MMC counts signs, MCC doesn't
    m = match(W, F)
    assert m[0].item() == 2 and m[4].item() == 3 and m[2].item() == 4  # signed matching finds the unflipped ones
    assert (match(W[:3], F) == -1).sum() == 2  # fewer latents than features: two left over


def test_mmc_is_at_least_mcc_with_signs():
    """Each feature's best latent is at least as good as the one the matching gives it."""
    g = torch.Generator().manual_seed(2)
    W, F = torch.rand(10, 4, generator=g) + 0.01, torch.rand(6, 4, generator=g) + 0.01  # positive cosines
    assert mean_max_cosine(W, F) >= mcc(W, F) - 1e-6


def test_shrinkage_and_l0s():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    x_hat = torch.tensor([[1.5, 2.0], [5.0, 5.0], [2.0, 0.0]])
    assert shrinkage(x, x_hat) == pytest.approx((0.5 + 2.0) / 2)  # the zero input has no ratio
    assert l0s(torch.tensor([[1.0, 0, 2], [0, 0, 0]]), torch.tensor([[0.1, 0, 0, 0], [1, 1, 1, 0]])) == (1.0, 2.0)


def _absorbing_sae(absorbed: bool):
    """Hand-made decoder for one parent (feature 0) with two children (1, 2) in 3 orthonormal dims, and the
    activations an SAE with it would produce on every pattern."""
    F = torch.eye(3)
    parent_of = torch.tensor([-1, 0, 0])
    if absorbed:  # latents: parent alone, parent+child1, parent+child2
        W = torch.stack([F[0], (F[0] + F[1]) / 2**0.5, (F[0] + F[2]) / 2**0.5])
    else:
        W = F.clone()
    coef = torch.tensor([[1.0, 0, 0], [1, 1, 0], [1, 0, 1], [0, 0, 0]])
    if absorbed:
        acts = torch.tensor([[1.0, 0, 0], [0, 2**0.5, 0], [0, 0, 2**0.5], [0, 0, 0]])
    else:
        acts = coef.clone()
    return acts, coef, W, F, parent_of


def test_absorption_on_hand_made_solutions():
    r = absorption(*_absorbing_sae(True))
    assert r["rate"] == 1.0 and r["parent_alone_recall"] == 1.0 and r["parent_with_child_recall"] == 0.0
    assert r["per_child"].tolist() == [1.0, 1.0] and r["latents"].tolist() == [0, 1, 2]
    assert torch.allclose(r["per_child"], torch.ones(2))
    acts, coef, W, F, parent_of = _absorbing_sae(True)
    assert (acts @ W - coef @ F).abs().max() < 1e-6  # the absorbed solution reconstructs perfectly, with L0 1
    r = absorption(*_absorbing_sae(False))
    assert r["rate"] == 0.0 and r["parent_with_child_recall"] == 1.0
    # a child latent that fires without carrying the parent's direction is a miss, not absorption
    acts, coef, W, F, parent_of = _absorbing_sae(False)
    acts[1, 0] = 0
    assert absorption(acts, coef, W, F, parent_of)["rate"] == 0.0


def test_compare_to_truth_on_a_perfect_sae():
    data = HierarchicalFeatures(HierarchyConfig(n_parents=0, n_free=5, d=8, p=0.3))
    sae = SAE(SAEConfig(d_in=8, d_sae=5, architecture="relu"))
    with torch.no_grad():
        sae.W_dec.copy_(data.features)
        sae.W_enc.copy_(data.features.T)
        sae.b_enc.fill_(-1e-4)  # rounding noise on inactive features must not fire
    x, coef = data.sample_with_coefficients(2000, torch.Generator().manual_seed(0))
    m = compare_to_truth(sae, x, coef, data.features)
    assert m["mmc"] == pytest.approx(1.0) and m["mcc"] == pytest.approx(1.0)
    assert m["shrinkage"] == pytest.approx(1.0, abs=1e-3) and m["fvu"] < 1e-6
    assert m["sae_l0"] == pytest.approx(m["true_l0"]) and m["dead_fraction"] == 0.0
