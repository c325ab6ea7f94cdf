"""Graded checks for lesson 04 (see course.grading.spec). Inputs are drawn fresh from each run's seed: random
small SceneNets (random widths, kernels, strides and input normalisation, so a transposed or unflipped kernel,
a missing 1/std or a wrong channel axis shows), held-out scenes cropped to 48 x 64, families given in a shuffled
order, and a unit of scenenet's curve family picked at random for the hand-built detector."""

import functools
import math

import torch
import torch.nn.functional as F

from course.grading import Build, Check, Hint, Tol, Verdict
from course.grading.codec import ModuleOutput, materialise

solutions: object  # the reference module, set by the grader

SCENE_POOL = 10_000_000  # held-out scenes (the model never trained on them)
TUNING_THRESHOLD = 0.75  # 9: the built unit's tuning correlation with the learned unit it replaces
ELIGIBLE = 0.85  # 9: the check picks among units where the lesson's rule reaches this correlation
RECOVERED_THRESHOLD = 0.5  # 9: share of the disc recall lost to the ablation that the built family must win back


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _int(g: torch.Generator, lo: int, hi: int) -> int:
    """An integer in [lo, hi]."""
    return int(torch.randint(lo, hi + 1, (), generator=g))


def _close(a, b, tol=1e-4) -> bool:
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
            and bool(torch.allclose(a.double(), b.double(), atol=tol, rtol=tol, equal_nan=True)))


def _pair_close(a, b, tol=1e-4) -> bool:
    return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
            and all(_close(x, y, tol) for x, y in zip(a, b)))


def _scenenet() -> Build:
    return Build("course.zoo:load", "scenenet", device="cpu")


def _random_net(g: torch.Generator, kernels=(4, 4, 4, 3, 3), strides=(2, 2, 2, 1, 1), std=None,
                widths=(4, 6, 8, 10, 10)) -> Build:
    """A SceneNet of a few channels per layer with random weights (biases a little positive: live ReLUs)."""
    from course.vision.models import NetConfig, SceneNet

    channels = tuple(_int(g, lo, lo + 4) for lo in widths)
    cfg = dict(channels=channels, kernels=tuple(kernels), strides=tuple(strides))
    if std is not None:
        cfg["std"] = tuple(std)
    net = SceneNet(NetConfig(**cfg))
    state = {}
    for name, p in net.state_dict().items():
        if name.endswith("weight"):
            state[name] = torch.randn(p.shape, generator=g) * 1.6 * math.sqrt(2.0 / p[0].numel())
        elif name.endswith("bias"):
            state[name] = torch.rand(p.shape, generator=g) * 0.1
        else:
            state[name] = p.clone()
    return Build("course.vision.models:SceneNet", Build("course.vision.models:NetConfig", **cfg), state=state)


