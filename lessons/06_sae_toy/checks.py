"""Graded checks for lesson 06 (see course.grading.spec). Inputs are drawn fresh from each run's seed.

Shapes are never square (d_in != d_sae != batch) so a transpose or a wrong axis fails; biases are non-zero so a
forgotten b_dec fails; decoder rows have norms far from 1 where the weighting matters. The behavioural check
trains the learner's SAE on toy data it draws and judges the recovered directions.
"""

import torch

from course.grading import Build, Check, Hint, Tol, Verdict

solutions: object  # the reference module, set by the grader


def _t(v) -> bool:
    return isinstance(v, torch.Tensor)


def _close(a, b, tol=1e-4) -> bool:
    return _t(a) and _t(b) and a.shape == b.shape and bool(torch.allclose(a.float(), b.float(), rtol=tol, atol=tol))


# ------------------------------------------------------------------------------------------ 1. forward


def _sae_state(g: torch.Generator, d_in: int, d_sae: int, unit: bool = False) -> dict:
    W_dec = torch.randn(d_sae, d_in, generator=g) * (0.5 + torch.rand(d_sae, 1, generator=g))
    if unit:
        W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
    return {"W_enc": torch.randn(d_in, d_sae, generator=g) * 0.5, "b_enc": torch.randn(d_sae, generator=g) * 0.3,
            "W_dec": W_dec, "b_dec": torch.randn(d_in, generator=g) * 0.5}


def _sae(g: torch.Generator, d_in: int, d_sae: int, k: int = 0, unit: bool = False) -> Build:
    return Build("SAE", Build("SAEConfig", d_in=d_in, d_sae=d_sae, k=k), state=_sae_state(g, d_in, d_sae, unit))


def _forward_inputs(g: torch.Generator) -> dict:
    return {"self": _sae(g, 7, 11), "x": torch.randn(9, 7, generator=g)}


def _forward_variant(inputs, subtract_b_dec=True, relu=True):
    s = inputs["self"].state
    x = inputs["x"] - s["b_dec"] if subtract_b_dec else inputs["x"]
    pre = x @ s["W_enc"] + s["b_enc"]
    acts = torch.relu(pre) if relu else pre
    return acts @ s["W_dec"] + s["b_dec"], acts


def _pair(got) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2 and _t(got[0]) and _t(got[1])


def _forward_no_b_dec(got, expected, inputs) -> bool:
    return _pair(got) and _close(got[1], _forward_variant(inputs, subtract_b_dec=False)[1])


def _forward_no_relu(got, expected, inputs) -> bool:
    return _pair(got) and _close(got[1], _forward_variant(inputs, relu=False)[1])


def _forward_no_dec_bias(got, expected, inputs) -> bool:
    return _pair(got) and _close(got[0], expected[0] - inputs["self"].state["b_dec"])


# ------------------------------------------------------------------------------------------ 2. loss


def _loss_inputs(g: torch.Generator) -> dict:
    """Activations with two leading axes (batch, positions), as a language model's are."""
    acts = torch.relu(torch.randn(4, 5, 10, generator=g) - 0.5) * 2
    return {"x": torch.randn(4, 5, 6, generator=g), "x_hat": torch.randn(4, 5, 6, generator=g), "acts": acts,
            "W_dec": torch.randn(10, 6, generator=g) * (0.3 + 2 * torch.rand(10, 1, generator=g)),
            "l1_coefficient": 0.2 + torch.rand((), generator=g).item()}


def _mse(inputs):
    return (inputs["x"] - inputs["x_hat"]).pow(2).sum(-1).mean()


def _loss_is(got, value) -> bool:
    try:
        return abs(float(got) - float(value)) < 1e-4 * max(1.0, abs(float(value)))
    except (TypeError, ValueError, RuntimeError):
        return False


def _unweighted(got, expected, inputs) -> bool:
    return _loss_is(got, _mse(inputs) + inputs["l1_coefficient"] * inputs["acts"].sum(-1).mean())


