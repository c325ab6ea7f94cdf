# Exercises for lesson 07: SAEs on a small language model: features, dashboards, steering. Fill in each `raise NotImplementedError`, then run `course check 07`.
# (Generated from solutions.py by `course sync`; edit your own copy, made by `course start 07`.)
"""Lesson 07: SAEs on a small language model. Your exercises: fill in each `raise NotImplementedError`.

Exercises, easiest first (points in brackets; `course check 07` grades them):

    1. fvu                  fraction of variance unexplained, about the mean                          [1]
    2. cache_activations    read an activation with a hook, and take the hook off again               [2]
    3. precision_recall_f1  grade every unit against every ground-truth property at once              [2]
    4. top_contexts         where a latent fires hardest, and the tokens around it                    [2]
    5. logit_effects        which next tokens a latent's decoder direction pushes up                  [2]
    6. ce_loss_recovered    splice the SAE into the model: how much of the MLP's work survives?       [3]
    7. detection_scores     score a rule-based explanation by detection (Paulo et al. 2024)           [3]
    8. steered_logits       steer with a latent (clamp or add) without touching the shared model      [3]

The checks run your functions on the shipped `pylm` and `pylm-sae` and on small random LMs and SAEs they
build, with TransformerLens's names for the model (`model.hook_dict`, `blocks.0.mlp.hook_post`, `W_out`,
`W_U`) and SAELens's for the SAE (`W_enc`, `b_enc`, `W_dec`, `b_dec`; `sae.encode`, `sae.decode`).

    from course.lm.train import load          # model, tokenizer = load("pylm")
    from course.sae.shipped import load_sae   # sae = load_sae("pylm-sae")
"""

import torch
from torch import Tensor

from course.lm.model import TinyLM
from course.sae.sae import SAE


def fvu(x: Tensor, x_hat: Tensor) -> float:
    """Fraction of variance unexplained of a reconstruction x_hat of x, both (n_inputs, d):

        FVU = sum over inputs and dimensions of (x - x_hat)^2 / sum of (x - mean of x over the inputs)^2

    0 is a perfect reconstruction; 1 is no better than always answering the mean input.
    """
    # Hint: the denominator is about x.mean(dim=0), the mean input, not about zero
    raise NotImplementedError("fvu: your code here")


def cache_activations(model: TinyLM, tokens: Tensor, hook_name: str) -> Tensor:
    """The activation at `hook_name` when the model reads `tokens` (batch, pos), e.g. (batch, pos, d_mlp) for
    "blocks.0.mlp.hook_post".

    Write the hook yourself: append a function fn(act, hook) to `model.hook_dict[hook_name].fns` (a function
    that returns None leaves the activation as it is), run the model, and remove the function again, even if
    the forward pass raises. The model is shared (the app hands one model to every learner): a hook left on it
    runs in everyone's next forward pass.
    """
    # Hint: try: append, run the model; finally: remove (fns.remove(fn))
    raise NotImplementedError("cache_activations: your code here")


def precision_recall_f1(fires: Tensor, labels: Tensor) -> dict:
    """Grade every unit against every property at once.

    fires: (n_tokens, n_units) bool, where each unit fires; labels: (n_tokens, n_props) bool, where each
    property holds. Returns {"precision", "recall", "f1"}, each (n_units, n_props) float32:

        precision[u, p] = share of u's firings where p holds        (0 if u never fires)
        recall[u, p]    = share of p's tokens where u fires          (0 if p never holds)
        f1[u, p]        = 2 precision recall / (precision + recall)  (0 if both are 0)
    """
    # Hint: hits = fires.float().T @ labels.float() counts both at once; clamp the divisors at 1
    raise NotImplementedError("precision_recall_f1: your code here")