def _scenes(g: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n held-out scenes cropped to 48 x 64 (H != W), with their labels cropped alike (6 x 8)."""
    from course.vision.scenes import Scenes

    start = SCENE_POOL + _int(g, 0, 100_000)
    images, labels = Scenes().batch(range(start, start + n))
    top = _int(g, 0, 2)
    return images[:, :, 8 * top:8 * top + 48, :].contiguous(), labels[:, top:top + 6, :].contiguous()


def _units(g: torch.Generator, width: int, lo: int, hi: int) -> list[int]:
    """A few distinct units out of `width`, in a shuffled (unsorted) order."""
    return torch.randperm(width, generator=g)[:_int(g, lo, min(hi, width))].tolist()


def _width(build: Build, layer: str) -> int:
    if build.target == "course.zoo:load":
        return {"conv1": 16, "conv2": 32, "conv3": 64, "conv4": 128, "conv5": 128}[layer]
    return build.args[0].kwargs["channels"][int(layer[-1]) - 1]


# ------------------------------------------------------------------------------------------ 1. strongest_inputs


def _inputs_strongest(g: torch.Generator, shipped: bool) -> dict:
    build = _scenenet() if shipped else _random_net(g)
    layer = ("conv2", "conv3", "conv4", "conv5")[_int(g, 0, 3)]
    below = f"conv{int(layer[-1]) - 1}"
    return {"model": build, "layer": layer, "unit": _int(g, 0, _width(build, layer) - 1),
            "k": _int(g, 2, min(6, _width(build, below) - 1))}


def _weight(inp: dict) -> torch.Tensor:
    model = materialise(inp["model"], solutions)
    return getattr(model, inp["layer"]).conv.weight.detach()


def _ranked_by(score):
    def when(got, exp, inp) -> bool:
        if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[0], torch.Tensor)):
            return False
        w = _weight(inp)[inp["unit"]]
        order = score(w).argsort(descending=True)[:inp["k"]]
        return bool(got[0].numel() == order.numel() and torch.equal(got[0].long().flatten(), order))
    return when


def _columns(got, exp, inp) -> bool:
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], torch.Tensor)):
        return False
    w = _weight(inp)
    return inp["unit"] < w.shape[1] and got[1].shape[1:] == w.shape[2:] and any(
        torch.allclose(got[1][0].double(), w[c, inp["unit"]].double()) for c in range(w.shape[0]))


def _weakest_first(got, exp, inp) -> bool:
    return (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[0], torch.Tensor)
            and got[0].numel() == exp[0].numel() and not torch.equal(got[0].long(), exp[0])
            and set(got[0].tolist()) == set(_weight(inp)[inp["unit"]].flatten(1).norm(dim=1).argsort()[:inp["k"]].tolist()))


STRONGEST_HINTS = [
    Hint(_ranked_by(lambda w: w.flatten(1).sum(1)), "You ranked the kernels by their sum: a kernel that excites at "
         "one tap and inhibits at another sums to little but is strong. Rank by the L2 norm, w.flatten(1).norm(dim=1)."),
    Hint(_ranked_by(lambda w: w.flatten(1).abs().amax(1)), "You ranked by the largest single weight; rank by the "
         "kernel's L2 norm (all its taps count)."),
    Hint(_columns, "Those are kernels *out of* channel `unit` into the next layer (weight[:, unit]); the kernels "
         "into the unit are weight[unit], shape (in, kh, kw)."),
    Hint(_weakest_first, "The weakest come first: sort with descending=True (strongest first)."),
]


# ------------------------------------------------------------------------------------------ 2. echo_ratio


def _inputs_echo(g: torch.Generator) -> dict:
    step = (5.0, 7.5, 10.0, 12.0, 15.0)[_int(g, 0, 4)]
    a = int(round(360 / step))
    u = _int(g, 5, 8)
    ors = torch.arange(a) * step
    rows = []
    for i in range(u):
        peak = _uniform(g, 0, 360)
        d = (ors - peak + 180) % 360 - 180
        bump = torch.exp(-d ** 2 / (2 * _uniform(g, 15, 30) ** 2)) * _uniform(g, 1, 3)
        echo_at = peak + 180 + _uniform(g, -50, 50)  # sometimes inside the window, sometimes just outside
        e = (ors - echo_at + 180) % 360 - 180
        rows.append(bump + _uniform(g, 0.2, 0.8) * bump.max() * torch.exp(-e ** 2 / (2 * 8.0 ** 2))
                    + 0.05 * torch.rand(a, generator=g))
    tuning = torch.stack(rows)
    tuning[_int(g, 0, u - 1)] = 0.0  # a unit that never responds
    return {"tuning": tuning, "step": step, "window": float(_int(g, 25, 70)) + 0.5}


def _echo_with(inp: dict, **changes) -> torch.Tensor:
    return solutions.echo_ratio(**{**inp, **changes})


ECHO_HINTS = [
    Hint(lambda got, exp, inp: _close(got, _echo_with(inp, window=0.0)),
         "That is only the single sample 180 degrees away: take the largest response within `window` degrees of it."),
    Hint(lambda got, exp, inp: _close(got, _echo_with(inp, window=inp["window"] * inp["step"])),
         "`window` is in degrees: it spans int(window // step) samples either side of the opposite one."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and bool(torch.isnan(got).any()),
         "NaN: a unit that never responds has peak 0; divide by peak.clamp_min(1e-12) so its echo is 0."),
]


# ------------------------------------------------------------------------------------------ 3. circulant_score


def _inputs_circulant(g: torch.Generator) -> dict:
    n = _int(g, 6, 12)
    c = torch.randn(n, generator=g, dtype=torch.float64)
    i = torch.arange(n)
    W = c[(i[None, :] - i[:, None]) % n] + _uniform(g, 0.1, 1.0) * torch.randn(n, n, generator=g, dtype=torch.float64)
    W = W + _uniform(g, -1, 1)  # a non-zero mean
    ors = (torch.arange(n, dtype=torch.float64) * 360 / n + _uniform(g, 0, 360)
           + torch.rand(n, generator=g, dtype=torch.float64) * 10)  # evenly spaced, jittered, some beyond 360
    perm = torch.randperm(n, generator=g)  # the family arrives in a shuffled order, rows and columns alike
    return {"W": W[perm][:, perm], "orientations": ors[perm]}


def _circ(Wo: torch.Tensor, wrap: bool = True, centred: bool = True) -> float:
    n = Wo.shape[0]
    i = torch.arange(n)
    lag = ((i[None, :] - i[:, None]) % n) if wrap else (i[None, :] - i[:, None] + n - 1)
    k = int(lag.max()) + 1
    means = torch.zeros(k, dtype=torch.float64).index_add_(0, lag.flatten(), Wo.flatten().double())
    means = means / torch.bincount(lag.flatten(), minlength=k).double()
    total = ((Wo - Wo.mean()) ** 2).sum() if centred else (Wo ** 2).sum()
    return float(1 - ((Wo - means[lag]) ** 2).sum() / total)


def _num_close(got, value: float) -> bool:
    return isinstance(got, (int, float)) and not isinstance(got, bool) and abs(float(got) - value) <= 1e-4 * max(1, abs(value))


def _ordered(inp: dict, rows_only: bool = False) -> torch.Tensor:
    idx = torch.argsort(inp["orientations"] % 360)
    return inp["W"][idx] if rows_only else inp["W"][idx][:, idx]


CIRCULANT_HINTS = [
    Hint(lambda got, exp, inp: _num_close(got, _circ(inp["W"])),
         "You scored the family in the order it came: sort rows and columns by orientation first "
         "(idx = argsort(orientations % 360); W[idx][:, idx]). A rotated circuit is circulant only in that order."),
    Hint(lambda got, exp, inp: _num_close(got, _circ(_ordered(inp, rows_only=True))),
         "Order the columns too: they are the same units as the rows (W[idx][:, idx])."),
    Hint(lambda got, exp, inp: _num_close(got, _circ(_ordered(inp), wrap=False)),
         "The diagonals wrap round: entry (i, j) belongs with lag (j - i) % n, so the last column continues the "
         "first diagonal. Without wrapping you fitted a Toeplitz matrix."),
    Hint(lambda got, exp, inp: _num_close(got, _circ(_ordered(inp), centred=False)),
         "Divide by the sum of squares about W's mean, |W - mean(W)|^2, not |W|^2."),
]


# ------------------------------------------------------------------------------------------ 4. ablated_recall


def _recall_variant(inp: dict, where: str = "", reduce=(0, 2, 3), precision: bool = False,
                    left_on: bool = False, labels=None) -> torch.Tensor:
    """ablated_recall with one slip: hooked before the ReLU (where="conv"), means per position (reduce=(0,)),
    precision for recall, or every hook left on (each set's pass also ablates the sets before it)."""
    model = materialise(inp["model"], solutions)
    module = getattr(model, inp["layer"])
    module = module.conv if where == "conv" else module
    labels = inp["labels"] if labels is None else labels
    with torch.no_grad():
        seen = {}
        h = module.register_forward_hook(lambda m, i, o: seen.__setitem__("a", o))
        try:
            model(inp["images"])
        finally:
            h.remove()
        rows, handles = [], []
        for units in inp["unit_sets"]:
            values = seen["a"][:, units].mean(dim=reduce, keepdim=True) if inp["mode"] == "mean" else None

            def replace(m, i, o, units=units, values=values):
                o = o.clone()
                o[:, units] = 0 if values is None else values.expand(o.shape[0], -1, *o.shape[2:])
                return o

            handles.append(module.register_forward_hook(replace))
            try:
                logits = model(inp["images"])
            finally:
                if not left_on:
                    handles.pop().remove()
            pred = logits.argmax(1)
            c = logits.shape[1]
            hits = torch.bincount(labels[pred == labels], minlength=c).float()
            total = torch.bincount((pred if precision else labels).flatten(), minlength=c).float()
            rows.append(hits / total.clamp_min(1))
        for h in handles:
            h.remove()
    return torch.stack(rows)


def _inputs_recall(g: torch.Generator, shipped: bool, mode: str) -> dict:
    """Three disjoint sets of units; the labels edited so that one shape class has no cell at all (its recall
    is 0, not 0/0) and another exactly one, which every set's ablated model predicts right (1/1, not 1/2)."""
    build = _scenenet() if shipped else _random_net(g)
    layers = ("conv3", "conv4", "conv5") if shipped else ("conv2", "conv3", "conv4")
    layer = layers[_int(g, 0, 2)]
    images, labels = _scenes(g, 32)
    width = _width(build, layer)
    order = torch.randperm(width, generator=g).tolist()
    size = max(2, width // 8)
    sets = [sorted(order[k * size:(k + 1) * size]) for k in range(3)]
    inp = {"model": build, "images": images, "labels": labels, "layer": layer, "unit_sets": sets, "mode": mode}
    preds = _predictions(inp)  # (sets, N, h, w) under each set's ablation
    empty, single = torch.randperm(4, generator=g)[:2].add(1).tolist()
    labels = labels.clone()
    labels[labels == empty] = 0
    right = (labels == single) & (preds == single).all(0)
    if not right.any():  # no cell of that class stays right under every ablation: take any it gets right once
        right = (labels == single) & (preds == single).any(0)
    keep = torch.nonzero(right.flatten()).flatten()
    flat = labels.flatten()
    others = (flat == single).nonzero().flatten()
    if len(keep):
        flat[others[others != keep[0]]] = 0
    inp["labels"] = flat.view_as(labels)
    return inp


def _predictions(inp: dict) -> torch.Tensor:
    """Per-cell predictions (sets, N, h, w) with each set ablated as the reference does."""
    model = materialise(inp["model"], solutions)
    module = getattr(model, inp["layer"])
    out = []
    with torch.no_grad():
        seen = {}
        h = module.register_forward_hook(lambda m, i, o: seen.__setitem__("a", o))
        model(inp["images"])
        h.remove()
        means = seen["a"].mean(dim=(0, 2, 3))
        for units in inp["unit_sets"]:
            values = means[units] if inp["mode"] == "mean" else torch.zeros(len(units))

            def replace(m, i, o, units=units, values=values):
                o = o.clone()
                o[:, units] = values.view(1, -1, 1, 1)
                return o

            h = module.register_forward_hook(replace)
            out.append(model(inp["images"]).argmax(1))
            h.remove()
    return torch.stack(out)


RECALL_HINTS = [
    Hint(lambda got, exp, inp: _close(got, _recall_variant(inp, left_on=True), 1e-6),
         "Each set's pass also ablated the sets before it: a hook was left on. Keep the handle "
         "register_forward_hook returns and call handle.remove() after the pass (in a finally)."),
    Hint(lambda got, exp, inp: inp["mode"] == "mean" and _close(got, _recall_variant(inp, where="conv"), 1e-6),
         "You ablated before the ReLU (a hook on model.<layer>.conv): the mean of pre-activations can be negative, "
         "and the ReLU after your hook changes the value you set. Hook model.<layer>, whose output is after the ReLU."),
    Hint(lambda got, exp, inp: inp["mode"] == "mean" and _close(got, _recall_variant(inp, reduce=(0,)), 1e-6),
         "One number per unit: average over the images *and* every position (dims 0, 2, 3), not a mean map."),
    Hint(lambda got, exp, inp: _close(got, _recall_variant(inp, precision=True), 1e-6),
         "That is precision (hits over cells *predicted* c); recall divides by the cells *labelled* c."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and bool(torch.isnan(got).any()),
         "NaN: one class has no labelled cell here, so its recall is 0 / 0; divide by total.clamp_min(1) (0 then)."),
]


# ------------------------------------------------------------------------------------------ 5. patch_each


def _inputs_patch(g: torch.Generator, shipped: bool) -> dict:
    build = _scenenet() if shipped else _random_net(g)
    layers = ("conv3", "conv4", "conv5") if shipped else ("conv2", "conv3", "conv4")
    layer = layers[_int(g, 0, 2)]
    images, _ = _scenes(g, 6)
    return {"model": build, "x": images[:3], "source": images[3:], "layer": layer,
            "units": _units(g, _width(build, layer), 3, 5)}


def _patch_set(model, x, source, layer, units) -> torch.Tensor:
    """The model on x with all of `units` patched from source at once."""
    module = getattr(model, layer)
    with torch.no_grad():
        seen = {}
        h = module.register_forward_hook(lambda m, i, o: seen.__setitem__("a", o))
        try:
            model(source)
        finally:
            h.remove()

        def replace(m, i, o):
            o = o.clone()
            o[:, units] = seen["a"][:, units]
            return o

        h = module.register_forward_hook(replace)
        try:
            return model(x)
        finally:
            h.remove()


def _patch_cumulative(got, exp, inp) -> bool:
    if not (isinstance(got, torch.Tensor) and got.shape == exp.shape) or _close(got, exp, 1e-5):
        return False
    model = materialise(inp["model"], solutions)
    units = inp["units"]
    # a hook left on: pass k still patches units 0 .. k - 1 as well
    rows = [_patch_set(model, inp["x"], inp["source"], inp["layer"], units[:k + 1]) for k in range(len(units))]
    return _close(got, torch.stack(rows), 1e-4)


PATCH_HINTS = [
    Hint(_patch_cumulative, "Each pass also patched the units before it: a hook was left on. Keep the handle "
                            "register_forward_hook returns and call handle.remove() after the pass (in a finally)."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape == exp.shape and _close(
        got, torch.stack([solutions.patch_each(materialise(inp["model"], solutions), inp["source"], inp["x"],
                                               inp["layer"], [u])[0] for u in inp["units"]]), 1e-4),
         "x and source are swapped: run the model on x, with the unit's activation taken from source."),
]


# ------------------------------------------------------------------------------------------ 6. drop_negative


def _inputs_drop(g: torch.Generator) -> dict:
    build = _random_net(g)
    layer = ("conv2", "conv3", "conv4", "conv5")[_int(g, 0, 3)]
    below = f"conv{int(layer[-1]) - 1}"
    return {"model": build, "layer": layer, "units": _units(g, _width(build, layer), 2, 4),
            "sources": _units(g, _width(build, below), 2, 4)}


def _state(out) -> dict | None:
    return out.state_dict if isinstance(out, ModuleOutput) else None


def _in_place(got, exp, inp) -> bool:
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        return False
    before = _state(got[0])
    return before is not None and any(not torch.equal(before[k], exp[0].state_dict[k]) for k in before
                                      if k in exp[0].state_dict)


def _drop_variant(inp: dict, fn) -> dict:
    model = materialise(inp["model"], solutions)
    w = getattr(model, inp["layer"]).conv.weight
    with torch.no_grad():
        for u in inp["units"]:
            w[u, inp["sources"]] = fn(w[u, inp["sources"]])
    return model.state_dict()


def _after_is(variant):
    def when(got, exp, inp) -> bool:
        if not (isinstance(got, (tuple, list)) and len(got) == 2 and _state(got[1]) is not None):
            return False
        want = _drop_variant(inp, variant)
        after = _state(got[1])
        return after.keys() == want.keys() and all(torch.allclose(after[k].double(), want[k].double()) for k in want)
    return when


DROP_HINTS = [
    Hint(_in_place, "The model you were given changed: you edited it in place. Edit a copy (copy.deepcopy(model)) "
                    "and return the original untouched beside it."),
    Hint(_after_is(lambda w: w.clamp(max=0)), "You removed the positive weights and kept the negative ones: "
                                               "clamp(min=0) keeps what is >= 0."),
    Hint(_after_is(lambda w: torch.zeros_like(w)), "Only the negative weights go: the positive ones stay."),
]


# ------------------------------------------------------------------------------------------ 7. expanded_weights


def _inputs_expanded(g: torch.Generator, pixels: bool) -> dict:
    kernels = tuple(_int(g, 2, 4) for _ in range(5))
    strides = tuple(_int(g, 1, 2) for _ in range(5))
    std = tuple(round(_uniform(g, 0.15, 0.4), 3) for _ in range(3))
    build = _random_net(g, kernels=kernels, strides=strides, std=std, widths=(2, 2, 3, 3, 3))
    names = ["conv1", "conv2", "conv3", "conv4", "conv5"]
    end = _int(g, 1, 4)
    start = -1 if pixels else _int(g, 0, end - 1)  # -1: the pixels
    return {"model": build, "start": None if start < 0 else names[start], "end": names[end],
            "units": _units(g, _width(build, names[end]), 2, 3)}


def _expanded_by(inp: dict, flip: bool = True, stride: bool = True, std: bool = True) -> torch.Tensor:
    model = materialise(inp["model"], solutions)
    names = model.layers
    first = 0 if inp["start"] is None else names.index(inp["start"]) + 1
    convs = [getattr(model, n).conv for n in names[first:names.index(inp["end"]) + 1]]
    kernel = convs[-1].weight.detach()[inp["units"]].double()
    for conv in reversed(convs[:-1]):
        w = conv.weight.detach().double()
        if flip:
            kernel = F.conv_transpose2d(kernel, w, stride=conv.stride if stride else 1)
        else:  # cross-correlation where a convolution belongs: every earlier kernel painted mirrored
            kernel = F.conv_transpose2d(kernel, w.flip(-1, -2), stride=conv.stride if stride else 1)
    if inp["start"] is None and std:
        kernel = kernel / model.std.view(1, -1, 1, 1).double()
    return kernel


EXPANDED_HINTS = [
    Hint(lambda got, exp, inp: _close(got, _expanded_by(inp, flip=False), 1e-4),
         "Every earlier kernel is mirrored: composing convolutions with F.conv2d is a cross-correlation; flip the "
         "earlier kernel (or use F.conv_transpose2d(later, earlier, stride=s), which places it unflipped)."),
    Hint(lambda got, exp, inp: inp["start"] is None and _close(got, _expanded_by(inp, std=False), 1e-4),
         "Back at the pixels, fold the model's normalisation in: divide by model.std per input channel."),
    Hint(lambda got, exp, inp: _close(got, _expanded_by(inp, stride=False), 1e-4),
         "The strides are missing: a later layer's neighbouring taps are `stride` pixels apart in the layer below."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.dim() == 4 and got.shape[:2] == exp.shape[:2]
         and got.shape[2:] != exp.shape[2:],
         "Wrong kernel size: two layers k1 (stride s1) and k2 compose into k1 + (k2 - 1) * s1 taps per axis."),
]


# ------------------------------------------------------------------------------------------ 8. arc_taps


def _arc_variant(inp: dict, signed: bool = False, mod: float = 180.0, span_factor: float = 1.0):
    """arc_taps with a slip: the angle round the circle taken signed (so one end reaches forever), the tangent
    taken mod `mod`, or the span scaled."""
    t = math.radians(inp["orientation"])
    ux, uy = math.cos(t), -math.sin(t)
    cx, cy = -inp["radius"] * ux, -inp["radius"] * uy
    size, half = inp["size"], inp["size"] // 2
    distance, tangent = torch.full((size, size), math.inf), torch.zeros(size, size)
    for i in range(size):
        for j in range(size):
            qx, qy = (j - half) * inp["spacing"] - cx, (i - half) * inp["spacing"] - cy
            cross = qx * uy - qy * ux
            angle = math.degrees(math.atan2(cross if signed else abs(cross), qx * ux + qy * uy))
            if angle <= inp["span"] * span_factor / 2:
                distance[i, j] = abs(math.hypot(qx, qy) - inp["radius"])
                tangent[i, j] = (math.degrees(math.atan2(-qy, qx)) + 90) % mod
    return distance, tangent


def _inputs_arc(g: torch.Generator) -> dict:
    """An arc whose ends fall between taps on both sides, close to taps inside and out, with tangents on both sides
    of 0 mod 180, so that an arc reaching `span` (or `span / 2`, or forever) on either side, a slightly wrong angle
    round the circle, or a tangent not taken mod 180 shows."""
    for _ in range(200):
        inp = {"orientation": float(_int(g, 0, 3) * 90 + _uniform(g, 10, 80)), "radius": _uniform(g, 6, 20),
               "spacing": _uniform(g, 4, 10), "span": _uniform(g, 70, 200), "size": (4, 5)[_int(g, 0, 1)]}
        ref = _arc_variant(inp)
        variants = [_arc_variant(inp, signed=True), _arc_variant(inp, mod=181.0), _arc_variant(inp, span_factor=2.0),
                    _arc_variant(inp, span_factor=0.5), _arc_variant(inp, span_factor=0.85),
                    _arc_variant(inp, span_factor=1.15)]  # taps close to the ends, inside and out
        if all(not _same_taps(v, ref) for v in variants):
            return inp
    return inp


def _arc_with(inp: dict, **changes):
    return solutions.arc_taps(**{**inp, **changes})


def _same_taps(got, want) -> bool:
    return (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got)
            and all(a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), atol=1e-3)) for a, b in zip(got, want)))


