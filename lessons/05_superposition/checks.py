"""Graded checks for lesson 05 (see course.grading.spec). Inputs are drawn fresh from each run's seed."""

import math

import torch

from course.grading import Build, Check, Hint, Tol, Verdict

solutions: object  # the reference module, set by the grader


# ------------------------------------------------------------------------------------------ 1. generate_batch


def _batch_inputs(g: torch.Generator) -> dict:
    p = torch.sort(torch.rand(4, generator=g) * 0.8 + 0.1).values
    return {"feature_probability": p, "n_features": int(torch.randint(20, 41, (), generator=g)), "batch_size": 3000}


def _judge_batch(got, inputs, expected) -> Verdict:
    p, F, B = inputs["feature_probability"], inputs["n_features"], inputs["batch_size"]
    shape = (B, len(p), F)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != shape:
        return Verdict(False, f"expected a tensor of shape {shape} (batch, n_instances, n_features), got "
                              f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
    if not got.is_floating_point() or got.min() < 0 or got.max() >= 1:
        return Verdict(False, "values must be floats in [0, 1): 0 where a feature is inactive, uniform where active")
    active = (got > 0).float().mean(dim=(0, 2))  # per instance
    sd = (p * (1 - p) / (B * F)).sqrt()
    if ((active - p).abs() > 5 * sd + 0.005).any():
        inverted = ((active - (1 - p)).abs() < 5 * sd + 0.005).all()
        return Verdict(False, f"each instance's features should be active with its probability {p.tolist()}, "
                              f"but the active fractions are {[round(a, 3) for a in active.tolist()]}"
                              + (": they look like 1 - p (is the comparison the wrong way round?)" if inverted else ""))
    values = got[got > 0]
    if abs(values.mean().item() - 0.5) > 0.02 or values.std().item() < 0.25:
        return Verdict(False, f"active features should be uniform on [0, 1) (mean 0.5, sd 0.29), got mean "
                              f"{values.mean().item():.3f}, sd {values.std().item():.3f}")
    return Verdict(True, "right shape, sparsity and values")


# ------------------------------------------------------------------------------------------ 2-3. forward, loss


def _model(g: torch.Generator, n_features=6, n_hidden=3, n_instances=4, scale=1.0) -> Build:
    cfg = Build("ToyModelConfig", n_features=n_features, n_hidden=n_hidden, n_instances=n_instances)
    state = {
        "W": torch.randn(n_instances, n_hidden, n_features, generator=g) * scale,
        "b_final": torch.randn(n_instances, n_features, generator=g) * 0.3,
        "feature_probability": torch.rand(n_instances, generator=g),
        "importance": torch.rand(n_features, generator=g),
    }
    return Build("ToyModel", cfg, state=state)


def _has_negatives(got, expected, inputs) -> bool:
    return isinstance(got, torch.Tensor) and bool((got < 0).any())


def _unweighted(got, expected, inputs) -> bool:
    err = (inputs["batch"] - inputs["out"]) ** 2
    return abs(float(got) - err.mean(dim=(0, 2)).sum().item()) < 1e-5


def _loss_inputs(g: torch.Generator) -> dict:
    return {"out": torch.rand(32, 4, 7, generator=g), "batch": torch.rand(32, 4, 7, generator=g),
            "importance": 0.8 ** torch.arange(7.0) * torch.rand((), generator=g).item() * 2}


# ------------------------------------------------------------------------------------------ 4. train

TRAIN_P = [1.0, 0.3, 0.1, 0.03]


def _train_inputs(g: torch.Generator) -> dict:
    cfg = Build("ToyModelConfig", n_features=5, n_hidden=2, n_instances=4)
    W = torch.randn(4, 2, 5, generator=g) * math.sqrt(2 / 7)
    return {"model": Build("ToyModel", cfg, torch.tensor(TRAIN_P), 0.9 ** torch.arange(5.0),
                           state={"W": W, "b_final": torch.zeros(4, 5), "feature_probability": torch.tensor(TRAIN_P),
                                  "importance": 0.9 ** torch.arange(5.0)}),
            "steps": 1000, "batch_size": 256, "lr": 1e-2}


def _eval_loss(state: dict) -> torch.Tensor:
    """Per-instance loss of a trained toy model on one fixed, large batch: the trusted reference's functions."""
    model = solutions.ToyModel(solutions.ToyModelConfig(5, 2, 4))
    model.load_state_dict(state)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(20221)
        batch = solutions.generate_batch(model.feature_probability, 5, 20_000)
        return (model.importance * (batch - model(batch)) ** 2).mean(dim=(0, 2))


def _judge_train(got, inputs, expected) -> Verdict:
    state = getattr(got, "state_dict", None)
    if not isinstance(state, dict) or set(state) != {"W", "b_final", "feature_probability", "importance"}:
        return Verdict(False, "train must return the model it trained (a ToyModel), not " + type(got).__name__)
    if not torch.equal(state["feature_probability"], torch.tensor(TRAIN_P)):
        return Verdict(False, "the model's feature_probability buffer changed: train only W and b_final")
    mine, ref = _eval_loss(state), _eval_loss(expected.state_dict)
    bound = 1.15 * ref.sum().item() + 0.003
    detail = f"loss {mine.sum().item():.4f} on a fresh batch; the reference training reaches {ref.sum().item():.4f}"
    if not math.isfinite(mine.sum().item()) or mine.sum().item() > bound:
        return Verdict(False, f"{detail} (needs <= {bound:.4f}). Does each step draw a fresh batch, zero the "
                              "gradients, and optimise model.parameters() with Adam at the given lr?")
    return Verdict(True, detail)


# ------------------------------------------------------------------------------------------ 5-8. analysis


def _weights(g: torch.Generator) -> dict:
    W = torch.randn(3, 4, 9, generator=g)
    W[:, :, 7] = 0  # a dropped feature
    return {"W": W}


def _phase_weights(g: torch.Generator) -> dict:
    big = lambda n: (torch.rand(n, generator=g) * 0.6 + 0.7) * torch.sign(torch.randn(n, generator=g))  # noqa: E731
    small = lambda n: (torch.rand(n, generator=g) - 0.5) * 0.4  # noqa: E731
    n = 6
    a, b = big(n), big(n)
    rows = [torch.stack([big(n), small(n)], 1), torch.stack([small(n), big(n)], 1),
            torch.stack([a, -a.sign() * b.abs()], 1), torch.stack([a, a.sign() * b.abs()], 1),  # antipodal, same-sign
            torch.stack([small(n), small(n)], 1)]
    W = torch.cat(rows)[torch.randperm(5 * n, generator=g)]
    return {"W": W[:, None, :]}


def _summed_over_features(got, expected, inputs) -> bool:
    F = inputs["out"].shape[-1]
    return isinstance(got, torch.Tensor) and got.numel() == 1 and abs(float(got) - F * float(expected)) < 1e-4 * F


def _variants(W: torch.Tensor, unit_dim: int) -> dict:
    """interference and feature_dimensionality computed with W normalised along `unit_dim` (1 is right), and the
    dimensionality with the j = i term left out of its denominator."""
    norms2 = (W**2).sum(dim=1)
    unit = W / W.norm(dim=unit_dim, keepdim=True).clamp(min=1e-8)
    overlap = torch.einsum("nhi,nhj->nij", unit, W) ** 2
    others = overlap.sum(-1) - torch.diagonal(overlap, dim1=-2, dim2=-1)
    dim = lambda denom: torch.where(norms2 > 1e-6, norms2 / denom.clamp(min=1e-12), torch.zeros_like(norms2))  # noqa: E731
    return {"interference": others, "dimensionality": dim(overlap.sum(-1)), "without_self": dim(others)}


def _is(which: str, unit_dim: int):
    def when(got, expected, inputs) -> bool:
        wrong = _variants(inputs["W"], unit_dim)[which]
        return (isinstance(got, torch.Tensor) and got.shape == wrong.shape
                and bool(torch.allclose(got.double(), wrong.double(), rtol=1e-4, atol=1e-5)))
    return when


COLUMNS = ("W_i is a column of W (W[:, :, i], length n_hidden): normalise along the hidden axis, dim=1. You "
           "normalised the rows (dim=2, across features).")

CHECKS = [
    Check("generate_batch", points=2, inputs=_batch_inputs, reference=False, judge=_judge_batch,
          title="1. generate_batch: shape, sparsity and values"),
    Check("ToyModel.forward", points=2, inputs=lambda g: {"self": _model(g), "features": torch.rand(16, 4, 6, generator=g)},
          tol=Tol(1e-5, 1e-6), title="2. ToyModel.forward",
          hints=[Hint(_has_negatives, "Your output has negative values: the ReLU goes on the output, after adding b_final.")]),
    Check("importance_loss", points=1, inputs=_loss_inputs, tol=Tol(1e-5, 1e-7), title="3. importance_loss",
          hints=[Hint(_unweighted, "That is the unweighted loss: multiply each feature's squared error by its importance."),
                 Hint(_summed_over_features, "You summed over the features: the loss is the mean over the batch AND "
                                             "the features of I_i (x_i - x'_i)^2, then summed over instances.")]),
    Check("dimensions_per_feature", points=1, inputs=_weights, tol=Tol(1e-5, 1e-6), title="4. dimensions_per_feature"),
    Check("interference", points=1, inputs=_weights, tol=Tol(1e-4, 1e-5), title="5. interference",
          hints=[Hint(_is("interference", 2), COLUMNS)]),
    Check("feature_dimensionality", points=2, inputs=_weights, tol=Tol(1e-4, 1e-5), title="6. feature_dimensionality",
          hints=[Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and bool(torch.isnan(got).any()),
                      "A dropped feature (all-zero column) must get dimensionality 0, not NaN."),
                 Hint(_is("without_self", 1), "The denominator's sum runs over every j, including j = i (which contributes "
                                     "||W_i||^2 itself)."),
                 Hint(_is("dimensionality", 2), COLUMNS)]),
    Check("classify_phase", points=2, inputs=_phase_weights, title="7. classify_phase",
          hints=[Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape == exp.shape
                      and bool(((got == 2) & (exp == 3)).any()),
                      "Both features represented with the same sign is not superposition: check the signs.")]),
    Check("train", points=3, inputs=_train_inputs, judge=_judge_train, timeout=90,
          title="8. train: reaches the reference's loss"),
]
