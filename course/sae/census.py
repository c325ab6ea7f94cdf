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

from course import registry
from course.errors import CourseError
from course.lm.corpus import read_texts, split_files
from course.lm.labels import PROPERTIES, label_file, token_identity
from course.sae.sae import SAE

MIN_FIRES, MIN_PRECISION = 50, 0.8


def load(name: str, device: str = "cpu") -> tuple[SAE, registry.Entry]:
    """A shipped SAE (eval mode) and its registry entry, verified by sha256."""
    state, entry = registry.load_state(name, device=device)
    lm = entry.config.get("lm")
    if lm and registry.entry(lm).sha256 != entry.config.get("lm_sha256"):
        raise CourseError(f"The SAE {name!r} was trained on another version of {lm!r} than the one installed. "
                          f"Retrain it with `course train {name}` (after `course train {lm}` if you rebuilt that).")
    return SAE.from_state(entry.config["sae"], state).to(device), entry


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
    ident = token_identity(tokens.flatten(), frequent).view(n, n_ctx, -1)
    return tokens, torch.cat([lab, ident], dim=-1), names


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


@torch.no_grad()
def measure(sae: SAE, model, tokens: Tensor, labels: Tensor, names: list[str], hook: str,
            skip_first: int = 1, batch_size: int = 32) -> dict:
    """Every figure of the census record (see the module docstring), streaming over the tokens."""
    d_sae = sae.cfg.d_sae
    hits, n_fire, l0 = torch.zeros(d_sae, len(names)), torch.zeros(d_sae), 0.0
    hidden, rss, ce = [], 0.0, {"clean": 0.0, "sae": 0.0, "zero": 0.0}
    seen: dict[str, Tensor] = {}

    def splice(a: Tensor, hook_point) -> Tensor:  # the SAE's reconstruction in place of the activation
        seen["h"], seen["acts"] = a, sae.encode(a)  # encoded once: the figures below reuse it
        seen["recon"] = sae.decode(seen["acts"])
        return seen["recon"]

    zero = lambda a, hook_point: torch.zeros_like(a)  # noqa: E731
    lab = labels[:, skip_first:].reshape(-1, labels.shape[-1])  # bool; made float a chunk at a time
    start = 0  # the first label row of the current chunk
    flat = lambda t: t[:, skip_first:].reshape(-1, t.shape[-1])  # noqa: E731  (batch, pos, d) -> (rows, d)
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
    # neurons, binarised to fire as often as the SAE's latents do on average
    rate = (n_fire / n_tokens).mean().item()
    sample = H[torch.randperm(n_tokens, generator=torch.Generator().manual_seed(0))[:65536]]
    threshold = torch.quantile(sample, 1 - rate, dim=0)
    n_hits, n_neuron_fires = torch.zeros(H.shape[1], len(names)), torch.zeros(H.shape[1])
    for rows in torch.arange(n_tokens).split(8192):
        neuron_fires = (H[rows] > threshold).float()
        n_hits += neuron_fires.T @ lab[rows].float()
        n_neuron_fires += neuron_fires.sum(0)
    neurons = best_properties(n_hits, n_neuron_fires, n_prop, names)
    for i, entry in enumerate(neurons):
        entry["neuron"] = i
    explained = [e for e in latents if e["explained"]]
    return {
        "fvu": round(rss / ((H - H.mean(0)) ** 2).sum().item(), 4),
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