def _l1_wrong_tensor(got, expected, inputs) -> bool:
    lam = inputs["l1_coefficient"]
    return any(_loss_is(got, _mse(inputs) + lam * t.abs().sum(-1).mean()) for t in (inputs["x_hat"], inputs["x"]))


def _mse_mean_over_dims(got, expected, inputs) -> bool:
    l1 = (inputs["acts"] * inputs["W_dec"].norm(dim=1)).sum(-1).mean()
    return _loss_is(got, (inputs["x"] - inputs["x_hat"]).pow(2).mean() + inputs["l1_coefficient"] * l1)


# ------------------------------------------------------------------------------------------ 3-4. decoder


def _decoder_inputs(g: torch.Generator) -> dict:
    return {"W_dec": torch.randn(9, 5, generator=g) * (0.2 + 3 * torch.rand(9, 1, generator=g))}


def _columns_normalised(got, expected, inputs) -> bool:
    W = inputs["W_dec"]
    return _close(got, W / W.norm(dim=0, keepdim=True))


def _parallel_inputs(g: torch.Generator) -> dict:
    W = torch.randn(9, 5, generator=g)
    return {"W_dec": W / W.norm(dim=1, keepdim=True), "grad": torch.randn(9, 5, generator=g)}


def _parallel_kept(got, expected, inputs) -> bool:
    """The returned gradient still has a component along the rows."""
    return _t(got) and got.shape == inputs["W_dec"].shape and bool(((got * inputs["W_dec"]).sum(1).abs() > 1e-3).any())


def _parallel_only(got, expected, inputs) -> bool:
    return _close(got, inputs["grad"] - expected)


# ------------------------------------------------------------------------------------------ 5-6. TopK


def _topk_inputs(g: torch.Generator) -> dict:
    """(batch, positions, d_sae) pre-activations: inputs are the last axis, whatever comes before it."""
    pre = torch.randn(6, 5, 20, generator=g) * (0.3 + 2 * torch.rand(6, 5, 1, generator=g))
    pre[0, 0] = -torch.rand(20, generator=g)  # an input with nothing positive
    pre[0, 1, :2] = torch.rand(2, generator=g) + 0.1  # an input with only two positive values
    pre[0, 1, 2:] = -torch.rand(18, generator=g)
    return {"pre": pre, "k": int(torch.randint(3, 6, (), generator=g))}


def _per_column(got, expected, inputs) -> bool:
    """TopK taken over an axis other than the last: each input no longer has at most k latents."""
    return _t(got) and got.shape == expected.shape and not bool(((got != 0).sum(-1) <= inputs["k"]).all())


def _negatives(got, expected, inputs) -> bool:
    return _t(got) and bool((got < 0).any())


def _batch_topk_inputs(g: torch.Generator, quiet: bool = False) -> dict:
    scales = torch.logspace(-1, 0.5, 16)[torch.randperm(16, generator=g)]
    pre = torch.randn(16, 24, generator=g) * scales[:, None]
    if quiet:  # fewer positive values than k * batch: the ReLU decides what is kept
        pre = pre - 2.5
    return {"pre": pre, "k": int(torch.randint(2, 5, (), generator=g))}


def _per_row_topk(got, expected, inputs) -> bool:
    return _t(got) and got.shape == expected.shape and bool(((got > 0).sum(1) == inputs["k"]).all())


def _batch_l0_message(got, expected, inputs) -> bool:
    return _t(got) and got.shape == expected.shape and (got != 0).sum().item() != (expected != 0).sum().item()


# ------------------------------------------------------------------------------------------ 7. mean max cosine


def _mmc_inputs(g: torch.Generator) -> dict:
    return {"W_dec": torch.randn(13, 6, generator=g) * (0.2 + 3 * torch.rand(13, 1, generator=g)),
            "features": torch.randn(8, 6, generator=g) * (0.2 + 3 * torch.rand(8, 1, generator=g))}


def _cos(inputs):
    f, w = inputs["features"], inputs["W_dec"]
    return (f / f.norm(dim=1, keepdim=True)) @ (w / w.norm(dim=1, keepdim=True)).T


