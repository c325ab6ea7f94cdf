"""Graded checks for lesson 00 (see course.grading.spec). Inputs are drawn fresh from each run's seed.

Models: the shipped `scenenet` (built in the sandbox by `course.zoo.load`) and small random CNNs of the same
design (a `SceneNet` with a few channels per layer and weights drawn here). Images: held-out scenes cropped to
48 x 64, so a transposed map or a swapped row/column fails; baselines and fill values are not zero.
"""

import math

import torch
import torch.nn.functional as F

from course.grading import Build, Check, Hint, Tol, Verdict
from course.grading.codec import materialise

solutions: object  # the reference module, set by the grader

SCENE_POOL = 10_200_000  # held-out scenes from here (never trained on, not the lesson's own figures)


# ------------------------------------------------------------------------------------------ inputs


def _scenenet() -> Build:
    return Build("course.zoo:load", "scenenet", device="cpu")


def _random_cnn(g: torch.Generator) -> Build:
    """A small SceneNet with random weights: 5 conv layers of a few channels, 5 classes per cell."""
    from course.vision.models import NetConfig, SceneNet

    widths = tuple(int(torch.randint(lo, lo + 5, (), generator=g)) for lo in (4, 6, 8, 10, 10))
    cfg = NetConfig(channels=widths)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (), generator=g)))
        net = SceneNet(cfg)
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.data.uniform_(0.0, 0.1)  # a little positive bias keeps the random net's ReLUs alive
            else:
                p.data.mul_(1.6)
    return Build("course.vision.models:SceneNet", cfg, state={k: v.clone() for k, v in net.state_dict().items()})


def _images(g: torch.Generator, n: int) -> torch.Tensor:
    """n held-out scenes, cropped to 48 x 64 (H != W)."""
    from course.vision.scenes import Scenes

    start = SCENE_POOL + int(torch.randint(0, 100_000, (), generator=g))
    images, _ = Scenes().batch(range(start, start + n))
    top = 8 * int(torch.randint(0, 3, (), generator=g))
    return images[:, :, top:top + 48, :]


def _target(g: torch.Generator) -> tuple:
    return (int(torch.randint(0, 5, (), generator=g)), int(torch.randint(0, 6, (), generator=g)),
            int(torch.randint(0, 8, (), generator=g)))


def _attr_inputs(g: torch.Generator, model: str) -> dict:
    return {"model": _scenenet() if model == "scenenet" else _random_cnn(g), "x": _images(g, 3), "target": _target(g)}


def _ig_inputs(g: torch.Generator, model: str) -> dict:
    d = _attr_inputs(g, model)
    x = d["x"]
    grey = torch.rand(1, 3, 1, 1, generator=g) * 0.4 + 0.3  # a coloured, slightly noisy baseline, not black
    d["baseline"] = (grey + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1).expand_as(x).contiguous()
    d["steps"] = int(torch.randint(6, 13, (), generator=g))
    return d


def _occlusion_inputs(g: torch.Generator, model: str) -> dict:
    d = _attr_inputs(g, model)
    d["size"] = 8 if model == "scenenet" else 16
    d["value"] = round(float(torch.rand((), generator=g)) * 0.5 + 0.25, 3)
    return d


_BUILT: dict = {}


def _model(inputs: dict):
    """The model a check's inputs describe, built here in the grader (for hints that re-run a slip)."""
    from course.vision.models import NetConfig

    b = inputs["model"]
    key = repr(b) + str(sum(float(v.sum()) for v in (b.state or {}).values()))
    if key not in _BUILT:
        args = [NetConfig.from_json(a) if isinstance(a, dict) else a for a in b.args]  # dataclasses arrive as dicts
        _BUILT.clear()
        _BUILT[key] = materialise(Build(b.target, *args, state=b.state, **b.kwargs), solutions)
    return _BUILT[key]


# ------------------------------------------------------------------------------------------ hints: attribution


def _close(a, b, rel: float = 1e-3) -> bool:
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.shape != b.shape:
        return False
    return bool(((a.double() - b.double()).abs() <= rel * b.double().abs().max() + 1e-7).all())


def _softmax_saliency(inputs: dict, absolute: bool = True, times_input: bool = False) -> torch.Tensor:
    cls, row, col = inputs["target"]
    x = inputs["x"].clone().requires_grad_(True)
    prob = F.softmax(_model(inputs)(x), dim=1)[:, cls, row, col]
    (grad,) = torch.autograd.grad(prob.sum(), x)
    grad = x.detach() * grad if times_input else grad
    return grad.abs() if absolute else grad


