"""Auto-interpretation without a language model: rule-based explanations, scored by detection.

Paulo et al. 2024 ("Automatically Interpreting Millions of Features in Large Language Models", arXiv
2410.13928; code: EleutherAI/delphi) explain a latent with an LLM that reads its top-activating contexts, then
score the explanation by *detection*: shown a mix of contexts, some where the latent fires and some where it
doesn't, does a judge reading only the explanation tell them apart? Activating contexts are drawn from every
activation quantile, not only the top, so an explanation of the strongest firings alone scores worse.

Offline, with no LLM, we keep the scoring and make the explainer and the judge rules:

    explainer   "tokens": the few token strings that make up most of the latent's top activations, or
                "label":  the ground-truth property (`course.lm.labels`) holding at most of them
    judge       predicts "fires" for a context when the explanation's rule holds at any of its tokens
    score       balanced accuracy: (recall on activating contexts + 1 - false-positive rate) / 2, so a rule
                that always says "fires" scores 0.5; recall is also reported per activation bin

Explanations come from one half of the evaluation windows and are scored on the other half.

    exp = explain_by_label(acts[:half], labels[:half], names)       # Explanation(label 'string', ...)
    rule = rule_mask(exp, tokens[half:], labels[half:], names)       # where the explanation says "fires"
    scores = detection_scores(contexts(rule), contexts(acts[half:]), n_bins=5)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class Explanation:
    kind: str  # "tokens" or "label"
    tokens: list[int] = field(default_factory=list)  # kind "tokens": the token ids
    label: str = ""  # kind "label": the property's name
    text: str = ""  # for people, e.g. "the tokens ' self', '.'" or "inside a string literal (label 'string')"
    coverage: float = 0.0  # the share of the top activations the rule covers

    def __repr__(self) -> str:
        return f"Explanation({self.text}; covers {self.coverage:.0%} of the top activations)"


def top_positions(acts: Tensor, n_top: int) -> Tensor:
    """Flat indices of the n_top largest activations (those above zero) of acts (n_windows, n_ctx)."""
    flat = acts.flatten()
    k = min(n_top, int((flat > 0).sum()))
    return flat.topk(k).indices if k else torch.zeros(0, dtype=torch.long)


def explain_by_tokens(acts: Tensor, tokens: Tensor, tokenizer=None, n_top: int = 50, cover: float = 0.8,
                      max_tokens: int = 5) -> Explanation:
    """The fewest of the commonest tokens among the n_top strongest activations that cover `cover` of them
    (at most max_tokens)."""
    idx = top_positions(acts, n_top)
    if len(idx) == 0:
        return Explanation("tokens", text="never fires")
    counts = Counter(tokens.flatten()[idx].tolist()).most_common()
    chosen, covered = [], 0
    for t, c in counts[:max_tokens]:
        chosen.append(t)
        covered += c
        if covered >= cover * len(idx):
            break
    shown = ", ".join(repr(tokenizer.decode([t])) if tokenizer is not None else str(t) for t in chosen)
    return Explanation("tokens", tokens=chosen, text=f"the token{'s' * (len(chosen) > 1)} {shown}",
                       coverage=covered / len(idx))


def explain_by_label(acts: Tensor, labels: Tensor, names: list[str], n_top: int = 50, cover: float = 0.8) -> Explanation:
    """The most specific ground-truth label that describes the n_top strongest activations: of the properties
    holding at `cover` of them or more, the rarest one (an explainer would say "inside a string" rather than "an
    identifier or anything else"); if none covers that many, the one covering the most.
    labels: (n_windows, n_ctx, n_props) bool."""
    idx = top_positions(acts, n_top)
    if len(idx) == 0:
        return Explanation("label", text="never fires")
    flat = labels.reshape(-1, labels.shape[-1])
    held = flat[idx].float().mean(0)  # (n_props,) share of the top activations where each property holds
    base = flat.float().mean(0)  # how common each property is
    enough = held >= cover
    best = int(torch.where(enough, -base, torch.full_like(base, -2.0)).argmax()) if enough.any() else int(held.argmax())
    return Explanation("label", label=names[best], text=f"label {names[best]!r}", coverage=held[best].item())


def rule_mask(explanation: Explanation, tokens: Tensor, labels: Tensor | None = None,
              names: list[str] | None = None) -> Tensor:
    """(n_windows, n_ctx) bool: where the explanation's rule holds."""
    if explanation.kind == "tokens":
        return torch.isin(tokens, torch.tensor(explanation.tokens, dtype=tokens.dtype))
    if not explanation.label:
        return torch.zeros(tokens.shape, dtype=torch.bool)
    return labels[..., names.index(explanation.label)]


def contexts(x: Tensor, length: int = 16) -> Tensor:
    """Cut windows (n_windows, n_ctx, ...) into contexts (n_windows * n_ctx // length, length, ...)."""
    n, n_ctx = x.shape[:2]
    usable = n_ctx - n_ctx % length
    return x[:, :usable].reshape(n * (usable // length), length, *x.shape[2:])


def detection_scores(rule: Tensor, acts: Tensor, n_bins: int = 5) -> dict:
    """Detection in the sense of Paulo et al. 2024, with a judge that follows a rule.

    rule: (n_contexts, length) bool, where the explanation holds; acts: (n_contexts, length) the latent's
    activations. A context is *activating* when the latent fires (> 0) anywhere in it; the judge predicts
    "activating" when the rule holds anywhere in it. Activating contexts are put in n_bins equal slices of
    (0, peak] by their largest activation, slice b holding (peak * b / n_bins, peak * (b + 1) / n_bins].

    Returns recall_by_bin (n_bins,) weakest first (the share of each bin's contexts the judge calls
    activating; 0 for an empty bin), recall (over all activating contexts), false_positive_rate (the share of
    non-activating contexts called activating) and balanced_accuracy = (recall + 1 - false_positive_rate) / 2.
    """
    peak_per = acts.max(dim=1).values  # (n_contexts,)
    activating = peak_per > 0
    predicted = rule.any(dim=1)
    peak = peak_per.max().clamp(min=1e-12)
    b = (torch.ceil(peak_per / peak * n_bins) - 1).clamp(0, n_bins - 1).long()
    recall_by_bin = torch.zeros(n_bins)
    for i in range(n_bins):
        here = activating & (b == i)
        recall_by_bin[i] = predicted[here].float().mean() if here.any() else 0.0
    recall = predicted[activating].float().mean().item() if activating.any() else 0.0
    fpr = predicted[~activating].float().mean().item() if (~activating).any() else 0.0
    return {"recall_by_bin": recall_by_bin, "recall": recall, "false_positive_rate": fpr,
            "balanced_accuracy": (recall + 1 - fpr) / 2}


def score_explanation(explanation: Explanation, acts: Tensor, tokens: Tensor, labels: Tensor | None = None,
                      names: list[str] | None = None, length: int = 16, n_bins: int = 5) -> dict:
    """detection_scores of an explanation on windows it was not made from (cut into contexts of `length`)."""
    rule = rule_mask(explanation, tokens, labels, names)
    return detection_scores(contexts(rule, length), contexts(acts, length), n_bins)


def detection_summary(data, neurons: bool = False, min_fires: int = 50, length: int = 16, n_bins: int = 5,
                      tokenizer=None, units: list[int] | None = None) -> dict:
    """Explain every unit of a `course.sae.features.FeatureData` that fires at least `min_fires` times in the
    first half of the windows (by label and by tokens, from that half) and score both explanations by
    detection on the second half. Returns {"units": [...], "label": (n,) balanced accuracies, "tokens": (n,),
    "labels": [the label chosen for each unit]}. For neurons, the activation above the census threshold counts
    as firing (as the census binarises them). `units`: only these (default: all)."""
    from course.lm.labels import PROPERTIES

    names = list(PROPERTIES)
    half = len(data.tokens) // 2
    store = data.neurons if neurons else data.latents
    n_units = len(store.offsets) - 1
    done, by_label, by_tokens, chosen = [], [], [], []
    for u in (range(n_units) if units is None else units):
        acts = data.neuron_acts(u) if neurons else data.latent_acts(u)
        if int((acts[:half] > 0).sum()) < min_fires:
            continue
        exp_label = explain_by_label(acts[:half], data.labels[:half], names)
        exp_tokens = explain_by_tokens(acts[:half], data.tokens[:half], tokenizer)
        test = (acts[half:], data.tokens[half:], data.labels[half:], names, length, n_bins)
        done.append(u)
        chosen.append(exp_label.label)
        by_label.append(score_explanation(exp_label, *test)["balanced_accuracy"])
        by_tokens.append(score_explanation(exp_tokens, *test)["balanced_accuracy"])
    return {"units": done, "label": torch.tensor(by_label), "tokens": torch.tensor(by_tokens), "labels": chosen}