def _mmc_over_latents(got, expected, inputs) -> bool:
    return _loss_is(got, _cos(inputs).max(dim=0).values.mean())


def _mmc_unnormalised(got, expected, inputs) -> bool:
    return _loss_is(got, (inputs["features"] @ inputs["W_dec"].T).max(dim=1).values.mean())


# ------------------------------------------------------------------------------------------ 8. train_step


def _train_step_inputs(g: torch.Generator) -> dict:
    data = torch.relu(torch.randn(300, 6, generator=g)) * 2 + torch.randn(6, generator=g)
    return {"sae": _sae(g, 6, 10, unit=True), "data": data, "steps": 4, "batch_size": 32, "lr": 1e-2,
            "l1_coefficient": 0.3 + 0.5 * torch.rand((), generator=g).item(),
            "seed": int(torch.randint(0, 10_000, (), generator=g))}


def _state(got):
    """The state dict of a returned module (hints see it after `output=_state` already applied: a plain dict)."""
    return got if isinstance(got, dict) else getattr(got, "state_dict", None)


def _rows_not_unit(got, expected, inputs) -> bool:
    s = _state(got)
    return isinstance(s, dict) and _t(s.get("W_dec")) and bool(((s["W_dec"].norm(dim=1) - 1).abs() > 1e-4).any())


def _rows_unit_but_wrong(got, expected, inputs) -> bool:
    s = _state(got)
    return isinstance(s, dict) and _t(s.get("W_dec")) and bool(((s["W_dec"].norm(dim=1) - 1).abs() < 1e-4).all())


# ------------------------------------------------------------------------------------------ train (behavioural)

RECOVERY = dict(n_features=24, d=12, p=0.05, d_sae=48, k=3, n=20_000, steps=600, batch_size=256, lr=3e-3)
RECOVERY_SECONDS = 60  # the stated time limit (the reference needs a few seconds)


def _recovery_features(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 7919 + 17)
    f = torch.randn(RECOVERY["n_features"], RECOVERY["d"], generator=g)
    return f / f.norm(dim=1, keepdim=True)


def _recovery_inputs(g: torch.Generator) -> dict:
    r = RECOVERY
    seed = int(torch.randint(0, 100_000, (), generator=g))
    features = _recovery_features(seed)
    dg = torch.Generator().manual_seed(seed)
    active = torch.rand(r["n"], r["n_features"], generator=dg) < r["p"]
    coef = active * (0.5 + torch.rand(r["n"], r["n_features"], generator=dg))
    sae = Build("SAE", Build("SAEConfig", d_in=r["d"], d_sae=r["d_sae"], k=r["k"]))
    return {"sae": sae, "data": coef @ features, "steps": r["steps"], "batch_size": r["batch_size"], "lr": r["lr"],
            "l1_coefficient": 0.0, "seed": seed}


def _mmc(W_dec: torch.Tensor, features: torch.Tensor) -> float:
    f = features / features.norm(dim=1, keepdim=True)
    w = W_dec / W_dec.norm(dim=1, keepdim=True).clamp(min=1e-8)
    return (f @ w.T).max(dim=1).values.mean().item()


def _judge_recovery(got, inputs, expected) -> Verdict:
    s = _state(got)
    if not isinstance(s, dict) or not _t(s.get("W_dec")):
        return Verdict(False, "train must return the SAE it trained (your train_step changes it in place)")
    features = _recovery_features(inputs["seed"])
    W = s["W_dec"].float()
    if W.shape != (RECOVERY["d_sae"], RECOVERY["d"]) or not torch.isfinite(W).all():
        return Verdict(False, f"W_dec should be a finite ({RECOVERY['d_sae']}, {RECOVERY['d']}) tensor, got "
                              f"{tuple(W.shape)}{'' if torch.isfinite(W).all() else ' with NaN or inf'}")
    mmc = _mmc(W, features)
    detail = (f"mean max cosine {mmc:.3f} with the {RECOVERY['n_features']} true features (needs >= 0.9), after "
              f"{RECOVERY['steps']} steps of TopK (k = {RECOVERY['k']})")
    if mmc < 0.9:
        rows = W.norm(dim=1)
        why = (" Your decoder rows are not unit length: normalise them after each step." if (rows - 1).abs().max() > 1e-3
               else " Check that forward uses self.activation (TopK here), subtracts b_dec, and that train_step"
                    " steps the optimiser after removing the parallel gradient.")
        return Verdict(False, detail + "." + why)
    return Verdict(True, detail)


