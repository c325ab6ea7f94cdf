"""The toy model library: hand-written gradients equal autograd's, value by value; data has the statistics
the paper's setup asks for; shapes and names are ARENA's."""

from __future__ import annotations

import pytest
import torch

from course.superposition import ToyModel, ToyModelConfig, train


def autograd_grads(model: ToyModel, x: torch.Tensor):
    """The trusted oracle: the same loss through autograd (x laid out instances first)."""
    W = model.W.detach().clone().requires_grad_(True)
    b = model.b_final.detach().clone().requires_grad_(True)
    z = torch.einsum("ibh,ihf->ibf", torch.einsum("ibf,ihf->ibh", x, W), W) + b[:, None, :]
    out = torch.relu(z) if model.cfg.activation == "relu" else z
    loss = (model.importance[:, None, :] * (out - x) ** 2).mean(dim=(1, 2)).sum()
    loss.backward()
    return W.grad, b.grad


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("corr, anti", [(0, 0), (2, 1)])
def test_hand_written_gradients_match_autograd(activation, corr, anti):
    g = torch.Generator().manual_seed(0)
    cfg = ToyModelConfig(n_features=7, n_hidden=3, n_instances=4, n_correlated_pairs=corr,
                         n_anticorrelated_pairs=anti, activation=activation)
    model = ToyModel(cfg, feature_probability=torch.tensor([1.0, 0.5, 0.1, 0.02]),
                     importance=0.8 ** torch.arange(7.0), device="cpu", generator=g)
    with torch.no_grad():
        model.b_final.normal_(0, 0.3, generator=g)  # some dead ReLUs and some live ones
    x = model._batch(64, g)
    gW, gb = model.grads(x)
    eW, eb = autograd_grads(model, x)
    torch.testing.assert_close(gW, eW, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(gb, eb, rtol=1e-5, atol=1e-7)
    assert torch.allclose(model.losses(x).sum(), model.loss(model(x.transpose(0, 1)), x.transpose(0, 1)))


def test_generate_batch_statistics():
    p = torch.tensor([1.0, 0.3, 0.05])
    model = ToyModel(ToyModelConfig(n_features=50, n_hidden=5, n_instances=3), feature_probability=p, device="cpu")
    x = model.generate_batch(4000, torch.Generator().manual_seed(1))
    assert x.shape == (4000, 3, 50) and x.min() >= 0 and x.max() < 1
    active = (x > 0).float().mean(dim=(0, 2))
    torch.testing.assert_close(active, p, atol=0.01, rtol=0.02)
    nonzero = x[:, 1][x[:, 1] > 0]
    assert abs(nonzero.mean().item() - 0.5) < 0.01  # active values are uniform on [0, 1)


def test_correlated_and_anticorrelated_features():
    cfg = ToyModelConfig(n_features=6, n_hidden=2, n_instances=1, n_correlated_pairs=1, n_anticorrelated_pairs=1)
    x = ToyModel(cfg, feature_probability=0.3, device="cpu").generate_batch(20000, torch.Generator().manual_seed(2))[:, 0]
    on = x > 0
    assert torch.equal(on[:, 0], on[:, 1]) and on[:, 0].float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert not (on[:, 2] & on[:, 3]).any()  # never together
    assert on[:, 2].float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert on[:, 4:].float().mean().item() == pytest.approx(0.3, abs=0.02)


def test_shapes_names_and_repr():
    cfg = ToyModelConfig(n_features=5, n_hidden=2, n_instances=8)
    model = ToyModel(cfg, feature_probability=50 ** -torch.linspace(0, 1, 8), importance=0.9 ** torch.arange(5.0),
                     device="cpu")
    assert model.W.shape == (8, 2, 5) and model.b_final.shape == (8, 5)
    assert model.importance.shape == model.feature_probability.shape == (8, 5)
    assert model(torch.rand(10, 8, 5)).shape == (10, 8, 5)
    assert "8 x [5 features -> 2 hidden]" in repr(model)
    with pytest.raises(ValueError, match="one entry per feature"):
        ToyModel(cfg, importance=torch.ones(3), device="cpu")


def test_training_lowers_the_loss_and_is_seeded():
    def run():
        torch.manual_seed(0)
        m = ToyModel(ToyModelConfig(5, 2, 4), feature_probability=0.1, device="cpu",
                     generator=torch.Generator().manual_seed(0))
        return m, train(m, steps=300, lr=1e-2, log_every=100, seed=3)

    (m1, log1), (m2, log2) = run(), run()
    assert log1.shape == (3, 4) and (log1[-1] < log1[0]).all()
    assert torch.equal(m1.W, m2.W)
