"""Dashboard tools on a tiny random LM and SAE: contexts, quantiles, logit effects (by oracle), steering."""

from __future__ import annotations

import pytest
import torch

from course.lm.hooks import no_hooks_left
from course.sae.dashboard import latent_activations, logit_effects, quantile_examples, steer, top_contexts

HOOK = "blocks.0.mlp.hook_post"


@pytest.fixture(scope="module")
def setup(tiny):
    tok, model, sae = tiny
    tokens = torch.randint(0, 300, (8, 24), generator=torch.Generator().manual_seed(0))
    return tok, model, sae, tokens


def test_contexts_and_quantiles(setup):
    tok, model, sae, tokens = setup
    acts = latent_activations(sae, model, tokens, HOOK)
    assert acts.shape == (8, 24, 64)
    latent = int(acts.flatten(0, 1).gt(0).sum(0).argmax())
    a = acts[..., latent]
    ctx = top_contexts(a, tokens, tok, k=5)
    values = [c.value for c in ctx]
    assert values == sorted(values, reverse=True) and values[0] == pytest.approx(a.max().item())
    c = ctx[0]
    assert c.acts[c.focus] == pytest.approx(c.value) and "⟦⟦" in c.highlight() and "<span" in c.html()
    bins = quantile_examples(a, tokens, tok, n_bins=3, per_bin=2)
    assert bins and all(len(examples) <= 2 for _, _, examples in bins)
    assert all(lo < e.value <= hi for lo, hi, examples in bins for e in examples)
    assert bins[0][1] == pytest.approx(a.max().item())  # the strongest bin first
    assert top_contexts(torch.zeros(2, 3), tokens[:2, :3], tok) == []


def test_logit_effects_oracle(setup):
    tok, model, sae, _ = setup
    eff = logit_effects(sae, model, 3, k=4)
    manual = (sae.W_dec[3] @ model.blocks[0].mlp.W_out) * model.ln_final.w @ model.unembed.W_U
    assert [t for t, _ in eff["up"]] == manual.topk(4).indices.tolist()
    assert eff["down"][0][1] == pytest.approx(manual.min().item(), abs=1e-3)
    named = logit_effects(sae, model, 3, tokenizer=tok, k=2)
    assert all(isinstance(t, str) for t, _ in named["up"])


def test_steering_changes_generation_and_leaves_no_hooks(setup):
    tok, model, sae, tokens = setup
    prompt = tokens[:1, :5]
    base = model.generate(prompt, 10, temperature=0)
    clamped = steer(model, sae, HOOK, prompt, latent=3, value=50.0, max_new_tokens=10)
    added = steer(model, sae, HOOK, prompt, latent=3, value=50.0, mode="add", max_new_tokens=10)
    assert clamped.shape == base.shape == added.shape
    assert not torch.equal(clamped, base) or not torch.equal(added, base)
    same = steer(model, sae, HOOK, prompt, latent=3, value=0.0, mode="add", max_new_tokens=10)
    assert torch.equal(same, base)  # adding nothing changes nothing
    assert no_hooks_left(model)
