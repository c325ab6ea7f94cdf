"""Steering a language model with an SAE latent, and measuring the effect with ground truth.

    hook = steering_hook(sae, latent, value=8.0, mode="clamp")    # a hook function for model.run_with_hooks
    prompts = held_out_prompts(tokenizer, n=64, length=32)         # (64, 32) windows of held-out code
    gen = generate(model, prompts, [(HOOK, hook)], max_new_tokens=32, seed=0)
    shares = string_shares(tokenizer, gen)                          # per prompt: share of new tokens in strings
    record = experiment(model, sae, tokenizer, HOOK, latent=338, value=8.0)   # steered vs unsteered vs control

Two ways to steer (as in Templeton et al. 2024, "Scaling Monosemanticity", and Turner et al.'s activation
addition):

    clamp  the latent's activation is set to `value` at every position, keeping the SAE's error term, so the
           rest of the activation is untouched:  x' = x + (value - a_i(x)) d_i   (d_i: the decoder row, in the
           model's units); value 0 is the seed's "reducing its activation", an ablation
    add    x' = x + value d_i, whatever the latent was doing

The effect is measured, not eyeballed: how many of the generated tokens Python's own tokenizer places inside
string literals (`course.lm.measure`), against the unsteered model and against a control latent steered the
same way, over many held-out prompts with the same sampling seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from course.lm.measure import tokens_in_string
from course.sae.sae import SAE

MODES = ("clamp", "add")


def steering_hook(sae: SAE, latent: int | list[int], value: float, mode: str = "clamp"):
    """A hook function (act, hook) -> act' that steers `latent` (or several latents, each the same way) at every
    position (see the module docstring). It never changes the model or the SAE: attach it for one call
    (`run_with_hooks`, `generate(fwd_hooks=...)`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    latents = [latent] if isinstance(latent, int) else list(latent)
    directions = sae.W_dec[latents].detach() / sae.norm_scale  # (n, d_in) in the model's units

    def clamp(act: Tensor, hook_point) -> Tensor:
        a = sae.encode(act)[..., latents]  # (..., n): what the latents are doing now
        return act + (value - a) @ directions  # = decode(latents with a_i := value) + the SAE's error

    def add(act: Tensor, hook_point) -> Tensor:
        return act + value * directions.sum(0)

    return clamp if mode == "clamp" else add


def held_out_prompts(tokenizer, n: int = 64, length: int = 32, seed: int = 0, max_files: int | None = None) -> Tensor:
    """(n, length) token windows from the held-out files, each starting at the start of a line, drawn with
    `seed` (the same prompts for every condition of an experiment)."""
    from course.lm.corpus import read_texts, split_files
    from course.lm.tokenizer import EOT

    eot = tokenizer.token_to_id(EOT)
    files = split_files("val")[:max_files] if max_files else split_files("val")
    ids: list[int] = []
    for enc in tokenizer.encode_batch(list(read_texts(files))):
        ids += enc.ids + [eot]
    stream = torch.tensor(ids)
    newline = torch.tensor([("\n" in tokenizer.decode([int(t)])) for t in range(tokenizer.get_vocab_size())])
    starts = (newline[stream[:-length]]).nonzero().flatten() + 1  # just after a newline
    windows = starts[:, None] + torch.arange(length)
    ok = ~(stream[windows] == eot).any(1)  # within one file
    starts = starts[ok]
    g = torch.Generator().manual_seed(seed)
    pick = starts[torch.randperm(len(starts), generator=g)[:n]]
    return stream[pick[:, None] + torch.arange(length)]


@torch.no_grad()
def generate(model, prompts: Tensor, fwd_hooks=(), max_new_tokens: int = 32, temperature: float = 1.0,
             seed: int = 0, top_k: int | None = None) -> Tensor:
    """(n, max_new_tokens) sampled continuations of the prompts (n, pos), with `fwd_hooks` on at every step.
    Sampling is seeded, so two conditions differ only where the hooks make them differ."""
    g = torch.Generator().manual_seed(seed)
    out = model.generate(prompts, max_new_tokens, temperature=temperature, top_k=top_k, fwd_hooks=fwd_hooks,
                         generator=g)
    return out[:, prompts.shape[1]:]


def string_shares(tokenizer, prompts: Tensor, generated: Tensor) -> Tensor:
    """(n,) per prompt: the share of its generated tokens (up to an end-of-text) that Python's tokenizer, reading
    prompt + generation, places inside a string literal."""
    from course.lm.tokenizer import EOT

    eot = tokenizer.token_to_id(EOT)
    shares = []
    for p, g in zip(prompts.tolist(), generated.tolist()):
        if eot in g:
            g = g[: g.index(eot)]
        if eot in p:
            p = p[len(p) - p[::-1].index(eot):]
        if not g:
            shares.append(float("nan"))
            continue
        pieces = [tokenizer.decode([t]) for t in p + g]
        flags = tokens_in_string(pieces)[len(p):]
        shares.append(sum(flags) / len(flags))
    return torch.tensor(shares)


@dataclass
class Condition:
    name: str  # e.g. "unsteered", "latent 338 clamped to 8"
    share: float  # mean share of generated tokens inside strings, over the prompts
    stderr: float  # its standard error over prompts
    n: int  # prompts that generated at least one token
    samples: list[str]  # a few generations, decoded

    def __repr__(self) -> str:
        return f"Condition({self.name}: {self.share:.1%} ± {self.stderr:.1%} over {self.n} prompts)"


def summarise(name: str, shares: Tensor, texts: list[str]) -> Condition:
    ok = shares[~shares.isnan()]
    n = len(ok)
    sd = ok.std().item() if n > 1 else 0.0
    return Condition(name, ok.mean().item() if n else float("nan"), sd / math.sqrt(max(n, 1)), n, texts)


def compare(model, sae: SAE, tokenizer, hook: str, conditions: dict, prompts: Tensor, max_new_tokens: int = 32,
            temperature: float = 1.0, seed: int = 0, progress=None) -> dict[str, Condition]:
    """Generate from the same prompts with the same sampling seed under each condition, and measure each.

    conditions: name -> None (unsteered) or (latent or latents, value, mode). Returns name -> Condition."""
    out = {}
    for i, (name, how) in enumerate(conditions.items()):
        if progress:
            progress(i / len(conditions), f"generating: {name}")
        hooks = [] if how is None else [(hook, steering_hook(sae, *how))]
        gen = generate(model, prompts, hooks, max_new_tokens, temperature, seed)
        texts = [tokenizer.decode(g) for g in gen[:4].tolist()]
        out[name] = summarise(name, string_shares(tokenizer, prompts, gen), texts)
    if progress:
        progress(1.0, "done")
    return out


def experiment(model, sae: SAE, tokenizer, hook: str, latent: int, value: float, mode: str = "clamp",
               control: int | None = None, n_prompts: int = 64, prompt_length: int = 32, max_new_tokens: int = 32,
               temperature: float = 1.0, seed: int = 0, prompts: Tensor | None = None, progress=None) -> dict:
    """Unsteered, `latent` steered, and (if given) a `control` latent steered the same way, from the same held-out
    prompts with the same sampling seed. Returns {"unsteered", "steered", "control": Condition (or None),
    "prompts": n}."""
    prompts = held_out_prompts(tokenizer, n_prompts, prompt_length, seed) if prompts is None else prompts
    conditions = {"unsteered": None, f"latent {latent} {_verb(mode, value)}": (latent, value, mode)}
    if control is not None:
        conditions[f"control: latent {control} {_verb(mode, value)}"] = (control, value, mode)
    got = list(compare(model, sae, tokenizer, hook, conditions, prompts, max_new_tokens, temperature, seed,
                       progress).values())
    return {"unsteered": got[0], "steered": got[1], "control": got[2] if control is not None else None,
            "prompts": len(prompts)}


def _verb(mode: str, value: float) -> str:
    return f"clamped to {value:g}" if mode == "clamp" else f"plus {value:g} x its direction"