def top_contexts(acts: Tensor, tokens: Tensor, k: int = 10, left: int = 4, right: int = 2) -> dict:
    """Where one latent fires hardest. acts: (n_windows, n_ctx) its activations; tokens: (n_windows, n_ctx).

    Returns, for the k largest activations above zero (fewer if it fires fewer times), strongest first:
        "values":    (k,) the activations
        "windows":   (k,) long, the window of each
        "positions": (k,) long, the position in the window
        "context":   (k, left + 1 + right) long, the tokens from position - left to position + right of the
                     same window, -1 where that runs past the window's start or end
    """
    # Hint: topk on acts.flatten(); a flat index i is window i // n_ctx, position i % n_ctx
    raise NotImplementedError("top_contexts: your code here")


def logit_effects(model: TinyLM, sae: SAE, latent: int) -> Tensor:
    """(d_vocab,) the direct effect on the logits of one unit of `latent`, for an SAE that reads the last block's
    MLP neurons (blocks.L.mlp.hook_post): its decoder row, in the model's units (W_dec[latent] / norm_scale),
    through the MLP's W_out, the final LayerNorm's weight (ln_final.w; its scaling is ignored) and W_U.
    """
    # Hint: (direction @ W_out) * ln_final.w, then @ W_U; the direction is a row of W_dec
    raise NotImplementedError("logit_effects: your code here")


def ce_loss_recovered(model: TinyLM, sae: SAE, tokens: Tensor, hook_name: str) -> dict:
    """How much of the model's loss survives when the SAE's reconstruction replaces the activation at
    `hook_name`, against zero-ablating it (SAEBench's ce_loss_score).

    Returns {"clean", "sae", "zero", "recovered"}: the mean next-token loss (model(tokens, return_type="loss"))
    of the model as it is, with the activation replaced by sae(act), with it replaced by zeros, and
    recovered = (zero - sae) / (zero - clean). Leave no hook behind.
    """
    # Hint: model.run_with_hooks(tokens, fwd_hooks=[(hook_name, fn)], return_type="loss") removes its hooks
    raise NotImplementedError("ce_loss_recovered: your code here")


def detection_scores(rule: Tensor, acts: Tensor, n_bins: int = 5) -> dict:
    """Score an explanation by detection, with a judge that follows a rule (Paulo et al. 2024).

    rule: (n_contexts, length) bool, where the explanation holds; acts: (n_contexts, length), the latent's
    activations. A context is *activating* when the latent fires (> 0) anywhere in it; the judge calls it
    activating when the rule holds anywhere in it. Activating contexts fall into n_bins equal slices of
    (0, peak] by their largest activation (peak: the largest over all contexts): slice b holds
    (peak * b / n_bins, peak * (b + 1) / n_bins]. You may assume every slice holds some contexts.

    Returns {"recall_by_bin": (n_bins,) float32 tensor, weakest slice first: the share of the slice's contexts
    the judge calls activating; "recall": that share over all activating contexts (a float);
    "false_positive_rate": the share of the other contexts it calls activating (a float);
    "balanced_accuracy": (recall + 1 - false_positive_rate) / 2 (a float)}.
    """
    # Hint: one peak per context (acts.max(dim=1)), one prediction per context (rule.any(dim=1))
    raise NotImplementedError("detection_scores: your code here")


def steered_logits(model: TinyLM, sae: SAE, tokens: Tensor, hook_name: str, latent: int, value: float,
                   mode: str = "clamp") -> Tensor:
    """The logits (batch, pos, d_vocab) of one forward pass with `latent` steered at every position by a hook
    at `hook_name`, where the SAE reads:

        "clamp"  set the latent's activation to `value`, keeping the SAE's error term:
                 act' = decode(latents with latent := value) + (act - decode(encode(act)))
        "add"    act' = act + value * (W_dec[latent] / norm_scale)

    Leave the model and the SAE exactly as they were: no hook left on, no weight changed.
    """
    # Hint: in clamp, decode(latents') - decode(latents) = (value - a) * W_dec[latent] / norm_scale
    raise NotImplementedError("steered_logits: your code here")
