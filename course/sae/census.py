"""`course census SAE_NAME`: how good a shipped SAE is, and which of its latents ground truth explains.

On held-out standard-library files (the LM's validation split), labelled token by token with
`course.lm.labels`:

    fvu, l0, dead_fraction     reconstruction and sparsity (dead: never fires on the evaluation tokens)
    ce_loss_recovered          (CE with the MLP zero-ablated - CE with the SAE spliced in) /
                               (CE zero-ablated - CE clean): 1 means the SAE loses nothing the MLP carries
    explained_fraction         live latents whose firings fall at least 80% on one property (>= 50 firings)
    neuron_explained_fraction  the same for the LM's MLP neurons, each binarised to fire as often as the SAE's
                               latents do on average (a neuron fires above its own (1 - rate) quantile)

The gap between the last two is the lesson's point: the MLP's neurons are polysemantic (superposition), the
SAE's latents much less so.
"""

from __future__ import annotations

import torch
from torch import Tensor

from course.lm.corpus import read_texts, split_files
from course.lm.labels import PROPERTIES, label_file, token_identity
from course.sae.sae import SAE
from course.sae.shipped import load  # noqa: F401  (course.sae.census.load, as before)

MIN_FIRES, MIN_PRECISION = 50, 0.8


def eval_tokens(tokenizer, n_ctx: int, max_windows: int = 2048,
                top_tokens: int | None = None) -> tuple[Tensor, Tensor, list[str]]:
    """Labelled held-out windows: tokens (n_windows, n_ctx), labels (n_windows, n_ctx, n_props), prop names.

    Every file of the validation split is labelled and the windows are spread evenly over all of them, so the
    census sees the split's mix of code, comments and docstrings (the first few files alone are not typical:
    one long comment block or data table would set the base rates). Token identity (`token:<text>`) is a
    property for every token seen at least MIN_FIRES times (a unit needs that many firings to be explained,
    so rarer tokens could explain none), or for the `top_tokens` most frequent ones."""
    ids: list[int] = []
    labels = []
    eot = tokenizer.token_to_id("<|endoftext|>")
    for text in read_texts(split_files("val")):
        try:
            i, lab = label_file(text, tokenizer)
        except Exception:  # a file that isn't valid Python (the test suite has a few on purpose): skip it
            continue
        ids += i + [eot]
        labels += [lab, torch.zeros(1, lab.shape[1], dtype=torch.bool)]
    all_ids, all_lab = torch.tensor(ids), torch.cat(labels)
    n = min(len(ids) // n_ctx, max_windows)
    starts = torch.linspace(0, len(ids) - n_ctx, n).long()  # evenly spaced over the whole split
    index = starts[:, None] + torch.arange(n_ctx)[None, :]
    tokens, lab = all_ids[index], all_lab[index]
    counts = torch.bincount(tokens.flatten(), minlength=tokenizer.get_vocab_size())
    counts[eot] = 0
    order = counts.argsort(descending=True)
    n_frequent = int((counts >= MIN_FIRES).sum()) if top_tokens is None else top_tokens
    frequent = order[:n_frequent].tolist()
    names = list(PROPERTIES) + [f"token:{tokenizer.decode([t])}" for t in frequent]
    out = torch.empty(n, n_ctx, lab.shape[-1] + len(frequent), dtype=torch.bool)  # filled in place: one copy
    out[..., :lab.shape[-1]] = lab
    for rows in torch.arange(n).split(256):
        out[rows, :, lab.shape[-1]:] = token_identity(tokens[rows].flatten(), frequent).view(len(rows), n_ctx, -1)
    return tokens, out, names


def best_properties(hits: Tensor, n_fire: Tensor, n_prop: Tensor, names: list[str]) -> list[dict]:
    """For each unit, its best property by precision, from co-occurrence counts: hits (units, props) = how often
    the unit fires where the property holds; n_fire (units,); n_prop (props,)."""
    precision = hits / n_fire.clamp(min=1)[:, None]
    recall = hits / n_prop.clamp(min=1)[None, :]
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    # the highest precision; among properties over the bar, the most informative one (highest F1)
    best = torch.where(precision >= MIN_PRECISION, 1 + f1, precision).argmax(1)
    rows = torch.arange(len(best))
    p, r, f = precision[rows, best].tolist(), recall[rows, best].tolist(), f1[rows, best].tolist()
    return [{"property": names[b], "precision": round(p[u], 4), "recall": round(r[u], 4), "f1": round(f[u], 4),
             "fires": int(n_fire[u]), "explained": p[u] >= MIN_PRECISION and int(n_fire[u]) >= MIN_FIRES}
            for u, b in enumerate(best.tolist())]


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the activation it wants has been read."""


def _activations_at(model, chunk: Tensor, hook: str) -> Tensor:
    """The activation at `hook` for token windows, without running the rest of the model."""
    seen: dict[str, Tensor] = {}

    def grab(a: Tensor, hook_point) -> None:
        seen["h"] = a
        raise _Stop

    try:
        model.run_with_hooks(chunk, [(hook, grab)])
    except _Stop:
        pass
    return seen["h"]


@torch.no_grad()
def measure(sae: SAE, model, tokens: Tensor, labels: Tensor, names: list[str], hook: str,
            skip_first: int = 1, batch_size: int = 32, sample_size: int = 65536, sink=None) -> dict:
    """Every figure of the census record (see the module docstring), streaming over the tokens.

    Two passes, so that no more than one chunk of activations is ever held (the activations of the whole
    evaluation set are 0.5 GB; the census used to keep them, and peaked at 3.7 GB): the first runs the LM
    clean, with the SAE spliced in and with the MLP zero-ablated, and counts the latents' firings; the second
    reads the activations again (stopping the forward pass at the hook) to bin the neurons at a threshold
    that needs the first pass's firing rate, and for the total variance about the mean that FVU divides by.
    The neurons' threshold comes from the same `sample_size` random rows (seed 0) an in-memory pass would use.

    `sink`, if given, sees every chunk as it streams past (for stores such as `course.sae.features`):
    sink.latents(row, acts) in the first pass and sink.neurons(row, h, threshold) in the second, where `row` is
    the chunk's first row among the (n_windows * (n_ctx - skip_first)) evaluated positions."""
    d_sae, n_labels = sae.cfg.d_sae, labels.shape[-1]
    hits, n_fire, l0 = torch.zeros(d_sae, len(names)), torch.zeros(d_sae), 0.0
    rss, ce = 0.0, {"clean": 0.0, "sae": 0.0, "zero": 0.0}
    n_prop = torch.zeros(n_labels, dtype=torch.long)
    seen: dict[str, Tensor] = {}

    def splice(a: Tensor, hook_point) -> Tensor:  # the SAE's reconstruction in place of the activation
        seen["h"], seen["acts"] = a, sae.encode(a)  # encoded once: the figures below reuse it
        seen["recon"] = sae.decode(seen["acts"])
        return seen["recon"]

    zero = lambda a, hook_point: torch.zeros_like(a)  # noqa: E731
    flat = lambda t: t[:, skip_first:].reshape(-1, t.shape[-1])  # noqa: E731  (batch, pos, d) -> (rows, d)
    chunks = list(zip(tokens.split(batch_size), labels.split(batch_size)))
    n_tokens = len(tokens) * (tokens.shape[1] - skip_first)
    pick = torch.randperm(n_tokens, generator=torch.Generator().manual_seed(0))[:sample_size]
    slot = torch.full((n_tokens,), -1, dtype=torch.long)
    slot[pick] = torch.arange(len(pick))  # where each sampled row goes in the sample (the order of `pick`)
    sample, sum_h, start = None, None, 0
    for chunk, lab_chunk in chunks:
        ce["clean"] += model(chunk, return_type="loss").item() * len(chunk)
        ce["sae"] += model.run_with_hooks(chunk, [(hook, splice)], return_type="loss").item() * len(chunk)
        ce["zero"] += model.run_with_hooks(chunk, [(hook, zero)], return_type="loss").item() * len(chunk)
        h, acts, lab = flat(seen["h"]), flat(seen["acts"]), flat(lab_chunk)
        rss += ((h - flat(seen["recon"])) ** 2).sum().item()
        if sink is not None:
            sink.latents(start, acts)
        fires = (acts > 0).float()
        hits += fires.T @ lab.float()
        n_prop += lab.sum(0)
        n_fire += fires.sum(0)
        l0 += fires.sum().item()
        if sample is None:
            sample = torch.zeros(len(pick), h.shape[1], dtype=h.dtype)
            sum_h = torch.zeros(h.shape[1], dtype=torch.float64)
        where = slot[start:start + len(h)]
        keep = where >= 0
        sample[where[keep]] = h[keep]
        sum_h += h.sum(0, dtype=torch.float64)
        start += len(h)
    ce = {k: v / len(tokens) for k, v in ce.items()}
    n_prop = n_prop.float()
    live = n_fire > 0
    latents = best_properties(hits[live], n_fire[live], n_prop, names)
    for entry, idx in zip(latents, live.nonzero().flatten().tolist()):
        entry["latent"] = idx
    # neurons, binarised to fire as often as the SAE's latents do on average: a second pass over the activations
    rate = (n_fire / n_tokens).mean().item()
    threshold = torch.quantile(sample, 1 - rate, dim=0)
    del sample
    mean = (sum_h / n_tokens).to(torch.float32)
    tss = 0.0
    n_hits, n_neuron_fires = torch.zeros(len(threshold), len(names)), torch.zeros(len(threshold))
    start = 0
    for chunk, lab_chunk in chunks:
        h, lab = flat(_activations_at(model, chunk, hook)), flat(lab_chunk)
        if sink is not None:
            sink.neurons(start, h, threshold)
        start += len(h)
        tss += ((h - mean) ** 2).sum(dtype=torch.float64).item()
        neuron_fires = (h > threshold).float()
        n_hits += neuron_fires.T @ lab.float()
        n_neuron_fires += neuron_fires.sum(0)
    neurons = best_properties(n_hits, n_neuron_fires, n_prop, names)
    for i, entry in enumerate(neurons):
        entry["neuron"] = i
    explained = [e for e in latents if e["explained"]]
    return {
        "fvu": round(rss / tss, 4),
        "l0": round(l0 / n_tokens, 2),
        "dead_fraction": round(1 - live.float().mean().item(), 4),
        "ce_loss_clean": round(ce["clean"], 4), "ce_loss_with_sae": round(ce["sae"], 4),
        "ce_loss_zero_ablated": round(ce["zero"], 4),
        "ce_loss_recovered": round((ce["zero"] - ce["sae"]) / (ce["zero"] - ce["clean"]), 4),
        "explained_fraction": round(len(explained) / max(int(live.sum()), 1), 4),
        "explained_properties": sorted({e["property"] for e in explained if not e["property"].startswith("token:")}),
        "neuron_explained_fraction": round(sum(e["explained"] for e in neurons) / len(neurons), 4),
        "firing_rate": round(rate, 5),
        "eval_tokens": n_tokens,
        "latents": latents,
        "neurons": neurons,
    }


def census(name: str) -> dict:
    from course.lm.train import load as load_lm

    sae, entry = load(name)
    model, tok = load_lm(entry.config["lm"])
    tokens, labels, names = eval_tokens(tok, model.cfg.n_ctx)
    record = measure(sae, model, tokens, labels, names, entry.config["hook"])
    return {"model": name, "lm": entry.config["lm"], "hook": entry.config["hook"], **record}


def render(record: dict, top: int = 25) -> str:
    props = record["explained_properties"]
    lines = [
        f"SAE {record['model']} on {record['lm']} at {record['hook']} ({record['eval_tokens']} held-out tokens)",
        f"  FVU {record['fvu']:.3f}   L0 {record['l0']:.1f}   dead {record['dead_fraction']:.1%}   "
        f"CE loss recovered {record['ce_loss_recovered']:.1%} (clean {record['ce_loss_clean']:.3f}, with SAE "
        f"{record['ce_loss_with_sae']:.3f}, MLP ablated {record['ce_loss_zero_ablated']:.3f})",
        f"  explained latents {record['explained_fraction']:.1%} of live ones, over {len(props)} properties "
        f"besides token identity; MLP neurons {record['neuron_explained_fraction']:.1%}",
        f"  properties: {', '.join(props)}",
        "",
        "  the best latent for each property (by F1), then the best token-identity latents:",
        f"  {'latent':>6}  {'property':<24} {'precision':>9} {'recall':>7} {'fires':>6}",
    ]
    explained = sorted((e for e in record["latents"] if e["explained"]), key=lambda e: -e["f1"])
    best: dict[str, dict] = {}
    for e in explained:
        if not e["property"].startswith("token:"):
            best.setdefault(e["property"], e)
    rows = sorted(best.values(), key=lambda e: -e["f1"]) + [e for e in explained if e["property"].startswith("token:")][:top]
    for e in rows:
        lines.append(f"  {e['latent']:>6}  {e['property'][:24]:<24} {e['precision']:>9.2f} {e['recall']:>7.3f} {e['fires']:>6}")
    return "\n".join(lines)