def _radial(got, exp, inp) -> bool:
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], torch.Tensor)):
        return False
    on = torch.isfinite(exp[0])
    return got[1].shape == exp[1].shape and bool(torch.allclose(got[1][on].double(), ((exp[1][on] + 90) % 180).double(), atol=1e-3))


ARC_HINTS = [
    Hint(lambda got, exp, inp: _same_taps(got, _arc_with(inp, orientation=-inp["orientation"])),
         "Mirrored: y points down the image, so the orientation's direction is (cos t, -sin t) in (x, y)."),
    Hint(_radial, "That is the radius's direction: the tangent is perpendicular to (tap - centre), 90 degrees round."),
    Hint(lambda got, exp, inp: _same_taps(got, _arc_with(inp, span=2 * inp["span"])) or _same_taps(
        got, _arc_with(inp, span=inp["span"] / 2)),
         "The arc reaches span / 2 degrees either side of its midpoint (span in all)."),
]


# ------------------------------------------------------------------------------------------ 9. curve_family_kernels


def shipped_circuit():
    """scenenet's curve circuit, measured once per process (course.vision.workbench.shipped): the family, conv3's
    line family, and the activations every what-if needs."""
    from course.vision.workbench import shipped

    return shipped()


def score_family(kernels: torch.Tensor, data=None) -> dict:
    """Calibrate built kernels (U, 64, 3, 3), then their tuning correlations (U,) and the recall with them in place."""
    from course.vision.workbench import score_kernels

    return score_kernels(data or shipped_circuit(), kernels)