SOFTMAX = ("That is the gradient of the softmax probability: explain the logit (the model's raw output), not the "
           "softmax.")


def _is_softmax_saliency(got, exp, inputs) -> bool:
    return _close(got, _softmax_saliency(inputs))


def _is_softmax_gxi(got, exp, inputs) -> bool:
    return _close(got, _softmax_saliency(inputs, absolute=False, times_input=True))


def _no_abs(got, exp, inputs) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == exp.shape and bool((got < 0).any()) and _close(got.abs(), exp)


def _channels_summed(got, exp, inputs) -> bool:
    return isinstance(got, torch.Tensor) and got.dim() == 3


def _ig_attr(got):
    return got[0] if isinstance(got, (tuple, list)) and len(got) == 2 else None


def _ig_no_difference(got, exp, inputs) -> bool:
    a = _ig_attr(got)
    diff = inputs["x"] - inputs["baseline"]
    keep = diff.abs() > 0.05
    return isinstance(a, torch.Tensor) and a.shape == exp[0].shape and _close(a[keep] * diff[keep], exp[0][keep], 1e-2)


def _ig_times_x(got, exp, inputs) -> bool:
    a = _ig_attr(got)
    diff, x = inputs["x"] - inputs["baseline"], inputs["x"]
    keep = diff.abs() > 0.05
    return isinstance(a, torch.Tensor) and a.shape == exp[0].shape and _close(
        a[keep] / x[keep].clamp_min(1e-3) * diff[keep], exp[0][keep], 1e-2) and not _close(a, exp[0])


def _ig_error_sign(got, exp, inputs) -> bool:
    return (isinstance(got, (tuple, list)) and len(got) == 2 and _close(got[0], exp[0])
            and _close(got[1], -exp[1]))


def _ig_error_wrong(got, exp, inputs) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2 and _close(got[0], exp[0]) and not _close(got[1], exp[1])


def _ig_with_offset(inputs: dict, offset: float) -> torch.Tensor:
    """IG's attributions with the points at (k + offset) / steps (0: left Riemann sum, 1: right)."""
    model, x, base, steps = _model(inputs), inputs["x"], inputs["baseline"], inputs["steps"]
    cls, row, col = inputs["target"]
    total = torch.zeros_like(x)
    for k in range(steps):
        point = (base + (k + offset) / steps * (x - base)).requires_grad_(True)
        total += torch.autograd.grad(model(point)[:, cls, row, col].sum(), point)[0]
    return (x - base) * total / steps


def _ig_other_rule(got, exp, inputs) -> bool:
    a = _ig_attr(got)
    if not (isinstance(a, torch.Tensor) and a.shape == exp[0].shape):
        return False
    return any(_close(a, _ig_with_offset(inputs, offset), 1e-3) for offset in (0.0, 1.0))


# ------------------------------------------------------------------------------------------ spearman


def _spearman_inputs(g: torch.Generator) -> dict:
    """Maps with ties (many exact zeros, as outside a receptive field, and rounded values) and monotone but
    non-linear relations, so ranks, tie handling and Pearson all give different answers."""
    n, h, w = 4, 6, 9
    a = torch.randn(n, h, w, generator=g).double()
    noise = torch.randn(n, h, w, generator=g).double()
    mix = torch.rand(n, 1, 1, generator=g).double() * 0.8 + 0.2
    b = torch.exp(3 * (mix * a + (1 - mix) * noise))  # monotone in a mix: Pearson != Spearman
    a = torch.round(a * 2) / 2  # ties in a
    zeros = torch.rand(n, h, w, generator=g) < 0.3
    a[zeros], b[zeros] = 0.0, 0.0  # shared zeros: big ties in both
    b[1] = -b[1]  # one negative correlation
    return {"a": a.float(), "b": b.float()}


def _pearson(a, b):
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


def _is_pearson(got, exp, inputs) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == exp.shape and _close(got, _pearson(inputs["a"], inputs["b"]))


def _ties_ignored(got, exp, inputs) -> bool:
    r = lambda v: v.flatten(1).argsort(1).argsort(1).double()  # noqa: E731 - ranks that break ties by position
    return (isinstance(got, torch.Tensor) and got.shape == exp.shape
            and _close(got, _pearson(r(inputs["a"]), r(inputs["b"]))))


