"""The SAE library: shapes and names, each variant's activation rule, the metrics' definitions (by oracle),
and the bar: on 256 sparse features in 64 dimensions, a TopK SAE finds them (mean max cosine >= 0.95)."""

from __future__ import annotations


import pytest
import torch

from course.sae import SAE, SAEConfig, SAETrainConfig, evaluate, mean_max_cosine, train_sae
from course.sae.metrics import density_histogram
from course.sae.toy import SparseFeatures, SparseFeaturesConfig, toy_model_activations
from course.sae.train import batches, lr_at


def test_names_shapes_and_repr():
    sae = SAE(SAEConfig(d_in=8, d_sae=32, architecture="topk", k=4))
    assert sae.W_enc.shape == (8, 32) and sae.W_dec.shape == (32, 8)
    assert sae.b_enc.shape == (32,) and sae.b_dec.shape == (8,)
    assert sae(torch.randn(5, 8)).shape == (5, 8) and sae.encode(torch.randn(3, 7, 8)).shape == (3, 7, 32)
    assert repr(sae) == "SAE(topk, d_in=8, d_sae=32, k=4)"
    with pytest.raises(ValueError):
        SAEConfig(d_in=8, d_sae=32, architecture="gated")


def test_activation_rules():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 8, generator=g)
    topk = SAE(SAEConfig(8, 32, "topk", k=3), generator=g)
    acts = topk.encode(x)
    assert ((acts > 0).sum(-1) <= 3).all()
    pre = torch.relu(topk.pre_acts(x))
    assert torch.equal(acts.max(-1).values, pre.max(-1).values)  # the largest survives

    btk = SAE(SAEConfig(8, 32, "batchtopk", k=3), generator=g).train()
    acts = btk.activate(btk.pre_acts(x), batch_topk=True)
    assert (acts > 0).sum() == 3 * 16  # k per input on average, over the batch
    assert (acts > 0).sum(-1).max() > 0

    relu = SAE(SAEConfig(8, 32, "relu"), generator=g)
    assert torch.equal(relu.encode(x), torch.relu(relu.pre_acts(x)))


def test_metrics_definitions():
    """FVU is a ratio of sums, SAELens's explained variance a mean of per-input ratios: checked by hand."""
    sae = SAE(SAEConfig(4, 8, "relu"))
    x = torch.tensor([[1.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 0, 3.0]])
    m = evaluate(sae, x)
    x_hat = sae(x)
    rss = (x - x_hat).pow(2).sum(-1)
    tss = (x - x.mean(0)).pow(2).sum(-1)
    assert m["fvu"] == pytest.approx((rss.sum() / tss.sum()).item(), rel=1e-5)
    assert m["explained_variance"] == pytest.approx(1 - (rss / tss).mean().item(), rel=1e-5)
    assert m["mse"] == pytest.approx(rss.mean().item(), rel=1e-5)
    assert m["l0"] == pytest.approx((sae.encode(x) > 0).float().sum(-1).mean().item())
    assert mean_max_cosine(torch.eye(4), torch.eye(4)[:2] * 3) == pytest.approx(1.0)
    counts, edges = density_histogram(torch.tensor([0.0, 0.1, 0.01, 1.0]))
    assert counts.sum() == 3 and len(edges) == len(counts) + 1


def test_streams_and_schedule():
    chunks = [torch.randn(3, 5, 4) for _ in range(4)]  # (batch, seq, d) chunks, 60 rows
    it = batches(iter(chunks), 16)
    got = [next(it) for _ in range(3)]
    assert all(b.shape == (16, 4) for b in got)
    assert torch.equal(got[0], torch.cat([c.reshape(-1, 4) for c in chunks])[:16])
    cfg = SAETrainConfig(steps=100, warmup_steps=10, decay_fraction=0.2, lr=1.0)
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(50, cfg) == 1.0 and lr_at(99, cfg) == pytest.approx(0.05)


def test_topk_sae_recovers_ground_truth_features():
    """The toy bar (its time is measured by benchmarks/lm_sae.py, not here)."""
    data = SparseFeatures(SparseFeaturesConfig(n_features=256, d=64, p=0.02))
    g = torch.Generator().manual_seed(1)
    sae = SAE(SAEConfig(d_in=64, d_sae=512, architecture="topk", k=6), generator=g)
    train_sae(sae, lambda n: data.sample(n, g), SAETrainConfig(steps=1500, batch_size=1024, lr=1e-3, dead_after=50_000))
    assert mean_max_cosine(sae.W_dec, data.features) >= 0.95
    m = evaluate(sae, data.sample(10_000, g))
    assert m["fvu"] < 0.25 and m["l0"] == pytest.approx(6.0, abs=0.1) and m["dead_fraction"] < 0.05


@pytest.mark.slow  # minutes of training; lesson 06's tests cover the same ground in the default suite
def test_relu_sae_finds_the_directions_but_shrinks():
    """The L1 penalty's classic trade: right directions, shrunken activations (a worse FVU than TopK)."""
    data = SparseFeatures(SparseFeaturesConfig(n_features=256, d=64, p=0.02))
    g = torch.Generator().manual_seed(2)
    sae = SAE(SAEConfig(d_in=64, d_sae=512, architecture="relu", l1_coefficient=3.0), generator=g)
    train_sae(sae, lambda n: data.sample(n, g), SAETrainConfig(steps=4000, batch_size=1024, lr=2e-3, dead_after=50_000))
    assert mean_max_cosine(sae.W_dec, data.features) >= 0.95
    m = evaluate(sae, data.sample(10_000, g))
    assert 0.2 < m["fvu"] < 0.5 and m["l0"] < 20


@pytest.mark.slow  # minutes of training; lesson 06's tests cover the same ground in the default suite
def test_sae_on_a_toy_model_hidden_layer():
    from course.superposition import ToyModel, ToyModelConfig, train

    g = torch.Generator().manual_seed(0)
    model = ToyModel(ToyModelConfig(n_features=20, n_hidden=5, n_instances=1), feature_probability=0.03,
                     importance=0.7 ** torch.arange(20.0), device="cpu", generator=g)
    train(model, steps=3000, lr=1e-2)
    h, features = toy_model_activations(model, 0, 50_000, generator=g)
    assert features.shape[0] > 5  # more features than dimensions: superposition
    sae = SAE(SAEConfig(d_in=5, d_sae=40, architecture="topk", k=2), generator=g)
    train_sae(sae, h, SAETrainConfig(steps=1500, batch_size=1024, lr=1e-3, dead_after=50_000))
    assert mean_max_cosine(sae.W_dec, features) >= 0.9
