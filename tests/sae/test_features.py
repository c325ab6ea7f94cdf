"""The feature browser's store: the census's chunks kept sparse, read back dense for one unit, saved and loaded."""

from __future__ import annotations

import torch

from course.sae.features import FeatureData, Sparse, measure_features


def test_sparse_from_triples_groups_by_unit():
    s = Sparse.from_triples(torch.tensor([5, 1, 3, 0]), torch.tensor([2, 0, 2, 0]), torch.tensor([.5, .1, .25, .0]), 4)
    assert s.offsets.tolist() == [0, 2, 2, 4, 4]
    rows, values = s.unit(2)
    assert rows.tolist() == [3, 5] and values.tolist() == [.25, .5]
    assert s.unit(1)[0].numel() == 0 and s.unit(3)[0].numel() == 0


def make(tmp_path=None):
    from course.lm.model import LMConfig, TinyLM
    from course.sae.sae import SAE, SAEConfig

    torch.manual_seed(3)
    model = TinyLM(LMConfig(d_vocab=64, n_ctx=20, d_model=16, n_heads=2, d_head=8, d_mlp=24)).eval()
    sae = SAE(SAEConfig(d_in=24, d_sae=60, architecture="topk", k=4)).eval()
    tokens = torch.randint(0, 64, (40, 20))
    from course.lm.labels import PROPERTIES

    labels = torch.rand(40, 20, len(PROPERTIES) + 3) < 0.1
    names = list(PROPERTIES) + ["token:a", "token:b", "token:c"]
    return model, sae, tokens, labels, names


def test_dense_reads_match_the_model_and_the_census(tmp_path):
    model, sae, tokens, labels, names = make()
    hook = "blocks.0.mlp.hook_post"
    data = measure_features(sae, model, tokens, labels, names, hook, "tiny", batch_size=16)
    _, cache = model.run_with_cache(tokens, names_filter=hook)
    z = sae.encode(cache[hook]).detach()
    for i in (0, 7, 33):
        expect = z[..., i].clone()
        expect[:, 0] = 0  # the census skips each window's first position
        assert torch.allclose(data.latent_acts(i), expect, atol=1e-6)
        assert data.density(i) * data.record["eval_tokens"] == (expect > 0).sum()
    h = cache[hook][:, 1:]
    for j in (0, 11, 23):
        expect = torch.where(h[..., j] > data.neuron_threshold[j], h[..., j], torch.zeros(()))
        assert torch.allclose(data.neuron_acts(j)[:, 1:], expect, atol=1e-6)
        assert data.neuron_entry(j)["fires"] == int((expect > 0).sum())
    for e in data.record["latents"]:
        assert data.latent_entry(e["latent"]) is e
        assert e["fires"] == int((data.latent_acts(e["latent"]) > 0).sum())
    assert data.labels.shape[-1] == len(names) - 3  # ground-truth properties only

    path = tmp_path / "store.safetensors"
    data.save(path)
    back = FeatureData.load(path)
    assert torch.equal(back.latent_acts(7), data.latent_acts(7)) and torch.equal(back.tokens, data.tokens)
    assert torch.equal(back.labels, data.labels) and back.record == data.record and back.hook == hook


def test_by_property_lists_explained_latents_best_first():
    model, sae, tokens, labels, names = make()
    data = measure_features(sae, model, tokens, labels, names, "blocks.0.mlp.hook_post")
    fake = [{"latent": 1, "property": "string", "f1": 0.2, "explained": True},
            {"latent": 2, "property": "string", "f1": 0.5, "explained": True},
            {"latent": 3, "property": "string", "f1": 0.9, "explained": False},
            {"latent": 4, "property": "token:x", "f1": 0.9, "explained": True}]
    data.record = {**data.record, "latents": fake}
    assert [e["latent"] for e in data.by_property("string")] == [2, 1]
    assert data.properties() == ["string", "token:x"]