# ------------------------------------------------------------------------------------------ probe


def _probe_inputs(g: torch.Generator) -> dict:
    """Cells of held-out scenes covered by a shape, described by one of scenenet's layers (pooled onto the
    8 x 8 label grid, standardised); label 1 = a round shape. Few training scenes, many test scenes: a probe
    fits its training cells far better than it generalises, so scoring the wrong split shows."""
    from course import zoo
    from course.vision.probe import activations
    from course.vision.scenes import Scenes

    layer = ["conv3", "conv4", "conv5"][int(torch.randint(0, 3, (), generator=g))]
    start = SCENE_POOL + 200_000 + int(torch.randint(0, 100_000, (), generator=g))
    images, labels = Scenes().batch(range(start, start + 64))
    model = zoo.load("scenenet", device="cpu")
    act = F.adaptive_avg_pool2d(activations(model, images, [layer])[layer], 8)  # (64, C, 8, 8)
    feats = act.permute(0, 2, 3, 1).reshape(64, 64, -1)
    labels = labels.reshape(64, 64)
    train_scenes = 12
    def cells(sl):  # noqa: E306
        f, y = feats[sl].reshape(-1, feats.shape[-1]), labels[sl].flatten()
        keep = y > 0
        return f[keep], ((y[keep] == 1) | (y[keep] == 2)).long()
    x_train, y_train = cells(slice(0, train_scenes))
    x_test, y_test = cells(slice(train_scenes, 64))
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    d = x_train.shape[1]
    probe = torch.nn.Linear(d, 2)
    with torch.no_grad():
        probe.weight.copy_(torch.randn(2, d, generator=g) * 0.05)
        probe.bias.zero_()
    state = {"linear.weight": probe.weight.detach().clone(), "linear.bias": probe.bias.detach().clone()}
    return {"probe": Build("LinearProbe", d, 2, state=state), "x_train": (x_train - mean) / std, "y_train": y_train,
            "x_test": (x_test - mean) / std, "y_test": y_test, "steps": 150, "lr": 0.02}


def _probe_accuracy(state: dict, x, y) -> float:
    probe = solutions.LinearProbe(x.shape[1], 2)
    probe.load_state_dict(state)
    with torch.no_grad():
        return float((probe(x).argmax(1) == y).float().mean())


def _judge_probe(got, inputs, expected) -> Verdict:
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and hasattr(got[0], "state_dict")):
        return Verdict(False, "train_probe must return (the trained probe, its test accuracy)")
    state, reported = got[0].state_dict, got[1]
    if isinstance(reported, torch.Tensor) and reported.numel() == 1:
        reported = reported.item()
    if not isinstance(reported, (int, float)) or not math.isfinite(reported) or not 0 <= reported <= 1:
        return Verdict(False, f"the accuracy must be a number in [0, 1], got {reported!r}")
    if set(state) != {"linear.weight", "linear.bias"}:
        return Verdict(False, "return the LinearProbe you were given, trained")
    test = _probe_accuracy(state, inputs["x_test"], inputs["y_test"])
    train = _probe_accuracy(state, inputs["x_train"], inputs["y_train"])
    ref = _probe_accuracy(expected[0].state_dict, inputs["x_test"], inputs["y_test"])
    slack = 0.5 / len(inputs["y_test"])
    if abs(reported - test) > slack:
        why = (" That is its accuracy on the training cells: score the held-out split (x_test, y_test)."
               if abs(reported - train) <= 0.5 / len(inputs["y_train"]) else "")
        return Verdict(False, f"you report accuracy {reported:.4f}, but the probe you returned scores {test:.4f} "
                              f"on the test cells.{why}")
    if test < ref - 0.02:
        return Verdict(False, f"test accuracy {test:.4f}; the reference training reaches {ref:.4f} (needs >= "
                              f"{ref - 0.02:.4f}). Full-batch Adam at the given lr and steps, zeroing the gradients "
                              "each step, on the cross-entropy of the probe's logits?")
    return Verdict(True, f"test accuracy {test:.4f} (the reference: {ref:.4f}; training cells: {train:.4f})")


# ------------------------------------------------------------------------------------------ control task


