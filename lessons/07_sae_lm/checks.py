"""Graded checks for lesson 07 (see course.grading.spec). Inputs are drawn fresh from each run's seed.

Each exercise runs on a small random LM and SAE built here (odd sizes, LayerNorm weights and biases that are
not 1 and 0, an SAE whose norm_scale is not 1 and whose encoder is not its decoder transposed, so that a
dropped term shows) and on the shipped `pylm` and `pylm-sae` reading held-out code. Exercises that touch a
model are audited after the call (`course.lm.hooks:audit`): the hooks still attached and the weights are
compared with the reference's, so a hook left on, or steering by editing a weight, loses the points.
"""

import functools
import math

import torch

from course.grading import Build, Check, Hint, Tol

solutions: object  # the reference module, set by the grader

HOOK = "blocks.0.mlp.hook_post"
AUDIT = "course.lm.hooks:audit"
PYLM = Build("course.lm.train:load_model", "pylm")
PYLM_SAE = Build("course.sae.shipped:load_sae", "pylm-sae")


def _int(g, lo, hi) -> int:
    return int(torch.randint(lo, hi + 1, (), generator=g))


# ------------------------------------------------------------------------------------- models built here


def _random_lm(g, n_layers: int = 1) -> tuple[Build, dict]:
    from course.lm.model import LMConfig, TinyLM

    cfg = dict(d_vocab=_int(g, 70, 110), n_ctx=24, d_model=_int(g, 14, 18), n_layers=n_layers, n_heads=2,
               d_head=_int(g, 5, 7), d_mlp=_int(g, 36, 44))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_int(g, 0, 2**31 - 2))
        model = TinyLM(LMConfig(**cfg))
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for k, v in state.items():
        if k.endswith(".w"):  # LayerNorm weights: not all ones
            state[k] = 1 + 0.3 * torch.randn(v.shape, generator=g)
        elif v.dim() == 1:  # biases: not all zero
            state[k] = 0.2 * torch.randn(v.shape, generator=g)
        if k.endswith("mlp.W_out"):  # so that the MLP matters to the loss
            state[k] = v * 3
    return Build("course.lm.model:TinyLM", Build("course.lm.model:LMConfig", **cfg), state=state), cfg


def _random_sae(g, d_in: int, d_sae: int | None = None, k: int | None = None) -> Build:
    d_sae = d_sae or _int(g, 2 * d_in, 3 * d_in)
    k = k or _int(g, 4, 8)
    W_dec = torch.randn(d_sae, d_in, generator=g)
    W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
    state = {"W_enc": torch.randn(d_in, d_sae, generator=g) / math.sqrt(d_in) + 0.5 * W_dec.T, "W_dec": W_dec,
             "b_enc": 0.1 * torch.randn(d_sae, generator=g), "b_dec": 0.3 * torch.randn(d_in, generator=g),
             "norm_scale": torch.tensor(0.5 + 0.3 * torch.rand((), generator=g).item()), "threshold": torch.zeros(())}
    cfg = Build("course.sae.sae:SAEConfig", d_in=d_in, d_sae=d_sae, architecture="topk", k=k)
    return Build("course.sae.sae:SAE", cfg, state=state)


def _tokens(g, cfg: dict, batch: int | None = None) -> torch.Tensor:
    return torch.randint(0, cfg["d_vocab"], (batch or _int(g, 3, 5), _int(g, 12, cfg["n_ctx"])), generator=g)


# ------------------------------------------------------------------------------------- the shipped models


@functools.lru_cache(maxsize=1)
def _shipped():
    from course.lm.train import load
    from course.sae.shipped import load_sae

    model, tok = load("pylm")
    return model, tok, load_sae("pylm-sae")


@functools.lru_cache(maxsize=1)
def _val_files() -> list:
    from course.lm.corpus import read_texts, split_files

    return [t for t in read_texts(split_files("val")) if 2000 < len(t) < 40000]  # long enough, quick to label


