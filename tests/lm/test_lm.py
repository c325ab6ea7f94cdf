"""The tiny LM package: TransformerLens names and hooks, generation, the corpus split, the tokenizer, the
activation store, and the offline path for Hugging Face-style local files."""

from __future__ import annotations

import json

import pytest
import torch

from course.lm.activations import ActivationStore, activations
from course.lm.corpus import in_val, local_texts, read_texts, split_files, stdlib_files, stdlib_root
from course.lm.data import TokenData, encode_texts
from course.lm.hooks import no_hooks_left
from course.lm.model import LMConfig, TinyLM
from course.lm.tokenizer import EOT, load_tokenizer, tokenizer_bytes, train_tokenizer

CFG = LMConfig(d_vocab=300, n_ctx=16, d_model=16, n_layers=2, n_heads=2, d_head=8, d_mlp=32)


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(read_texts(stdlib_files()[:20]), vocab_size=300)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return TinyLM(CFG).eval()


def test_names_and_shapes(model):
    names = dict(model.named_parameters())
    assert names["embed.W_E"].shape == (300, 16) and names["pos_embed.W_pos"].shape == (16, 16)
    assert names["blocks.0.attn.W_Q"].shape == (2, 16, 8) and names["blocks.1.attn.W_O"].shape == (2, 8, 16)
    assert names["blocks.0.mlp.W_in"].shape == (16, 32) and names["unembed.W_U"].shape == (16, 300)
    for hook in ("hook_embed", "blocks.0.hook_resid_pre", "blocks.0.attn.hook_pattern", "blocks.0.mlp.hook_post",
                 "blocks.1.hook_resid_post", "ln_final.hook_normalized"):
        assert hook in model.hook_dict
    assert "2 layers" in repr(model)


def test_run_with_cache_and_hooks(model):
    tokens = torch.randint(0, 300, (3, 10))
    logits, cache = model.run_with_cache(tokens)
    assert logits.shape == (3, 10, 300)
    assert cache["blocks.0.mlp.hook_post"].shape == (3, 10, 32)
    assert cache["blocks.0.attn.hook_pattern"].shape == (3, 2, 10, 10)
    pattern = cache["blocks.1.attn.hook_pattern"]
    assert torch.allclose(pattern.sum(-1), torch.ones(3, 2, 10)) and (pattern.triu(1) == 0).all()  # causal
    # the residual stream adds up: resid_post = resid_mid + mlp_out
    torch.testing.assert_close(cache["blocks.0.hook_resid_post"],
                               cache["blocks.0.hook_resid_mid"] + cache["blocks.0.hook_mlp_out"])
    _, only = model.run_with_cache(tokens, names_filter=lambda n: n.endswith("hook_post"))
    assert set(only) == {"blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post"}

    def ablate(act, hook):
        return torch.zeros_like(act)

    ablated = model.run_with_hooks(tokens, [("blocks.0.mlp.hook_post", ablate)])
    assert not torch.allclose(ablated, logits)
    assert torch.allclose(model(tokens), logits)  # hooks are gone afterwards
    assert no_hooks_left(model)
    with pytest.raises(KeyError, match="no hook point"):
        model.run_with_hooks(tokens, [("blocks.9.nope", ablate)])
    assert no_hooks_left(model)


def test_hooks_removed_even_when_a_hook_fails(model):
    def boom(act, hook):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        model.run_with_hooks(torch.zeros(1, 4, dtype=torch.long), [("hook_embed", boom)])
    assert no_hooks_left(model)


def test_loss_is_next_token_cross_entropy(model):
    tokens = torch.randint(0, 300, (2, 8))
    logits = model(tokens)
    manual = -logits[:, :-1].log_softmax(-1).gather(-1, tokens[:, 1:, None]).mean()
    torch.testing.assert_close(model(tokens, return_type="loss"), manual)


def test_generate(model):
    out = model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=5, temperature=0)
    assert out.shape == (1, 8) and out[0, :3].tolist() == [1, 2, 3]
    again = model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=5, temperature=0)
    assert torch.equal(out, again)  # greedy is deterministic
    sampled = model.generate(torch.tensor([[1, 2, 3]]), 5, temperature=1.0, top_k=5,
                             generator=torch.Generator().manual_seed(0))
    assert sampled.shape == (1, 8)
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_corpus_split_is_deterministic_and_disjoint():
    train, val = split_files("train"), split_files("val")
    assert train and val and not set(train) & set(val)
    assert len(val) / (len(train) + len(val)) == pytest.approx(0.05, abs=0.03)
    root = stdlib_root()
    assert all(in_val(p.relative_to(root).as_posix(), 5.0) for p in val)
    assert split_files("val") == val  # same order every time


def test_tokenizer_roundtrip(tok, tmp_path):
    text = "def f(self, x):\n    return x ** 2  # ünïcode\n"
    assert tok.decode(tok.encode(text).ids) == text
    assert tok.token_to_id(EOT) is not None
    (tmp_path / "t.json").write_bytes(tokenizer_bytes(tok))
    assert load_tokenizer(tmp_path / "t.json").encode(text).ids == tok.encode(text).ids


def test_token_data_and_store(tok, model):
    data = TokenData(encode_texts(tok, list(read_texts(stdlib_files()[:5]))), "train")
    w = data.windows(4, 16, torch.Generator().manual_seed(0))
    assert w.shape == (4, 16) and w.dtype == torch.long
    assert data.sequential(16, limit=3).shape == (3, 16)
    acts = activations(model, w, "blocks.0.mlp.hook_post")
    assert acts.shape == (4, 16, 32)
    store = iter(ActivationStore(model, data, "blocks.0.mlp.hook_post", batch_size=50, buffer_contexts=8,
                                 contexts_per_run=4))
    batches = [next(store) for _ in range(5)]
    assert all(b.shape == (50, 32) for b in batches)
    assert no_hooks_left(model)


def test_local_texts_for_offline_hf_style_data(tmp_path):
    (tmp_path / "a.txt").write_text("Once upon a time.")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "The end."}) + "\n\n" + json.dumps({"text": "Again."}) + "\n")
    assert list(local_texts(tmp_path)) == ["Once upon a time.", "The end.", "Again."]


def test_hf_dataset_texts_reads_local_files_through_datasets(tmp_path):
    pytest.importorskip("datasets")
    from course.lm.corpus import hf_dataset_texts

    path = tmp_path / "stories.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in ("One.", "Two.", "Three.")))
    assert list(hf_dataset_texts("json", data_files=str(path), limit=2)) == ["One.", "Two."]