def _control_inputs(g: torch.Generator) -> dict:
    n_types = int(torch.randint(150, 301, (), generator=g))
    m = 4000
    types = torch.cat([torch.arange(n_types), torch.randint(0, n_types, (m - n_types,), generator=g)])
    types = types[torch.randperm(m, generator=g)]
    probs = torch.tensor([0.6, 0.3, 0.1])[torch.randperm(3, generator=g)]
    labels = torch.multinomial(probs, m, replacement=True, generator=g)
    seed = int(torch.randint(0, 10_000, (), generator=g))
    return {"types": types, "labels": labels, "n_types": n_types, "seed": seed}


def _judge_control(got, inputs, expected) -> Verdict:
    types, labels, n_types = inputs["types"], inputs["labels"], inputs["n_types"]
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(labels.shape):
        return Verdict(False, f"expected a tensor of shape {tuple(labels.shape)} (one control label per example)")
    if got.is_floating_point() or got.dtype == torch.bool:
        return Verdict(False, f"labels are integers (long), got {got.dtype}")
    got = got.long()
    if not set(got.unique().tolist()) <= set(labels.unique().tolist()):
        return Verdict(False, "control labels must be drawn from the task's own labels")
    per_type_min = torch.full((n_types,), 10**9).scatter_reduce(0, types, got, "amin")
    per_type_max = torch.full((n_types,), -1).scatter_reduce(0, types, got, "amax")
    mixed = int((per_type_min != per_type_max).sum())
    if mixed:
        return Verdict(False, f"{mixed} of {n_types} types have examples with different control labels: the "
                              "control label is a function of the type alone (one draw per type, not per example)")
    table = per_type_min  # (n_types,) each type's label
    k = int(labels.max()) + 1
    want = torch.bincount(labels, minlength=k).double() / len(labels)
    have = torch.bincount(table, minlength=k).double() / n_types
    sd = (want * (1 - want) / n_types).sqrt()
    if ((have - want).abs() > 4.5 * sd + 0.01).any():
        uniform = bool(((have - 1 / k).abs() <= 4.5 * (1 / k * (1 - 1 / k) / n_types) ** 0.5 + 0.01).all())
        return Verdict(False, f"types got the labels with frequencies {[round(v, 3) for v in have.tolist()]}, but "
                              f"the task's labels occur with {[round(v, 3) for v in want.tolist()]}"
                              + (": that looks uniform; draw from the labels' distribution (torch.bincount)"
                                 if uniform else ""))
    return Verdict(True, f"one label per type, drawn with frequencies {[round(v, 3) for v in have.tolist()]}")


def _selectivity_inputs(g: torch.Generator) -> dict:
    layers = ["pixels", "conv1", "conv2", "conv3", "conv4", "conv5"]
    task = {name: round(float(torch.rand((), generator=g)) * 0.5 + 0.5, 4) for name in layers}
    control = {name: round(float(torch.rand((), generator=g)) * 0.4 + 0.45, 4) for name in layers}
    return {"task": task, "control": control}


# ------------------------------------------------------------------------------------------ ablation


def _ablate_inputs(g: torch.Generator, model: str) -> dict:
    if model == "scenenet":
        layer, width, build = ["conv3", "conv4", "conv5"][int(torch.randint(0, 3, (), generator=g))], None, _scenenet()
        width = {"conv3": 64, "conv4": 128, "conv5": 128}[layer]
    else:
        build = _random_cnn(g)
        layer = ["conv2", "conv3", "conv4"][int(torch.randint(0, 3, (), generator=g))]
        width = build.args[0].channels[int(layer[-1]) - 1]
    sizes = [int(torch.randint(1, 4 if model != "scenenet" else 16, (), generator=g)) for _ in range(3)]
    order = torch.randperm(width, generator=g).tolist()
    sets, at = [], 0
    for s in sizes:  # disjoint sets, so a hook left on shows in the next pass
        sets.append(sorted(order[at:at + s]))
        at += s
    return {"model": build, "x": _images(g, 2), "layer": layer, "unit_sets": sets}


def _hook_left(got, exp, inputs) -> bool:
    return (isinstance(got, torch.Tensor) and got.shape == exp.shape and not _close(got[-1], exp[-1], 1e-4))


IG_SIGN = "The error is attributions.sum() - (logit(x) - logit(baseline)): its sign is flipped."
HOOK_LEFT = ("Your last row is not the clean output: a hook is still zeroing units after you finished with it. "
             "Keep the handle register_forward_hook returns and call handle.remove() after each pass (in a finally).")


