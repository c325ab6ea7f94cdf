"""Lesson 06's experiments, as the lesson, the app and the tests run them (fixed seeds, CPU, seconds each).

    pentagon()             lesson 05's sparse 5-in-2 toy model, and a TopK SAE (k = 1) that finds its 5 features
    decoder_norm_drift()   a ReLU SAE trained on with the plain L1 and no decoder normalisation: the norms grow,
                           the penalty falls, and sparsity doesn't change
    absorption_pair()      a plain BatchTopK SAE and a Matryoshka one on the same hierarchy: absorption rates
    frontier()             L0 against FVU as TopK's k (or the L1 coefficient) moves
    shrinkage_pair()       ReLU + L1 shrinks its reconstructions, JumpReLU does not

Each returns plain numbers and tensors (and the trained SAEs where a figure needs them). The lesson's claims
about them are asserted by tests/sae/test_toy_claims.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from course.sae.groundtruth import absorption, compare_to_truth
from course.sae.jumprelu import JumpReLUConfig, JumpReLUSAE
from course.sae.matryoshka import MatryoshkaConfig, MatryoshkaSAE
from course.sae.sae import SAE, SAEConfig
from course.sae.toy import HierarchicalFeatures, HierarchyConfig
from course.sae.train import SAETrainConfig, TrainLog, train_sae


def _fraction_progress(progress, start: float, span: float):
    """A progress callback for one part of a longer job (None stays None)."""
    if not callable(progress):
        return False
    return lambda f, *a: progress(start + span * min(max(f, 0.0), 1.0))


# ------------------------------------------------------------------------------------------------ pentagon


@dataclass
class PentagonResult:
    features: Tensor  # (5, 2): the toy model's columns of W (the true feature directions)
    W_dec: Tensor  # (d_sae, 2)
    metrics: dict  # compare_to_truth on held-out activations
    log: TrainLog = field(repr=False)


def pentagon(d_sae: int = 10, steps: int = 600, seed: int = 0, progress=False) -> PentagonResult:
    """Train lesson 05's 5-features-in-2-dimensions model at p = 0.02 (a pentagon), take its hidden activations
    h = W x on inputs with at least one active feature (nearly always exactly one: the true L0 is about 1),
    and train a TopK SAE with k = 1 on them."""
    from course.sae.toy import toy_model_activations
    from course.superposition.experiments import five_two

    exp = five_two(restarts=1, seed=seed, progress=_fraction_progress(progress, 0.0, 0.5))
    model = exp.model  # instance 0 dense, instance 1 sparse (the pentagon)
    g = torch.Generator().manual_seed(seed)
    h, features = toy_model_activations(model, 1, 60_000, generator=g)
    x = model.generate_batch(60_000, g)[:, 1]
    keep = (x > 0).any(-1)
    h, coef = h[keep], x[keep]
    W = model.W[1].detach()
    coef = coef[:, W.norm(dim=0) > 0.5]
    train_x, test_x, test_c = h[: len(h) // 2], h[len(h) // 2:], coef[len(h) // 2:]
    sae = SAE(SAEConfig(d_in=2, d_sae=d_sae, architecture="topk", k=1), generator=torch.Generator().manual_seed(seed))
    log = train_sae(sae, train_x, SAETrainConfig(steps=steps, batch_size=512, lr=3e-3, warmup_steps=50,
                                                 dead_after=20_000, seed=seed),
                    progress=_fraction_progress(progress, 0.5, 0.5))
    return PentagonResult(features, sae.W_dec.detach().clone(), compare_to_truth(sae, test_x, test_c, features), log)


# ------------------------------------------------------------------------------------------------ L1 without norms


def decoder_norm_drift(steps: int = 800, seed: int = 0, l1_coefficient: float = 1.0, log_every: int = 25) -> dict:
    """A ReLU SAE trained the right way (unit-norm decoder, so the L1 is decoder-norm weighted), then trained on
    for as many steps with the naive loss: plain L1 on the activations, decoder rows left free.

    Returns per-logged-step lists, measured on a fixed held-out batch: step, decoder_norm (mean row norm), l1
    (the naive penalty, mean over inputs of Σ acts), weighted_l1 (Σ acts ||W_dec[i]||, the penalty in the
    units of x), l0 and mse; `switch`, the step where the naive phase starts.
    """
    data = HierarchicalFeatures(HierarchyConfig(n_parents=0, n_free=16, d=8, p=0.06, seed=seed))
    g = torch.Generator().manual_seed(seed)
    x_all = data.sample(50_000, g)
    x_eval = data.sample(4096, torch.Generator().manual_seed(10_000 + seed))
    sae = SAE(SAEConfig(d_in=8, d_sae=32, architecture="relu", l1_coefficient=l1_coefficient), generator=g)
    opt = torch.optim.Adam(sae.parameters(), lr=3e-3)
    with torch.no_grad():
        sae.b_dec.copy_(x_all.mean(0))

    def forward(x):
        acts = torch.relu((x - sae.b_dec) @ sae.W_enc + sae.b_enc)
        return acts, acts @ sae.W_dec + sae.b_dec

    out = {k: [] for k in ("step", "decoder_norm", "l1", "weighted_l1", "l0", "mse")}
    for step in range(2 * steps + 1):
        if step % log_every == 0 or step == 2 * steps:
            with torch.no_grad():
                acts, x_hat = forward(x_eval)
                norms = sae.W_dec.norm(dim=1)
                out["step"].append(step)
                out["decoder_norm"].append(norms.mean().item())
                out["l1"].append(acts.sum(-1).mean().item())
                out["weighted_l1"].append((acts * norms).sum(-1).mean().item())
                out["l0"].append((acts > 0).float().sum(-1).mean().item())
                out["mse"].append((x_eval - x_hat).pow(2).sum(-1).mean().item())
        if step == 2 * steps:
            break
        naive = step >= steps
        x = x_all[torch.randint(0, len(x_all), (512,), generator=g)]
        acts, x_hat = forward(x)
        mse = (x - x_hat).pow(2).sum(-1).mean()
        penalty = acts.sum(-1).mean() if naive else (acts * sae.W_dec.norm(dim=1)).sum(-1).mean()
        opt.zero_grad()
        (mse + l1_coefficient * penalty).backward()
        if not naive:
            sae.remove_parallel_grads()
        opt.step()
        if not naive:
            sae.normalise_decoder()
    out["switch"] = steps
    return out


# ------------------------------------------------------------------------------------------------ absorption

ABSORPTION_DATA = HierarchyConfig(n_parents=4, n_children=3, n_free=0, d=16, p=0.2, p_child=0.8, magnitude=(1.0, 1.0))


def absorption_pair(steps: int = 800, seed: int = 0, k: int = 1, data_cfg: HierarchyConfig | None = None,
                    progress=False) -> dict:
    """A plain BatchTopK SAE and a Matryoshka BatchTopK SAE (inner prefix: one latent per parent), same data,
    same seed, same k. Returns {"plain": ..., "matryoshka": ...}, each with `absorption` (the rate),
    `parent_alone_recall`, `parent_with_child_recall`, the compare_to_truth metrics and `W_dec`; and `true_l0`."""
    cfg = data_cfg or ABSORPTION_DATA
    data = HierarchicalFeatures(cfg)
    ge = torch.Generator().manual_seed(10_000 + seed)
    x_eval, c_eval = data.sample_with_coefficients(20_000, ge)
    out: dict = {"true_l0": data.true_l0()}
    for i, name in enumerate(("plain", "matryoshka")):
        g = torch.Generator().manual_seed(seed)
        kw = dict(d_in=cfg.d, d_sae=2 * cfg.n_features, architecture="batchtopk", k=k)
        sae = (MatryoshkaSAE(MatryoshkaConfig(**kw, matryoshka_widths=(max(cfg.n_parents, 1),)), generator=g)
               if name == "matryoshka" else SAE(SAEConfig(**kw), generator=g))
        log = train_sae(sae, lambda b: data.sample(b, g),
                        SAETrainConfig(steps=steps, batch_size=512, lr=3e-3, warmup_steps=50, dead_after=20_000, seed=seed),
                        progress=_fraction_progress(progress, i / 2, 0.5))
        acts = sae.encode(x_eval)
        a = absorption(acts, c_eval, sae.W_dec, data.features, data.parent_of)
        out[name] = {"absorption": a["rate"], "parent_alone_recall": a["parent_alone_recall"],
                     "parent_with_child_recall": a["parent_with_child_recall"],
                     **compare_to_truth(sae, x_eval, c_eval, data.features),
                     "W_dec": sae.W_dec.detach().clone(), "latents": a["latents"], "dead_over_training": log.dead_fraction}
    out["features"] = data.features
    return out


# ------------------------------------------------------------------------------------------------ frontier

FRONTIER_DATA = HierarchyConfig(n_parents=0, n_free=32, d=16, p=0.08, seed=0)  # true L0 2.56


def frontier(values=(1, 2, 3, 4, 6, 8), architecture: str = "topk", steps: int = 600, seed: int = 0,
             data_cfg: HierarchyConfig | None = None, progress=False) -> dict:
    """Train one SAE per value (TopK's k, or the ReLU SAE's L1 coefficient) on the same toy data; returns lists
    value, l0, fvu, mmc, shrinkage and the data's true_l0."""
    cfg = data_cfg or FRONTIER_DATA
    data = HierarchicalFeatures(cfg)
    ge = torch.Generator().manual_seed(10_000 + seed)
    x_eval, c_eval = data.sample_with_coefficients(20_000, ge)
    out = {k: [] for k in ("value", "l0", "fvu", "mmc", "shrinkage")}
    for i, v in enumerate(values):
        g = torch.Generator().manual_seed(seed)
        if architecture == "relu":
            sae = SAE(SAEConfig(d_in=cfg.d, d_sae=4 * cfg.n_features, architecture="relu", l1_coefficient=float(v)),
                      generator=g)
        else:
            sae = SAE(SAEConfig(d_in=cfg.d, d_sae=4 * cfg.n_features, architecture=architecture, k=int(v)), generator=g)
        train_sae(sae, lambda b: data.sample(b, g),
                  SAETrainConfig(steps=steps, batch_size=512, lr=3e-3, warmup_steps=50, dead_after=20_000, seed=seed),
                  progress=_fraction_progress(progress, i / len(values), 1 / len(values)))
        m = compare_to_truth(sae, x_eval, c_eval, data.features)
        out["value"].append(v)
        out["l0"].append(m["sae_l0"])
        out["fvu"].append(m["fvu"])
        out["mmc"].append(m["mmc"])
        out["shrinkage"].append(m["shrinkage"])
    out["true_l0"] = data.true_l0()
    return out


