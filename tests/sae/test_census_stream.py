"""The streaming census gives exactly the record the in-memory census gave (its code kept here as the oracle),
on a tiny random LM and SAE with made-up labels, and never holds all activations."""

from __future__ import annotations

import pytest
import torch

from course.sae.census import best_properties, measure


@torch.no_grad()
def in_memory_measure(sae, model, tokens, labels, names, hook, skip_first=1, batch_size=32):
    """The census before it streamed (commit 50a263b): every activation kept, then the neurons binned."""
    d_sae = sae.cfg.d_sae
    hits, n_fire, l0 = torch.zeros(d_sae, len(names)), torch.zeros(d_sae), 0.0
    hidden, rss, ce = [], 0.0, {"clean": 0.0, "sae": 0.0, "zero": 0.0}
    seen = {}

    def splice(a, hook_point):
        seen["h"], seen["acts"] = a, sae.encode(a)
        seen["recon"] = sae.decode(seen["acts"])
        return seen["recon"]

    zero = lambda a, hook_point: torch.zeros_like(a)  # noqa: E731
    lab = labels[:, skip_first:].reshape(-1, labels.shape[-1])
    start = 0
    flat = lambda t: t[:, skip_first:].reshape(-1, t.shape[-1])  # noqa: E731
    for chunk in tokens.split(batch_size):
        ce["clean"] += model(chunk, return_type="loss").item() * len(chunk)
        ce["sae"] += model.run_with_hooks(chunk, [(hook, splice)], return_type="loss").item() * len(chunk)
        ce["zero"] += model.run_with_hooks(chunk, [(hook, zero)], return_type="loss").item() * len(chunk)
        h, acts = flat(seen["h"]), flat(seen["acts"])
        rss += ((h - flat(seen["recon"])) ** 2).sum().item()
        fires = (acts > 0).float()
        hits += fires.T @ lab[start:start + h.shape[0]].float()
        start += h.shape[0]
        n_fire += fires.sum(0)
        l0 += fires.sum().item()
        hidden.append(h)
    H = torch.cat(hidden)
    n_tokens = H.shape[0]
    ce = {k: v / len(tokens) for k, v in ce.items()}
    n_prop = lab.sum(0).float()
    live = n_fire > 0
    latents = best_properties(hits[live], n_fire[live], n_prop, names)
    for entry, idx in zip(latents, live.nonzero().flatten().tolist()):
        entry["latent"] = idx
    rate = (n_fire / n_tokens).mean().item()
    sample = H[torch.randperm(n_tokens, generator=torch.Generator().manual_seed(0))[:65536]]
    threshold = torch.quantile(sample, 1 - rate, dim=0)
    n_hits, n_neuron_fires = torch.zeros(H.shape[1], len(names)), torch.zeros(H.shape[1])
    for rows in torch.arange(n_tokens).split(8192):
        neuron_fires = (H[rows] > threshold).float()
        n_hits += neuron_fires.T @ lab[rows].float()
        n_neuron_fires += neuron_fires.sum(0)
    neurons = best_properties(n_hits, n_neuron_fires, n_prop, names)
    return {"fvu": round(rss / ((H - H.mean(0)) ** 2).sum().item(), 4), "l0": round(l0 / n_tokens, 2),
            "ce_loss_recovered": round((ce["zero"] - ce["sae"]) / (ce["zero"] - ce["clean"]), 4),
            "firing_rate": round(rate, 5), "latents": latents, "neurons": neurons}


@pytest.fixture(scope="module")
def case():
    from course.lm.model import LMConfig, TinyLM
    from course.sae.sae import SAE, SAEConfig

    torch.manual_seed(1)
    model = TinyLM(LMConfig(d_vocab=64, n_ctx=24, d_model=16, n_heads=2, d_head=8, d_mlp=32)).eval()
    sae = SAE(SAEConfig(d_in=32, d_sae=96, architecture="topk", k=5)).eval()
    tokens = torch.randint(0, 64, (70, 24))
    labels = torch.rand(70, 24, 6) < torch.tensor([0.05, 0.2, 0.5, 0.01, 0.3, 0.1])
    return sae, model, tokens, labels, [f"p{i}" for i in range(6)]


def test_same_record_as_the_in_memory_census(case):
    sae, model, tokens, labels, names = case
    new = measure(sae, model, tokens, labels, names, "blocks.0.mlp.hook_post", batch_size=16)
    old = in_memory_measure(sae, model, tokens, labels, names, "blocks.0.mlp.hook_post", batch_size=16)
    for key, value in old.items():
        if key in ("latents", "neurons"):
            assert [{k: v for k, v in e.items() if k != "neuron"} for e in new[key]] == value, key
        else:
            assert new[key] == value, key


def test_the_neuron_sample_is_a_subset_when_the_tokens_are_many(case):
    sae, model, tokens, labels, names = case
    few = measure(sae, model, tokens, labels, names, "blocks.0.mlp.hook_post", sample_size=500)
    old = in_memory_measure(sae, model, tokens, labels, names, "blocks.0.mlp.hook_post")
    assert few["fvu"] == old["fvu"] and few["latents"] == old["latents"]  # only the neurons' threshold moves
    assert [e["fires"] for e in few["neurons"]] != [e["fires"] for e in old["neurons"]]


def test_the_sink_sees_every_position_once(case):
    sae, model, tokens, labels, names = case

    class Count:
        rows: list = []

        def latents(self, row, acts):
            self.rows.append((row, len(acts)))

        def neurons(self, row, h, threshold):
            assert h.shape[1] == 32 and threshold.shape == (32,)

    sink = Count()
    measure(sae, model, tokens, labels, names, "blocks.0.mlp.hook_post", batch_size=16, sink=sink)
    starts = [r for r, _ in sink.rows]
    assert starts == sorted(starts) and sum(n for _, n in sink.rows) == 70 * 23