@functools.lru_cache(maxsize=1)
def _reference_correlations() -> torch.Tensor:
    data = shipped_circuit()
    kernels = solutions.curve_family_kernels(data.lines, data.line_orientations, data.orientations, 64)
    return score_family(kernels, data)["correlation"]


def _inputs_handbuilt(g: torch.Generator) -> dict:
    """The family's orientations in a shuffled order, the first one the unit this run scores (one where the
    lesson's rule reaches ELIGIBLE)."""
    data = shipped_circuit()
    eligible = torch.nonzero(_reference_correlations() >= ELIGIBLE).flatten().tolist()
    pick = eligible[_int(g, 0, len(eligible) - 1)]
    rest = [k for k in torch.randperm(len(data.units), generator=g).tolist() if k != pick]
    return {"line_units": list(data.lines), "line_orientations": data.line_orientations.clone(),
            "orientations": data.orientations[[pick] + rest].clone(), "channels": 64}


def _family_order(orientations: torch.Tensor, data: dict) -> list[int]:
    """For each given orientation, the index of the family member it belongs to."""
    return [int((data.orientations - o).abs().argmin()) for o in orientations.tolist()]


def _judge_handbuilt(got, inputs, expected) -> Verdict:
    data = shipped_circuit()
    u = len(data.units)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (u, 64, 3, 3):
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return Verdict(False, f"expected kernels of shape ({u}, 64, 3, 3), one per orientation; got {shape}")
    if not torch.isfinite(got).all():
        return Verdict(False, "your kernels have NaN or inf values")
    if float(got.abs().max()) == 0:
        return Verdict(False, "your kernels are all zero")
    members = _family_order(inputs["orientations"], data)
    kernels = torch.zeros_like(got)
    kernels[members] = got  # back into the family's order
    s = score_family(kernels, data)
    k = members[0]
    unit, theta = data.units[k], float(data.orientations[k])
    corr, rec = float(s["correlation"][k]), float(s["recovered"][1])
    tuned, restores = corr >= TUNING_THRESHOLD, rec >= RECOVERED_THRESHOLD
    msg = (f"conv4:{unit} ({theta:.0f} deg, orientations[0]): your unit's tuning correlates {corr:.2f} with the "
           f"learned unit's (needs >= {TUNING_THRESHOLD}); put in place of the whole family, your units win back "
           f"{rec:.0%} of the disc recall the ablation lost (needs >= {RECOVERED_THRESHOLD:.0%}; disc recall "
           f"{float(s['recall'][1]):.3f}, clean {float(data.clean[1]):.3f}, ablated {float(data.ablated[1]):.3f})")
    if not tuned:
        msg += (". Is the peak in the right place? Check the tangent, that y points down, and that kernel k is for "
                "orientations[k].")
    if not restores:
        msg += ". A family that fires on straight lines and corners too costs the other shapes: let mismatched lines inhibit."
    return Verdict(tuned and restores, msg, score=0.5 * tuned + 0.5 * restores)


