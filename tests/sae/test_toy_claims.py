"""Every claim lesson 06's text makes about a trained model, on the experiments the app runs
(`course.sae.toy_experiments`, fixed seeds). Tolerances are generous but each test can fail: the numbers the
README states are in the comments."""

from __future__ import annotations

import pytest
import torch

from course.sae import toy_experiments as E


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_pentagon_recovered_with_k_equal_true_l0():
    """§9: a TopK SAE with k = 1 (the true L0 of the inputs with any feature: 1.04) finds all five directions of
    lesson 05's sparse 5-in-2 model: MMC 0.996, MCC 0.998."""
    r = E.pentagon()
    assert r.features.shape == (5, 2)
    assert r.metrics["true_l0"] == pytest.approx(1.0, abs=0.1) and r.metrics["sae_l0"] == pytest.approx(1.0, abs=0.01)
    assert r.metrics["mmc"] >= 0.99 and r.metrics["mcc"] >= 0.99
    # the five are a pentagon: neighbours 72 degrees apart (lesson 05's claim, which this one builds on)
    angles = torch.atan2(r.features[:, 1], r.features[:, 0]).sort().values
    gaps = torch.diff(torch.cat([angles, angles[:1] + 2 * torch.pi])) * 180 / torch.pi
    assert gaps.sub(72).abs().max() < 8


def test_l1_without_decoder_norms_grows_the_norms_not_the_sparsity():
    """§3: switched to the plain L1 with free decoder rows, the mean decoder norm grows 1.00 -> 2.45 and the plain
    L1 halves (0.40 -> 0.20) while L0 ends where it was (1.74 -> 1.76); in x's units the penalty rose (0.77)."""
    r = E.decoder_norm_drift()
    i = r["step"].index(r["switch"])
    norms, l1, l0, weighted = r["decoder_norm"], r["l1"], r["l0"], r["weighted_l1"]
    assert all(abs(n - 1) < 1e-4 for n in norms[1:i + 1])  # unit rows while trained the right way
    assert norms[-1] > 2.0 and all(b >= a - 1e-3 for a, b in zip(norms[i:], norms[i + 1:]))  # then they only grow
    assert l1[-1] < 0.6 * l1[i]  # the naive penalty falls...
    assert abs(l0[-1] - l0[i]) < 0.15 * l0[i]  # ...with the same sparsity at the end
    assert weighted[-1] > weighted[i]  # measured in x's units it did not fall at all
    assert r["mse"][-1] < r["mse"][i]  # the weakened penalty lets the reconstruction improve


def test_absorption_plain_vs_matryoshka():
    """§11: on 4 parents x 3 children, BatchTopK with k = 1 (true L0 1.46): the plain SAE absorbs 82% (FVU 0.02),
    the Matryoshka SAE 24% (FVU 0.14): less absorption for some reconstruction."""
    r = E.absorption_pair()
    plain, matry = r["plain"], r["matryoshka"]
    assert r["true_l0"] == pytest.approx(1.44)
    assert plain["absorption"] >= 0.6
    assert matry["absorption"] <= 0.5 * plain["absorption"]
    assert plain["fvu"] < 0.05 and matry["fvu"] > plain["fvu"]  # the plain SAE reconstructs by absorbing
    assert plain["parent_with_child_recall"] < 0.4 < matry["parent_with_child_recall"]
    assert plain["sae_l0"] < r["true_l0"]  # fewer active latents than active features: the point of absorbing


@pytest.mark.slow
def test_absorption_over_three_seeds():
    """§11: over seeds 0-2 the plain SAE absorbs 67-82%, the Matryoshka one 24-49%, lower in every seed."""
    for seed in range(3):
        r = E.absorption_pair(seed=seed)
        assert r["plain"]["absorption"] >= 0.6 and r["matryoshka"]["absorption"] < 0.65 * r["plain"]["absorption"]


def test_frontier_shape():
    """§8: TopK at k = 1, 2, 4, 8 on 32 features in 16 dimensions (true L0 2.56): FVU falls with every k
    (0.34, 0.21, 0.11, 0.07), with diminishing returns per extra latent, while recovery (MMC) is best near the
    true L0 and worse at k = 8."""
    r = E.frontier(values=(1, 2, 4, 8))
    l0, fvu, mmc = r["l0"], r["fvu"], r["mmc"]
    assert l0 == pytest.approx([1, 2, 4, 8], abs=0.01)
    assert all(b < a for a, b in zip(fvu, fvu[1:]))
    assert fvu == pytest.approx([0.34, 0.21, 0.11, 0.07], abs=0.03)  # the README's table
    per_latent = [(a - b) / (lb - la) for a, b, la, lb in zip(fvu, fvu[1:], l0, l0[1:])]
    assert all(b < a for a, b in zip(per_latent, per_latent[1:]))  # convex: each extra latent buys less
    best = max(range(len(mmc)), key=mmc.__getitem__)
    assert l0[best] in (2, 4) and mmc[best] >= 0.98 and mmc[-1] < mmc[best] - 0.01


def test_jumprelu_does_not_shrink_relu_l1_does():
    """§7: on 16 orthogonal features (true L0 1.60): ReLU + L1 shrinks reconstructions to 0.85 of the input's
    norm at L0 2.9; JumpReLU's shrinkage is 1.00 at L0 1.65."""
    r = E.shrinkage_pair()
    assert r["relu"]["shrinkage"] < 0.9
    assert r["jumprelu"]["shrinkage"] == pytest.approx(1.0, abs=0.02)
    assert r["jumprelu"]["sae_l0"] == pytest.approx(r["jumprelu"]["true_l0"], rel=0.15)
    assert r["jumprelu"]["mmc"] >= 0.98