# ------------------------------------------------------------------------------------------ 9. resampling


def _resample_inputs(g: torch.Generator) -> dict:
    d_sae = 12
    dead = torch.zeros(d_sae, dtype=torch.bool)
    dead[torch.randperm(d_sae, generator=g)[: int(torch.randint(3, 6, (), generator=g))]] = True
    return {"sae": _sae(g, 6, d_sae, unit=True), "x": torch.randn(40, 6, generator=g) * 2, "dead": dead}


def _copied_live(got, expected, inputs) -> bool:
    s = _state(got)
    if not isinstance(s, dict) or not _t(s.get("W_dec")):
        return False
    dead = inputs["dead"]
    old = inputs["sae"].state["W_dec"][~dead]
    new = s["W_dec"][dead]
    return bool((torch.cdist(new, old).min(dim=1).values < 1e-5).any())


def _live_changed(got, expected, inputs) -> bool:
    s = _state(got)
    if not isinstance(s, dict):
        return False
    live = ~inputs["dead"]
    old = inputs["sae"].state
    return any(_t(s.get(k)) and s[k].shape == old[k].shape and not torch.equal(s[k][..., live] if k == "W_enc" else s[k][live],
                                                                                  old[k][..., live] if k == "W_enc" else old[k][live])
               for k in ("W_dec", "W_enc", "b_enc"))


def _bias_kept(got, expected, inputs) -> bool:
    s = _state(got)
    return isinstance(s, dict) and _t(s.get("b_enc")) and bool((s["b_enc"][inputs["dead"]] != 0).any())


def _decoder_right_encoder_wrong(got, expected, inputs) -> bool:
    s, e = _state(got), _state(expected)
    return isinstance(s, dict) and _t(s.get("W_dec")) and _close(s["W_dec"], e["W_dec"]) \
        and _t(s.get("W_enc")) and not _close(s["W_enc"], e["W_enc"])


# ------------------------------------------------------------------------------------------ 10-11. JumpReLU


def _jumprelu_inputs(g: torch.Generator, with_grad: bool = False) -> dict:
    """Thresholds and bandwidth are exact binary fractions, so some z sit exactly on θ and exactly on the kernel's
    edges θ ± ε/2 (where H and rect must follow their definitions: z > θ, |u| < 1/2)."""
    d_sae, batch = 10, 64
    threshold = (8 + torch.randint(0, 25, (d_sae,), generator=g)).float() / 64  # 0.125 .. 0.5
    eps = float(torch.randint(2, 5, (), generator=g)) / 16  # 0.125, 0.1875 or 0.25
    near = threshold + (torch.rand(batch, d_sae, generator=g) - 0.5) * 2 * eps  # many within eps/2 of θ, some not
    far = torch.randn(batch, d_sae, generator=g)
    z = torch.where(torch.rand(batch, d_sae, generator=g) < 0.7, near, far)
    z[:4] = threshold  # ties with the threshold
    z[4:8] = threshold + eps / 2  # on the kernel's upper edge
    z[8:12] = threshold - eps / 2  # and its lower edge
    out = {"z": z, "threshold": threshold, "bandwidth": eps}
    if with_grad:
        out["grad_output"] = torch.randn(batch, d_sae, generator=g)
    return out


def _grads(inputs, factor=True, sign=1.0, half=True, ignore_upstream=False):
    z, th, eps = inputs["z"], inputs["threshold"], inputs["bandwidth"]
    g = torch.ones_like(z) if ignore_upstream else inputs["grad_output"]
    rect = (((z - th) / eps).abs() < (0.5 if half else 1.0)).float()
    scale = th / eps if factor else 1.0 / eps
    return -sign * scale * rect * g


