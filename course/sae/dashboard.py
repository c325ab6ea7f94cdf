"""What a latent does, the way feature dashboards show it (Anthropic's "Towards Monosemanticity", Neuronpedia).

    acts = latent_activations(sae, model, tokens, hook)        # (n_windows, n_ctx, d_sae), streamed in chunks
    top_contexts(acts[..., i], tokens, tok)                     # the contexts where latent i fires hardest
    quantile_examples(acts[..., i], tokens, tok)                # examples across its activation range
    logit_effects(sae, model, i)                                # tokens the latent pushes up and down
    steer(model, sae, hook, prompt_ids, i, value=8.0)           # generate with the latent clamped on

Contexts come back as `Context` records: the tokens around the position, their activations, and a
`highlight()` that marks them up (brackets in text, HTML spans for the app).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import torch
from torch import Tensor

from course.sae.sae import SAE


@dataclass
class Context:
    pieces: list[str]  # the decoded tokens around the position
    acts: list[float]  # the latent's activation on each of them
    focus: int  # index of the position the context was chosen for
    value: float  # the activation there

    def __repr__(self) -> str:
        return f"Context({self.value:.2f}: {self.highlight()!r})"

    def highlight(self, threshold: float = 0.0) -> str:
        """Plain text, with ⟦ ⟧ around tokens where the latent is active and the focus token in ⟦⟦ ⟧⟧."""
        out = []
        for i, (p, a) in enumerate(zip(self.pieces, self.acts)):
            if i == self.focus:
                out.append(f"⟦⟦{p}⟧⟧")
            elif a > threshold:
                out.append(f"⟦{p}⟧")
            else:
                out.append(p)
        return "".join(out)

    def html(self) -> str:
        """HTML with each token shaded by its activation (for st.markdown(..., unsafe_allow_html=True))."""
        peak = max(max(self.acts), 1e-9)
        spans = []
        for i, (p, a) in enumerate(zip(self.pieces, self.acts)):
            alpha = max(a, 0.0) / peak
            border = "border-bottom:2px solid #c0392b;" if i == self.focus else ""
            text = html.escape(p).replace("\n", "⏎<br>").replace(" ", "&nbsp;")
            spans.append(f'<span style="background:rgba(255,120,0,{alpha:.2f});{border}" title="{a:.2f}">{text}</span>')
        return f'<div style="font-family:monospace;font-size:0.85em;line-height:1.6">{"".join(spans)}</div>'


@torch.no_grad()
def latent_activations(sae: SAE, model, tokens: Tensor, hook: str, latents: list[int] | None = None,
                       batch_size: int = 32) -> Tensor:
    """(n_windows, n_ctx, len(latents) or d_sae) activations of the SAE's latents on token windows."""
    out = []
    for chunk in tokens.split(batch_size):
        _, cache = model.run_with_cache(chunk, names_filter=hook)
        acts = sae.encode(cache[hook])
        out.append(acts if latents is None else acts[..., latents])
    return torch.cat(out)


def _context(tokens: Tensor, acts: Tensor, w: int, p: int, tokenizer, left: int, right: int) -> Context:
    lo, hi = max(p - left, 0), min(p + right + 1, tokens.shape[1])
    ids = tokens[w, lo:hi].tolist()
    return Context([tokenizer.decode([t]) for t in ids], acts[w, lo:hi].tolist(), p - lo, acts[w, p].item())


def top_contexts(acts: Tensor, tokens: Tensor, tokenizer, k: int = 10, left: int = 12, right: int = 4) -> list[Context]:
    """The k positions where one latent's activations (n_windows, n_ctx) are largest, with their contexts."""
    flat = acts.flatten()
    k = min(k, int((flat > 0).sum()))
    idx = flat.topk(k).indices if k else torch.tensor([], dtype=torch.long)
    n_ctx = acts.shape[1]
    return [_context(tokens, acts, int(i) // n_ctx, int(i) % n_ctx, tokenizer, left, right) for i in idx]


def quantile_examples(acts: Tensor, tokens: Tensor, tokenizer, n_bins: int = 5, per_bin: int = 3,
                      left: int = 12, right: int = 4, seed: int = 0) -> list[tuple[float, float, list[Context]]]:
    """Examples spread over the latent's range: for each of n_bins equal slices (lo, hi] of (0, max], a few
    random positions whose activation falls in it. Returns [(lo, hi, contexts)], strongest bin first."""
    flat = acts.flatten()
    peak = flat.max().item()
    if peak <= 0:
        return []
    g = torch.Generator().manual_seed(seed)
    n_ctx = acts.shape[1]
    out = []
    for b in reversed(range(n_bins)):
        lo, hi = peak * b / n_bins, peak * (b + 1) / n_bins
        where = ((flat > lo) & (flat <= hi)).nonzero().flatten()
        if len(where) == 0:
            continue
        pick = where[torch.randperm(len(where), generator=g)[:per_bin]]
        out.append((lo, hi, [_context(tokens, acts, int(i) // n_ctx, int(i) % n_ctx, tokenizer, left, right)
                             for i in pick]))
    return out


@torch.no_grad()
def logit_effects(sae: SAE, model, latent: int, tokenizer=None, k: int = 10) -> dict:
    """The direct effect of a latent's decoder direction on the logits (through W_out, the unembedding, and the
    final LayerNorm's weights; the LayerNorm's scaling is ignored, as in the usual "logit lens" of a feature).
    Returns {"up": [(token, value)], "down": [...]} (token ids, or strings with a tokenizer)."""
    mlp = model.blocks[-1].mlp
    direction = sae.W_dec[latent] / sae.norm_scale  # into the MLP's output space, in model units
    effect = (direction @ mlp.W_out) * model.ln_final.w @ model.unembed.W_U  # (d_vocab,)
    name = (lambda t: tokenizer.decode([t])) if tokenizer is not None else (lambda t: t)  # noqa: E731
    up, down = effect.topk(k), (-effect).topk(k)
    return {"up": [(name(int(t)), round(v.item(), 3)) for v, t in zip(up.values, up.indices)],
            "down": [(name(int(t)), round(-v.item(), 3)) for v, t in zip(down.values, down.indices)]}


@torch.no_grad()
def steer(model, sae: SAE, hook: str, prompt: Tensor, latent: int, value: float = 8.0, mode: str = "clamp",
          max_new_tokens: int = 40, temperature: float = 0.0, generator: torch.Generator | None = None) -> Tensor:
    """Generate from `prompt` (1, pos) with a latent steered at every position:

    mode "clamp": replace the activation with the SAE's reconstruction after setting the latent to `value`,
                  keeping the SAE's error term (so nothing else changes);
    mode "add":   add `value` times the latent's decoder direction to the activation.
    """
    direction = sae.W_dec[latent] / sae.norm_scale

    def clamp(act: Tensor, hook_point) -> Tensor:
        acts = sae.encode(act)
        error = act - sae.decode(acts)
        acts[..., latent] = value
        return sae.decode(acts) + error

    def add(act: Tensor, hook_point) -> Tensor:
        return act + value * direction

    fn = {"clamp": clamp, "add": add}[mode]
    return model.generate(prompt, max_new_tokens, temperature=temperature, fwd_hooks=[(hook, fn)], generator=generator)