CHECKS = [
    Check("strongest_inputs", points=0.5, inputs=lambda g: _inputs_strongest(g, False), tol=Tol(1e-6, 1e-7),
          title="1a. strongest_inputs (a random net)", hints=STRONGEST_HINTS),
    Check("strongest_inputs", points=0.5, inputs=lambda g: _inputs_strongest(g, True), tol=Tol(1e-6, 1e-7),
          title="1b. strongest_inputs (scenenet)", hints=STRONGEST_HINTS),
    Check("echo_ratio", points=1, inputs=_inputs_echo, tol=Tol(1e-5, 1e-6), title="2. echo_ratio", hints=ECHO_HINTS),
    Check("circulant_score", points=2, inputs=_inputs_circulant, tol=Tol(1e-5, 1e-6), title="3. circulant_score",
          hints=CIRCULANT_HINTS),
    Check("ablated_recall", points=1, inputs=lambda g: _inputs_recall(g, True, "zero"), tol=Tol(1e-6, 1e-6),
          title="4a. ablated_recall, zeroed (scenenet)", hints=RECALL_HINTS),
    Check("ablated_recall", points=1, inputs=lambda g: _inputs_recall(g, True, "mean"), tol=Tol(1e-6, 1e-6),
          title="4b. ablated_recall, mean (scenenet)", hints=RECALL_HINTS),
    Check("ablated_recall", points=1, inputs=lambda g: _inputs_recall(g, False, "mean"), tol=Tol(1e-6, 1e-6),
          title="4c. ablated_recall, mean (a random net)", hints=RECALL_HINTS),
    Check("patch_each", points=1, inputs=lambda g: _inputs_patch(g, True), tol=Tol(1e-5, 1e-5),
          title="5a. patch_each (scenenet)", hints=PATCH_HINTS),
    Check("patch_each", points=1, inputs=lambda g: _inputs_patch(g, False), tol=Tol(1e-5, 1e-5),
          title="5b. patch_each (a random net)", hints=PATCH_HINTS),
    Check("drop_negative", points=3, inputs=_inputs_drop, tol=Tol(0.0, 0.0), title="6. drop_negative", hints=DROP_HINTS),
    Check("expanded_weights", points=1.5, inputs=lambda g: _inputs_expanded(g, False), tol=Tol(1e-4, 1e-5),
          title="7a. expanded_weights (back to a layer)", hints=EXPANDED_HINTS),
    Check("expanded_weights", points=1.5, inputs=lambda g: _inputs_expanded(g, True), tol=Tol(1e-4, 1e-5),
          title="7b. expanded_weights (back to the pixels)", hints=EXPANDED_HINTS),
    Check("arc_taps", points=1, inputs=_inputs_arc, tol=Tol(1e-4, 1e-4), title="8a. arc_taps", hints=ARC_HINTS),
    Check("arc_taps", points=1, inputs=_inputs_arc, tol=Tol(1e-4, 1e-4), title="8b. arc_taps (another arc)",
          hints=ARC_HINTS),
    Check("curve_family_kernels", points=4, inputs=_inputs_handbuilt, judge=_judge_handbuilt, timeout=120,
          title="9. curve_family_kernels (tuning and recall on scenenet)"),
]
