"""The SAE census: its precision/recall bookkeeping against a hand-made oracle, and the whole record on a
tiny LM and SAE (the shipped ones are checked in tests/sae/test_shipped.py)."""

from __future__ import annotations

import pytest
import torch

from course.sae.census import best_properties, eval_tokens, measure


def test_best_properties_oracle():
    # 10 tokens, 2 units, 3 properties
    labels = torch.zeros(10, 3)
    labels[:6, 0] = 1  # property a: tokens 0-5
    labels[6:, 1] = 1  # property b: tokens 6-9
    labels[:, 2] = 1  # property c: everywhere
    fires = torch.zeros(10, 2)
    fires[:5, 0] = 1  # unit 0: fires on 0-4 -> a with precision 1, recall 5/6
    fires[4:8, 1] = 1  # unit 1: fires on 4-7 -> best is c (precision 1) but a, b are 0.5
    out = best_properties(fires.T @ labels, fires.sum(0), labels.sum(0), ["a", "b", "c"])
    assert out[0]["property"] == "a" and out[0]["precision"] == 1.0 and out[0]["recall"] == pytest.approx(5 / 6, abs=1e-4)
    assert out[1]["property"] == "c" and out[1]["precision"] == 1.0 and out[1]["recall"] == 0.4
    assert not out[0]["explained"]  # fewer than 50 firings


def test_census_record_on_a_tiny_model(tiny):
    tok, model, sae = tiny
    tokens, labels, names = eval_tokens(tok, 32, max_windows=64, top_tokens=20)
    assert tokens.shape == (64, 32) and labels.shape == (64, 32, len(names))
    assert names[-20].startswith("token:")
    rec = measure(sae, model, tokens, labels, names, "blocks.0.mlp.hook_post")
    assert rec["l0"] == pytest.approx(4.0, abs=0.05)
    assert 0 <= rec["dead_fraction"] <= 1 and 0 <= rec["explained_fraction"] <= 1
    assert rec["ce_loss_with_sae"] > 0 and rec["eval_tokens"] == 64 * 31
    assert len(rec["neurons"]) == 32
    for e in rec["latents"] + rec["neurons"]:
        assert e["explained"] == (e["precision"] >= 0.8 and e["fires"] >= 50)
        assert e["property"] in names
    live = [e["latent"] for e in rec["latents"]]
    assert len(live) == round(64 * (1 - rec["dead_fraction"]))
    # neurons were binarised to the SAE's firing rate
    mean_neuron_rate = sum(e["fires"] for e in rec["neurons"]) / (32 * rec["eval_tokens"])
    assert mean_neuron_rate == pytest.approx(rec["firing_rate"], rel=0.1)


def test_render_lists_the_best_latent_per_property_before_token_latents():
    from course.sae.census import render

    def e(i, prop, f1):
        return {"latent": i, "property": prop, "precision": 0.9, "recall": f1, "f1": f1, "fires": 99, "explained": True}

    record = {"model": "m", "lm": "lm", "hook": "h", "eval_tokens": 10, "fvu": 0.1, "l0": 3.0, "dead_fraction": 0.0,
              "ce_loss_recovered": 0.9, "ce_loss_clean": 1.0, "ce_loss_with_sae": 1.1, "ce_loss_zero_ablated": 2.0,
              "explained_fraction": 0.5, "neuron_explained_fraction": 0.1, "explained_properties": ["comment", "string"],
              "latents": [e(0, "token:x", 0.99), e(1, "comment", 0.5), e(2, "comment", 0.7), e(3, "string", 0.3),
                          {**e(4, "number", 0.9), "explained": False}]}
    rows = [line.split() for line in render(record).splitlines() if line.strip()[:1].isdigit()]
    assert [(r[0], r[1]) for r in rows] == [("2", "comment"), ("3", "string"), ("0", "token:x")]