def _grad_theta_is(got, value) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2 and _close(got[1], value.sum(0), 1e-4)


def _no_theta_factor(got, expected, inputs) -> bool:
    return _grad_theta_is(got, _grads(inputs, factor=False))


def _wrong_sign(got, expected, inputs) -> bool:
    return _grad_theta_is(got, _grads(inputs, sign=-1.0))


def _full_width(got, expected, inputs) -> bool:
    return _grad_theta_is(got, _grads(inputs, half=False))


def _closed_edges(got, expected, inputs) -> bool:
    z, th, eps = inputs["z"], inputs["threshold"], inputs["bandwidth"]
    rect = (((z - th) / eps).abs() <= 0.5).float()
    return _grad_theta_is(got, -(th / eps) * rect * inputs["grad_output"])


def _ignores_upstream(got, expected, inputs) -> bool:
    return _grad_theta_is(got, _grads(inputs, ignore_upstream=True))


def _z_grad_everywhere(got, expected, inputs) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2 and _close(got[0], inputs["grad_output"])


def _jumprelu_subtracts(got, expected, inputs) -> bool:
    return _close(got, (inputs["z"] - inputs["threshold"]) * (inputs["z"] > inputs["threshold"]))


CHECKS = [
    Check("SAE.forward", points=2, inputs=_forward_inputs, tol=Tol(1e-4, 1e-5), title="1. SAE.forward",
          hints=[Hint(_forward_no_b_dec, "Your latents are what you get without subtracting b_dec from x first: "
                                         "pre = (x - b_dec) @ W_enc + b_enc."),
                 Hint(_forward_no_relu, "Your latents have negative values: apply self.activation to the pre-activations."),
                 Hint(_forward_no_dec_bias, "Your reconstruction lacks b_dec: x_hat = acts @ W_dec + b_dec.")]),
    Check("sae_loss", points=2, inputs=_loss_inputs, tol=Tol(1e-4, 1e-5), title="2. sae_loss",
          hints=[Hint(_unweighted, "That is the L1 penalty without the decoder norms: multiply each latent's "
                                   "activation by ||W_dec[i]|| (otherwise the SAE can shrink activations and grow the "
                                   "decoder to dodge the penalty)."),
                 Hint(_l1_wrong_tensor, "The L1 penalty is on the latent activations `acts`, not on x or x_hat."),
                 Hint(_mse_mean_over_dims, "Sum the squared error over the d_in dimensions, then average over the batch "
                                           "(you averaged over the dimensions too).")]),
    Check("normalise_decoder", points=1, inputs=_decoder_inputs, title="3. normalise_decoder",
          hints=[Hint(_columns_normalised, "You normalised the columns: each latent's direction is a row of W_dec "
                                           "(d_sae, d_in), so take the norm over dim=1.")]),
    Check("remove_parallel_grad", points=1, inputs=_parallel_inputs, title="4. remove_parallel_grad",
          hints=[Hint(_parallel_only, "You returned the parallel part itself: subtract it from grad."),
                 Hint(_parallel_kept, "The result still points partly along the rows: the component of row i is "
                                      "(grad_i . W_i) W_i, a dot product over d_in (dim=1, keepdim=True).")]),
    Check("topk_activation", points=1, inputs=_topk_inputs, title="5. topk_activation",
          hints=[Hint(_per_column, "You kept k values per latent (column): TopK keeps k per input, so take topk over "
                                   "the last dimension."),
                 Hint(_negatives, "Negative values survived: a row with fewer than k positive values keeps only "
                                  "those; apply the ReLU.")]),
    Check("batch_topk_activation", points=1, inputs=_batch_topk_inputs,
          title="6. batch_topk_activation (mean L0 exactly k)",
          hints=[Hint(_per_row_topk, "Every input has exactly k latents: that is TopK. BatchTopK picks the k * batch "
                                     "largest over the whole flattened batch, so busy inputs get more."),
                 Hint(_batch_l0_message, "The batch should hold exactly k * batch_size non-zero values (mean L0 = k).")]),
    Check("batch_topk_activation", points=1, inputs=lambda g: _batch_topk_inputs(g, quiet=True),
          title="6b. batch_topk_activation on a quiet batch (fewer positive values than k x batch)",
          hints=[Hint(_negatives, "Negative values survived: keep the largest of ReLU(pre), so a quiet batch keeps "
                                  "fewer than k * batch_size values.")]),
    Check("mean_max_cosine", points=1, inputs=_mmc_inputs, tol=Tol(1e-4, 1e-5), title="7. mean_max_cosine",
          hints=[Hint(_mmc_over_latents, "You took each latent's best feature: take each *feature's* best latent "
                                         "(max over the latents), then average over the features."),
                 Hint(_mmc_unnormalised, "Normalise both sets of rows first: a cosine is a dot product of unit vectors.")]),
    Check("train", points=2, inputs=_train_step_inputs, output=_state, tol=Tol(2e-4, 2e-5),
          title="8. train_step (four Adam steps through the given train, value by value)",
          hints=[Hint(_rows_not_unit, "After the optimiser's step, normalise W_dec's rows (under torch.no_grad())."),
                 Hint(_rows_unit_but_wrong, "The rows are unit length but the values differ. After backward and "
                                            "before the optimiser's step, replace W_dec's gradient by "
                                            "remove_parallel_grad(W_dec, its gradient); zero the gradients before "
                                            "backward; one optimiser step per batch.")]),
    Check("train", points=3, inputs=_recovery_inputs, reference=False, judge=_judge_recovery, timeout=RECOVERY_SECONDS,
          title=f"9. train recovers the true features (MMC >= 0.9 within {RECOVERY_SECONDS} s)"),
    Check("resample_dead", points=2, inputs=_resample_inputs, output=_state, tol=Tol(1e-4, 1e-5),
          title="10. resample_dead",
          hints=[Hint(_copied_live, "A dead latent now copies a live one: re-initialise it towards a badly "
                                    "reconstructed input instead (two latents with one direction split its activity)."),
                 Hint(_live_changed, "A live latent changed: only the dead ones are re-initialised."),
                 Hint(_bias_kept, "Set the dead latents' encoder biases to 0."),
                 Hint(_decoder_right_encoder_wrong, "The decoder rows are right; the encoder columns are the same "
                                                    "directions times 0.2 times the live latents' mean encoder-column "
                                                    "norm (W_enc[:, ~dead].norm(dim=0).mean()).")]),
    Check("jumprelu_forward", points=1, inputs=_jumprelu_inputs, title="11. JumpReLU.forward",
          hints=[Hint(_jumprelu_subtracts, "JumpReLU passes z unchanged above the threshold (z * H(z - θ)); it does "
                                           "not subtract θ.")]),
    Check("jumprelu_grads", points=2, inputs=lambda g: _jumprelu_inputs(g, with_grad=True), tol=Tol(1e-4, 1e-5),
          title="12. JumpReLU.backward",
          hints=[Hint(_no_theta_factor, "That is the step function's pseudo-gradient (the L0 penalty's): JumpReLU's "
                                        "has an extra factor θ, -(θ/ε) rect((z - θ)/ε)."),
                 Hint(_wrong_sign, "The sign is flipped: raising θ switches latents off, so the pseudo-gradient is "
                                   "-(θ/ε) rect(...) times the upstream gradient."),
                 Hint(_full_width, "rect(u) is 1 for |u| < 1/2: only pre-activations within ε/2 of θ count."),
                 Hint(_closed_edges, "rect(u) is 1 for |u| < 1/2, strictly: a pre-activation exactly ε/2 from θ does "
                                     "not count (SAELens's rectangle)."),
                 Hint(_ignores_upstream, "Multiply by grad_output (the chain rule) before summing."),
                 Hint(_z_grad_everywhere, "dL/dz is grad_output only where z > θ; zero elsewhere.")]),
]
