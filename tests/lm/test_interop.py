"""TransformerLens interop, offline: a HookedTransformer built locally from a tiny config (random weights,
nothing downloaded) gives the same logits and hook activations as the TinyLM made from it; without the
package, TransformerLens-format state dicts still convert, and unsupported models get a clear error."""

from __future__ import annotations

import pytest
import torch

from course.errors import CourseError
from course.lm.interop import config_from_tl, from_tl_state_dict
from course.lm.model import LMConfig, TinyLM

TL_CFG = dict(n_layers=2, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_mlp=64, d_vocab=50, act_fn="gelu_new",
              normalization_type="LN")


def test_matches_a_locally_built_hooked_transformer():
    tl = pytest.importorskip("transformer_lens")
    torch.manual_seed(0)
    ref = tl.HookedTransformer(tl.HookedTransformerConfig(**TL_CFG, seed=0), move_to_device=False)
    ref.eval()
    for p in ref.parameters():  # TransformerLens starts biases and LayerNorms at 0/1: make every tensor count
        p.data.add_(0.02 * torch.randn_like(p))
    from course.lm.interop import from_hooked_transformer

    ours = from_hooked_transformer(ref)
    tokens = torch.randint(0, 50, (3, 16))
    with torch.no_grad():
        ref_logits, ref_cache = ref.run_with_cache(tokens)
        logits, cache = ours.run_with_cache(tokens)
    torch.testing.assert_close(logits, ref_logits, atol=1e-4, rtol=1e-4)
    for name in ("blocks.1.mlp.hook_post", "blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post"):
        torch.testing.assert_close(cache[name], ref_cache[name], atol=1e-4, rtol=1e-4)


def test_state_dict_round_trip_with_tl_buffers_and_folded_norms():
    src = TinyLM(LMConfig(**{k: TL_CFG[k] for k in ("n_layers", "d_model", "n_ctx", "d_head", "n_heads", "d_mlp",
                                                        "d_vocab")}, act_fn="gelu"))
    state = dict(src.state_dict())
    state["blocks.0.attn.mask"] = torch.ones(16, 16, dtype=torch.bool)  # TransformerLens's buffers
    state["blocks.0.attn.IGNORE"] = torch.tensor(-1e5)
    model = from_tl_state_dict(state, {**TL_CFG, "act_fn": "gelu"})
    tokens = torch.randint(0, 50, (2, 16))
    torch.testing.assert_close(model(tokens), src.eval()(tokens))
    folded = {k: v for k, v in src.state_dict().items() if ".ln" not in k and not k.startswith("ln_final")}
    m2 = from_tl_state_dict(folded, {**TL_CFG, "normalization_type": "LNPre"})
    assert torch.equal(m2.blocks[0].ln1.w, torch.ones(32)) and torch.equal(m2.ln_final.b, torch.zeros(32))


@pytest.mark.parametrize("change, words", [({"positional_embedding_type": "rotary"}, "rotary"),
                                           ({"attn_only": True}, "attention-only"),
                                           ({"act_fn": "solu_ln"}, "solu_ln"),
                                           ({"normalization_type": "RMS"}, "RMS")])
def test_unsupported_models_get_a_clear_error(change, words):
    with pytest.raises(CourseError, match=words):
        config_from_tl({**TL_CFG, **change})


def test_wrong_state_dict_says_what_is_wrong():
    state = dict(TinyLM(LMConfig(**{k: TL_CFG[k] for k in ("n_layers", "d_model", "n_ctx", "d_head", "n_heads",
                                                            "d_mlp", "d_vocab")})).state_dict())
    del state["blocks.1.mlp.W_in"]
    state["blocks.0.mlp.W_out"] = torch.zeros(3, 3)
    with pytest.raises(CourseError, match=r"missing blocks\.1\.mlp\.W_in.*wrong shapes blocks\.0\.mlp\.W_out"):
        from_tl_state_dict(state, TL_CFG)