@functools.lru_cache(maxsize=64)
def _labelled(i: int):
    from course.lm.labels import PROPERTIES, label_file

    try:
        ids, lab = label_file(_val_files()[i], _shipped()[1])
    except Exception:  # not valid Python: the labeller needs the ast
        return None
    return torch.tensor(ids), lab, list(PROPERTIES)


def _held_out(g, n_windows: int, n_ctx: int = 128, labelled: bool = False):
    """(n_windows, n_ctx) windows of held-out code from random files (and their labels, if asked)."""
    tok = _shipped()[1]
    windows, labels = [], []
    while len(windows) < n_windows:
        i = _int(g, 0, len(_val_files()) - 1)
        if labelled:
            got = _labelled(i)
            if got is None:
                continue
            ids, lab, _ = got
        else:
            ids, lab = torch.tensor(tok.encode(_val_files()[i]).ids), None
        if len(ids) <= n_ctx:
            continue
        s = _int(g, 0, len(ids) - n_ctx)
        windows.append(ids[s:s + n_ctx])
        if labelled:
            labels.append(lab[s:s + n_ctx])
    tokens = torch.stack(windows)
    return (tokens, torch.stack(labels)) if labelled else tokens


@torch.no_grad()
def _pylm_latents(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(activations at HOOK, pylm-sae's latents) for held-out windows, computed here with the library."""
    model, _, sae = _shipped()
    _, cache = model.run_with_cache(tokens, names_filter=HOOK)
    return cache[HOOK], sae.encode(cache[HOOK])


# ------------------------------------------------------------------------------------------------ 1. fvu


def _fvu_inputs(g) -> dict:
    n, d = _int(g, 150, 300), _int(g, 17, 33)
    x = torch.randn(n, d, generator=g) * (0.5 + torch.rand(d, generator=g)) + 3 * torch.randn(d, generator=g)
    x_hat = 0.9 * x + 0.4 * torch.randn(n, d, generator=g)
    return {"x": x, "x_hat": x_hat}


def _about_zero(got, exp, inp) -> bool:
    x, x_hat = inp["x"], inp["x_hat"]
    return isinstance(got, float) and math.isclose(got, (((x - x_hat) ** 2).sum() / (x**2).sum()).item(), rel_tol=1e-3)


def _mean_of_ratios(got, exp, inp) -> bool:
    x, x_hat = inp["x"], inp["x_hat"]
    r = ((x - x_hat) ** 2).sum(1) / ((x - x.mean(0)) ** 2).sum(1)
    return isinstance(got, float) and math.isclose(got, r.mean().item(), rel_tol=1e-3)


# -------------------------------------------------------------------------------------- 2. cache_activations

HOOK_NAMES = ["blocks.0.mlp.hook_post", "blocks.1.mlp.hook_pre", "blocks.1.attn.hook_pattern",
              "blocks.0.hook_resid_mid", "blocks.1.ln2.hook_normalized", "hook_embed"]


def _cache_inputs_random(g) -> dict:
    model, cfg = _random_lm(g, n_layers=2)
    return {"model": model, "tokens": _tokens(g, cfg), "hook_name": HOOK_NAMES[_int(g, 0, len(HOOK_NAMES) - 1)]}


def _cache_inputs_pylm(g) -> dict:
    names = ["blocks.0.mlp.hook_post", "blocks.0.mlp.hook_pre", "blocks.0.hook_attn_out"]
    return {"model": PYLM, "tokens": _held_out(g, 3), "hook_name": names[_int(g, 0, 2)]}


def _hooks_left(got, exp, inp) -> bool:
    return isinstance(got, dict) and any(n for n in dict(got.get("hooks_left", {})).values())


def _weights_changed(got, exp, inp) -> bool:
    from course.grading.compare import compare

    return isinstance(got, dict) and "weights" in got and compare(exp["weights"], got["weights"], Tol(1e-6, 1e-7)) is not None


HOOK_LEFT = Hint(_hooks_left, "A hook is still attached to the model after your function returned: remove it in a "
                              "`finally:` (point.fns.remove(fn)), or use model.run_with_hooks, which always does.")
WEIGHTS_CHANGED = Hint(_weights_changed, "Your function changed the model's (or the SAE's) weights. The model is "
                                         "shared: change activations with a hook for one forward pass instead.")


# -------------------------------------------------------------------------------- 3. precision_recall_f1


def _prf_inputs_random(g) -> dict:
    n, units, props = _int(g, 300, 500), _int(g, 7, 11), _int(g, 4, 6)
    labels = torch.rand(n, props, generator=g) < torch.rand(props, generator=g) * 0.5
    labels[:, 0] = False  # a property that never holds
    base = torch.rand(n, units, generator=g) < 0.05
    follows = torch.rand(n, units, generator=g) < 0.6  # some units follow property (u % (props - 1)) + 1
    fires = base | (follows & labels[:, [(u % (props - 1)) + 1 for u in range(units)]])
    fires[:, 1] = False  # a unit that never fires
    fires[:, 2] = False
    fires[_int(g, 0, n - 1), 2] = True  # a unit that fires exactly once
    labels[:, 1] = False
    labels[_int(g, 0, n - 1), 1] = True  # a property that holds exactly once
    return {"fires": fires, "labels": labels}


def _prf_inputs_pylm(g) -> dict:
    tokens, labels = _held_out(g, 12, labelled=True)
    _, latents = _pylm_latents(tokens)
    return {"fires": (latents > 0).flatten(0, 1), "labels": labels.flatten(0, 1)}


def _swapped(got, exp, inp) -> bool:
    try:
        return torch.allclose(got["precision"], exp["recall"], atol=1e-5) and not torch.allclose(
            exp["precision"], exp["recall"], atol=1e-5)
    except Exception:
        return False


def _has_nan(got, exp, inp) -> bool:
    return isinstance(got, dict) and any(isinstance(v, torch.Tensor) and bool(v.isnan().any()) for v in got.values())


# ------------------------------------------------------------------------------------------ 4. top_contexts


def _top_inputs_random(g) -> dict:
    n, n_ctx = _int(g, 6, 10), _int(g, 20, 27)
    acts = torch.rand(n, n_ctx, generator=g) * (torch.rand(n, n_ctx, generator=g) < 0.06)
    acts[_int(g, 0, n - 1), n_ctx - 1] = 1.5  # the strongest firings at a window's end and start, so that
    acts[_int(g, 0, n - 1), 0] = 1.4  # the context runs past both edges
    k = int((acts > 0).sum()) + _int(g, 1, 4)  # more than it fires: only the positive ones come back
    return {"acts": acts, "tokens": torch.randint(0, 500, (n, n_ctx), generator=g), "k": k,
            "left": _int(g, 2, 6), "right": _int(g, 1, 4)}


def _top_inputs_pylm(g) -> dict:
    tokens = _held_out(g, 10)
    _, latents = _pylm_latents(tokens)
    busy = (latents > 0).sum((0, 1))
    candidates = ((busy >= 12) & (busy <= 200)).nonzero().flatten()  # fires more often than k
    latent = int(candidates[_int(g, 0, len(candidates) - 1)])
    return {"acts": latents[..., latent], "tokens": tokens, "k": 8, "left": 6, "right": 3}


def _ascending(got, exp, inp) -> bool:
    try:
        v = got["values"]
        return len(v) > 1 and bool((v[1:] >= v[:-1]).all())
    except Exception:
        return False


def _wrong_divmod(got, exp, inp) -> bool:
    try:
        n_windows = inp["acts"].shape[0]
        flat = exp["windows"] * inp["acts"].shape[1] + exp["positions"]
        return torch.equal(got["windows"], flat // n_windows) or torch.equal(got["positions"], flat % n_windows)
    except Exception:
        return False


# ----------------------------------------------------------------------------------------- 5. logit_effects


def _logit_inputs_random(g) -> dict:
    model, cfg = _random_lm(g, n_layers=2)  # the SAE reads the last block's MLP
    return {"model": model, "sae": _random_sae(g, cfg["d_mlp"]), "latent": _int(g, 0, 2 * cfg["d_mlp"] - 1)}


def _logit_inputs_pylm(g) -> dict:
    return {"model": PYLM, "sae": PYLM_SAE, "latent": _int(g, 0, 2047)}


# ----------------------------------------------------------------------------------- 6. ce_loss_recovered


def _ce_inputs_random(g) -> dict:
    model, cfg = _random_lm(g, n_layers=2)
    hook = ["blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post", "blocks.1.mlp.hook_pre"][_int(g, 0, 2)]
    return {"model": model, "sae": _random_sae(g, cfg["d_mlp"]), "tokens": _tokens(g, cfg, batch=6), "hook_name": hook}


def _ce_inputs_pylm(g) -> dict:
    return {"model": PYLM, "sae": PYLM_SAE, "tokens": _held_out(g, 6), "hook_name": HOOK}


def _inverted(got, exp, inp) -> bool:
    try:
        r = got["result"]["recovered"]
        return abs(r - (1 - exp["result"]["recovered"])) < 1e-3 or abs(r * exp["result"]["recovered"] - 1) < 1e-3
    except Exception:
        return False


INVERTED = Hint(_inverted, "recovered is (zero - sae) / (zero - clean): 1 when the SAE loses nothing, 0 when it "
                           "is as bad as deleting the MLP.")


# ------------------------------------------------------------------------------------ 7. detection_scores


def _detection_inputs_random(g) -> dict:
    n, length, n_bins = _int(g, 240, 320), _int(g, 8, 14), _int(g, 3, 5)
    acts = torch.zeros(n, length)
    activating = torch.rand(n, generator=g) < 0.35
    idx = activating.nonzero().flatten()
    # peaks spread so that every slice of (0, peak] holds contexts; a few more weak ones than strong ones
    peaks = torch.rand(len(idx), generator=g) ** 1.5 * 0.95 + 0.05
    peaks[:n_bins] = (torch.arange(n_bins) + 0.5) / n_bins
    peaks[n_bins] = 1.0
    for j, c in enumerate(idx.tolist()):
        where = torch.randint(0, length, (_int(g, 1, 3),), generator=g)
        acts[c, where] = peaks[j] * torch.rand(len(where), generator=g)
        acts[c, where[0]] = peaks[j]
    acts = acts * (2 + 3 * torch.rand((), generator=g))
    # the rule catches strong contexts more often than weak ones, and some inactive ones
    p_hit = torch.where(activating, 0.3 + 0.6 * acts.max(1).values / acts.max(), torch.full((n,), 0.2))
    rule = torch.zeros(n, length, dtype=torch.bool)
    hit = torch.rand(n, generator=g) < p_hit
    spots = torch.randint(0, length, (n,), generator=g)
    rule[hit, spots[hit]] = True
    rule[hit & (torch.rand(n, generator=g) < 0.3), 0] = True
    return {"rule": rule, "acts": acts, "n_bins": n_bins}


def _detection_inputs_pylm(g) -> dict:
    tokens, labels = _held_out(g, 16, labelled=True)
    _, latents = _pylm_latents(tokens)
    ctx = lambda x: x.reshape(-1, 16, *x.shape[2:])  # noqa: E731  (16, 128, ...) -> (128, 16, ...)
    acts_all, lab = ctx(latents), ctx(labels)
    n_bins = 3
    for _ in range(500):
        latent = _int(g, 0, latents.shape[-1] - 1)
        acts = acts_all[..., latent]
        peak = acts.max(1).values
        if peak.max() <= 0:
            continue
        b = (torch.ceil(peak / peak.max() * n_bins) - 1).clamp(0, n_bins - 1)
        if all(((peak > 0) & (b == i)).sum() >= 2 for i in range(n_bins)) and (peak > 0).float().mean() < 0.8:
            break
    else:
        n_bins = 1  # no latent with every slice filled in these windows (never seen): one slice always is
    prop = _int(g, 0, lab.shape[-1] - 1)
    return {"rule": lab[..., prop], "acts": acts, "n_bins": n_bins}


def _used_all(got, exp, inp) -> bool:
    try:
        alt = solutions.detection_scores(inp["rule"].all(dim=1, keepdim=True).expand_as(inp["rule"]), inp["acts"],
                                         inp["n_bins"])
        return abs(got["balanced_accuracy"] - alt["balanced_accuracy"]) < 1e-6
    except Exception:
        return False


def _plain_accuracy(got, exp, inp) -> bool:
    try:
        activating = inp["acts"].max(1).values > 0
        predicted = inp["rule"].any(1)
        return abs(got["balanced_accuracy"] - (predicted == activating).float().mean().item()) < 1e-6
    except Exception:
        return False


def _bins_reversed(got, exp, inp) -> bool:
    try:
        return torch.allclose(got["recall_by_bin"], exp["recall_by_bin"].flip(0)) and not torch.allclose(
            exp["recall_by_bin"], exp["recall_by_bin"].flip(0))
    except Exception:
        return False


# -------------------------------------------------------------------------------------- 8. steered_logits


def _steer_inputs_random(g, mode: str) -> dict:
    model, cfg = _random_lm(g, n_layers=2)
    hook = ["blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post", "blocks.1.mlp.hook_pre"][_int(g, 0, 2)]
    value = 0.0 if mode == "clamp" and torch.rand((), generator=g) < 0.3 else 1 + 4 * torch.rand((), generator=g).item()
    sae = _random_sae(g, cfg["d_mlp"])
    latent = _int(g, 0, 2 * cfg["d_mlp"] - 1)
    sae.state["b_enc"][latent] += 2.0  # it fires on most tokens, so clamping differs from adding
    return {"model": model, "sae": sae, "tokens": _tokens(g, cfg), "hook_name": hook, "latent": latent,
            "value": value, "mode": mode}


def _steer_inputs_pylm(g) -> dict:
    tokens = _held_out(g, 2)[:, :48]
    _, latents = _pylm_latents(tokens)
    busy = ((latents > 0).sum((0, 1)) >= 3).nonzero().flatten()  # a latent that fires here: clamp is not add
    return {"model": PYLM, "sae": PYLM_SAE, "tokens": tokens, "hook_name": HOOK,
            "latent": int(busy[_int(g, 0, len(busy) - 1)]), "value": 4 + 8 * torch.rand((), generator=g).item(),
            "mode": "clamp"}


@torch.no_grad()
def _no_error_term(got, exp, inp) -> bool:
    """The clamp without the SAE's error term: the activation replaced by the edited reconstruction alone."""
    from course.grading import codec

    try:
        if inp.get("mode") != "clamp" or got["result"].shape != exp["result"].shape:
            return False
        model, sae = codec.materialise(inp["model"], solutions), codec.materialise(inp["sae"], solutions)
        latent, value = inp["latent"], inp["value"]

        def recon_only(act, hook):
            z = sae.encode(act)
            z[..., latent] = value
            return sae.decode(z)

        alt = model.run_with_hooks(inp["tokens"], fwd_hooks=[(inp["hook_name"], recon_only)])
        return torch.allclose(got["result"], alt, rtol=1e-3, atol=1e-3)
    except Exception:
        return False


NO_ERROR_TERM = Hint(_no_error_term, "Clamping should change only the latent: keep the SAE's error term, "
                                     "act - decode(encode(act)), or you also replace the activation by its "
                                     "(imperfect) reconstruction.")


LOOSE = Tol(1e-4, 1e-4)  # losses and logits computed in another order may differ in the last digits

CHECKS = [
    Check("fvu", points=1, inputs=_fvu_inputs, title="1. fvu", tol=Tol(1e-5, 1e-7),
          hints=[Hint(_about_zero, "That is the residual over the sum of squares about zero: FVU's denominator is "
                                   "about the mean input, sum((x - x.mean(dim=0)) ** 2)."),
                 Hint(_mean_of_ratios, "That is a mean of per-input ratios (SAELens's explained variance works that "
                                       "way): FVU divides two sums over all inputs and dimensions.")]),
    Check("cache_activations", points=1, inputs=_cache_inputs_random, after=AUDIT,
          title="2a. cache_activations on a random 2-layer LM, hook removed", hints=[HOOK_LEFT]),
    Check("cache_activations", points=1, inputs=_cache_inputs_pylm, after=AUDIT,
          title="2b. cache_activations on pylm, hook removed", hints=[HOOK_LEFT]),
    Check("precision_recall_f1", points=1, inputs=_prf_inputs_random, title="3a. precision_recall_f1 on made-up units",
          hints=[Hint(_swapped, "Precision and recall are swapped: precision divides by how often the unit fires, "
                                "recall by how often the property holds."),
                 Hint(_has_nan, "NaN: a unit that never fires (or a property that never holds) must get 0, not 0/0.")]),
    Check("precision_recall_f1", points=1, inputs=_prf_inputs_pylm,
          title="3b. precision_recall_f1: pylm-sae's latents against Python's own labels",
          hints=[Hint(_swapped, "Precision and recall are swapped: precision divides by how often the unit fires, "
                                "recall by how often the property holds.")]),
    Check("top_contexts", points=1, inputs=_top_inputs_random, title="4a. top_contexts on made-up activations",
          hints=[Hint(_ascending, "Strongest first: sort the activations in descending order (topk does)."),
                 Hint(_wrong_divmod, "A flat index i of (n_windows, n_ctx) is window i // n_ctx and position "
                                     "i % n_ctx (divide by the row length, not the number of rows).")]),
    Check("top_contexts", points=1, inputs=_top_inputs_pylm, title="4b. top_contexts of a pylm-sae latent"),
    Check("logit_effects", points=1, inputs=_logit_inputs_random, tol=Tol(1e-4, 1e-5),
          title="5a. logit_effects on a random LM and SAE"),
    Check("logit_effects", points=1, inputs=_logit_inputs_pylm, tol=Tol(1e-4, 1e-5),
          title="5b. logit_effects of a pylm-sae latent"),
    Check("ce_loss_recovered", points=1, inputs=_ce_inputs_random, after=AUDIT, tol=LOOSE,
          title="6a. ce_loss_recovered on a random 2-layer LM", hints=[HOOK_LEFT, WEIGHTS_CHANGED, INVERTED]),
    Check("ce_loss_recovered", points=2, inputs=_ce_inputs_pylm, after=AUDIT, tol=LOOSE,
          title="6b. ce_loss_recovered of pylm-sae spliced into pylm",
          hints=[HOOK_LEFT, INVERTED]),
    Check("detection_scores", points=2, inputs=_detection_inputs_random, title="7a. detection_scores on made-up contexts",
          hints=[Hint(_used_all, "A context counts as predicted when the rule holds at ANY of its tokens (rule.any)."),
                 Hint(_plain_accuracy, "balanced_accuracy averages the recall on activating contexts with 1 - the "
                                       "false-positive rate, so that a rule can't score by calling everything quiet."),
                 Hint(_bins_reversed, "recall_by_bin goes from the weakest slice of activations to the strongest.")]),
    Check("detection_scores", points=1, inputs=_detection_inputs_pylm,
          title="7b. detection_scores of a label as the explanation of a pylm-sae latent"),
    Check("steered_logits", points=1, inputs=lambda g: _steer_inputs_random(g, "clamp"), after=AUDIT, tol=LOOSE,
          title="8a. steered_logits, clamp, on a random LM", hints=[HOOK_LEFT, WEIGHTS_CHANGED, NO_ERROR_TERM]),
    Check("steered_logits", points=1, inputs=lambda g: _steer_inputs_random(g, "add"), after=AUDIT, tol=LOOSE,
          title="8b. steered_logits, add, on a random LM", hints=[HOOK_LEFT, WEIGHTS_CHANGED]),
    Check("steered_logits", points=1, inputs=_steer_inputs_pylm, after=AUDIT, tol=LOOSE,
          title="8c. steered_logits: pylm with a pylm-sae latent clamped, nothing left changed",
          hints=[WEIGHTS_CHANGED, HOOK_LEFT, NO_ERROR_TERM]),
]