# ------------------------------------------------------------------------------------------------ shrinkage

SHRINKAGE_DATA = HierarchyConfig(n_parents=0, n_free=16, d=16, p=0.1, seed=0)  # orthonormal, true L0 1.6
JUMPRELU_TOY = dict(l0_coefficient=1.0, init_threshold=0.5, bandwidth=0.2)


def shrinkage_pair(steps: int = 800, seed: int = 0, l1_coefficient: float = 1.0, progress=False) -> dict:
    """A ReLU + L1 SAE and a JumpReLU SAE on the same sparse, orthogonal features (so a missed feature can't pass
    for shrinkage): compare_to_truth for each."""
    cfg = SHRINKAGE_DATA
    data = HierarchicalFeatures(cfg)
    ge = torch.Generator().manual_seed(10_000 + seed)
    x_eval, c_eval = data.sample_with_coefficients(20_000, ge)
    out = {}
    for i, name in enumerate(("relu", "jumprelu")):
        g = torch.Generator().manual_seed(seed)
        sae = (SAE(SAEConfig(cfg.d, 4 * cfg.n_features, "relu", l1_coefficient=l1_coefficient), generator=g)
               if name == "relu" else JumpReLUSAE(JumpReLUConfig(cfg.d, 4 * cfg.n_features, **JUMPRELU_TOY), generator=g))
        train_sae(sae, lambda b: data.sample(b, g),
                  SAETrainConfig(steps=steps, batch_size=512, lr=3e-3, warmup_steps=50, dead_after=20_000, seed=seed),
                  progress=_fraction_progress(progress, i / 2, 0.5))
        out[name] = compare_to_truth(sae, x_eval, c_eval, data.features)
    return out
