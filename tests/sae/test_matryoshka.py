"""Matryoshka SAEs: the config's widths, each prefix's reconstruction by its definition, the extra loss the trainer
adds, and the trainer's hook (extra_loss, callback) on a plain model."""

from __future__ import annotations

import pytest
import torch

from course.sae import SAE, SAEConfig, SAETrainConfig, train_sae
from course.sae.matryoshka import MatryoshkaConfig, MatryoshkaSAE


def _sae(widths=(3, 7), arch="topk", k=2):
    return MatryoshkaSAE(MatryoshkaConfig(d_in=5, d_sae=12, architecture=arch, k=k, matryoshka_widths=widths),
                         generator=torch.Generator().manual_seed(0))


def test_widths():
    assert _sae((3, 7)).cfg.matryoshka_widths == (3, 7, 12)
    assert _sae((4, 12)).cfg.matryoshka_widths == (4, 12)
    assert _sae(()).cfg.matryoshka_widths == (12,)
    for bad in ((7, 3), (0, 5), (3, 13)):
        with pytest.raises(ValueError):
            _sae(bad)
    assert "widths=(3, 7, 12)" in repr(_sae())


def test_prefix_reconstructions_by_definition():
    sae = _sae()
    with torch.no_grad():
        sae.b_dec.normal_()
    acts = torch.relu(torch.randn(4, 12))
    r = sae.prefix_reconstructions(acts)
    assert len(r) == 3
    for m, rec in zip((3, 7, 12), r):
        assert torch.allclose(rec, acts[:, :m] @ sae.W_dec[:m] + sae.b_dec, atol=1e-6)
    assert torch.allclose(r[-1] / sae.norm_scale, sae.decode(acts), atol=1e-6)  # the last prefix is the SAE


def test_extra_loss_is_the_proper_prefixes_squared_error():
    sae = _sae()
    x = torch.randn(6, 5)
    pre = sae.pre_acts(x)
    acts = sae.activate(pre)
    want = sum((acts[:, :m] @ sae.W_dec[:m] + sae.b_dec - x).pow(2).sum(-1).mean() for m in (3, 7))
    assert sae.extra_loss(x, pre, acts, 0.5).item() == pytest.approx(want.item(), rel=1e-5)
    assert _sae(()).extra_loss(x, pre, acts, 0.5).item() == 0.0  # one prefix: a plain SAE
    # the same parameters as a plain SAE: a plain SAE's state loads into it, and it encodes the same
    plain = SAE(SAEConfig(d_in=5, d_sae=12, architecture="topk", k=2))
    sae.load_state_dict(plain.state_dict())
    assert torch.equal(sae.encode(x), plain.encode(x))
    again = MatryoshkaSAE.from_state(sae.config_dict(), sae.state_dict())
    assert again.cfg.matryoshka_widths == (3, 7, 12)


def test_trainer_adds_extra_loss_and_stops_on_callback():
    calls = []

    class Counting(SAE):
        def extra_loss(self, xn, pre, acts, fraction):
            calls.append(fraction)
            return acts.sum() * 0.0

    sae = Counting(SAEConfig(d_in=4, d_sae=8, architecture="topk", k=2))
    seen = []
    log = train_sae(sae, torch.randn(500, 4), SAETrainConfig(steps=40, batch_size=32, log_every=10),
                    callback=lambda step, s: seen.append((step, s.training)) or step >= 20)
    assert calls[:2] == [0.0, 1 / 40] and len(calls) == 21  # stopped after the step-20 log point
    assert seen == [(0, False), (10, False), (20, False)] and log.step == [0, 10, 20]
    assert not sae.training


def test_inner_prefix_learns_to_reconstruct_alone():
    """Trained briefly, a Matryoshka SAE's first prefix reconstructs far better than a plain SAE's first latents."""
    g = torch.Generator().manual_seed(0)
    f = torch.randn(12, 6, generator=g)
    f /= f.norm(dim=1, keepdim=True)
    x = (torch.rand(4000, 12, generator=g) < 0.15) * torch.rand(4000, 12, generator=g) @ f
    errs = {}
    for name in ("plain", "matryoshka"):
        kw = dict(d_in=6, d_sae=24, architecture="topk", k=3)
        sae = (MatryoshkaSAE(MatryoshkaConfig(**kw, matryoshka_widths=(4,)), generator=torch.Generator().manual_seed(1))
               if name == "matryoshka" else SAE(SAEConfig(**kw), generator=torch.Generator().manual_seed(1)))
        train_sae(sae, x, SAETrainConfig(steps=300, batch_size=256, lr=3e-3, warmup_steps=20))
        with torch.no_grad():
            acts = sae.encode(x)
            inner = (acts[:, :4] @ sae.W_dec[:4] + sae.b_dec) / sae.norm_scale
        errs[name] = (x - inner).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    assert errs["matryoshka"] < 0.8 * errs["plain"], errs