CHECKS = [
    Check("saliency", points=1, inputs=lambda g: _attr_inputs(g, "random"), tol=Tol(1e-4, 1e-6),
          title="1. saliency (a random CNN)",
          hints=[Hint(_channels_summed, "Return one value per input value, shape (N, 3, H, W): don't sum the "
                                        "channels."),
                 Hint(_no_abs, "Saliency is the gradient's absolute value (|d logit / d x|)."),
                 Hint(_is_softmax_saliency, SOFTMAX)]),
    Check("gradient_x_input", points=1, inputs=lambda g: _attr_inputs(g, "scenenet"), tol=Tol(1e-4, 1e-6),
          title="2. gradient_x_input (scenenet)",
          hints=[Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape == exp.shape
                      and not bool((got < 0).any()) and _close(got, exp.abs()),
                      "Gradient x input keeps its sign: no absolute value."),
                 Hint(_is_softmax_gxi, SOFTMAX)]),
    Check("integrated_gradients", points=1, inputs=lambda g: _ig_inputs(g, "scenenet"), tol=Tol(1e-4, 1e-4),
          title="3a. integrated_gradients (scenenet, a coloured baseline)", timeout=90,
          hints=[Hint(_ig_no_difference, "Multiply the averaged gradient by (x - baseline), not by nothing."),
                 Hint(_ig_times_x, "Multiply by (x - baseline), not by x: the baseline isn't black here."),
                 Hint(_ig_error_sign, IG_SIGN),
                 Hint(_ig_error_wrong, "Attributions right, error wrong: sum each example's attributions over channels "
                                       "and pixels, and compare with logit(x) - logit(baseline)."),
                 Hint(_ig_other_rule, "That is a left (or right) Riemann sum: use the midpoint rule, alpha_k = "
                                      "(k + 0.5) / steps, and divide the sum of gradients by steps.")]),
    Check("integrated_gradients", points=1, inputs=lambda g: _ig_inputs(g, "random"), tol=Tol(1e-4, 1e-4),
          title="3b. integrated_gradients (a random CNN)", timeout=90,
          hints=[Hint(_ig_no_difference, "Multiply the averaged gradient by (x - baseline), not by nothing."),
                 Hint(_ig_error_sign, IG_SIGN)]),
    Check("occlusion", points=1, inputs=lambda g: _occlusion_inputs(g, "scenenet"), tol=Tol(1e-4, 1e-5),
          title="4a. occlusion (scenenet, 8 x 8 patches)",
          hints=[Hint(lambda got, exp, inp: _close(got, -exp), "Report logit(x) - logit(occluded): positive when "
                                                              "hiding the patch lowers the logit.")]),
    Check("occlusion", points=1, inputs=lambda g: _occlusion_inputs(g, "random"), tol=Tol(1e-4, 1e-5),
          title="4b. occlusion (a random CNN, 16 x 16 patches)"),
    Check("spearman", points=2, inputs=_spearman_inputs, tol=Tol(1e-6, 1e-6), check_dtype=False,
          title="5. spearman (maps with ties)",
          hints=[Hint(_is_pearson, "That is the Pearson correlation of the values: rank them first."),
                 Hint(_ties_ignored, "Tied values must share their average rank (argsort of argsort breaks ties by "
                                     "position).")]),
    Check("train_probe", points=2, inputs=_probe_inputs, judge=_judge_probe, timeout=90,
          title="6. train_probe: the test accuracy the reference reaches"),
    Check("control_labels", points=2, inputs=_control_inputs, reference=False, judge=_judge_control,
          title="7. control_labels: one random label per type"),
    Check("selectivity", points=1, inputs=_selectivity_inputs, title="8. selectivity",
          hints=[Hint(lambda got, exp, inp: isinstance(got, dict) and set(got) == set(exp)
                      and all(isinstance(got[k], (int, float)) and abs(got[k] + exp[k]) < 1e-6 for k in exp),
                      "Selectivity is task accuracy minus control accuracy.")]),
    Check("ablate_each", points=1, inputs=lambda g: _ablate_inputs(g, "scenenet"), tol=Tol(1e-5, 1e-5),
          title="9a. ablate_each (scenenet)", hints=[Hint(_hook_left, HOOK_LEFT)]),
    Check("ablate_each", points=1, inputs=lambda g: _ablate_inputs(g, "random"), tol=Tol(1e-5, 1e-5),
          title="9b. ablate_each (a random CNN)", hints=[Hint(_hook_left, HOOK_LEFT)]),
]
