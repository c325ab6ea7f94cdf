"""Graded checks for lesson 03 (see course.grading.spec). Inputs are drawn fresh from each run's seed: image sizes
are never square (a swapped x and y shows), angles are never multiples of 90 degrees, models are random small
SceneNets built here, and conv stacks for the expanded weights are random, so the comparison is exact."""

import math

import torch
import torch.nn.functional as F

from course.grading import Build, Check, Hint, Tol, Verdict
from course.grading.codec import materialise

solutions: object  # the reference module, set by the grader


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _angle(g: torch.Generator) -> float:
    """An angle in [0, 360) at least 10 degrees from every multiple of 90 (so mirror images differ)."""
    return float(int(_uniform(g, 0, 4)) * 90 + _uniform(g, 10, 80))


def _close(a, b, tol=1e-4) -> bool:
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
            and bool(torch.allclose(a.double(), b.double(), atol=tol, rtol=tol)))


# ------------------------------------------------------------------------------------------ 1. grating


def _grating_inputs(g: torch.Generator) -> dict:
    h = int(torch.randint(20, 33, (), generator=g))
    return {"size": (h, h + int(torch.randint(6, 17, (), generator=g))), "frequency": _uniform(g, 0.04, 0.3),
            "orientation": _angle(g), "phase": _uniform(g, 20, 160)}


def _grating_with(inputs: dict, **changes) -> torch.Tensor:
    return solutions.grating(**{**inputs, **changes})


GRATING_HINTS = [
    Hint(lambda got, exp, inp: _close(got, _grating_with(inp, orientation=-inp["orientation"])),
         "Your stripes are mirrored: y points down the image, so the direction (cos t, sin t) on paper is "
         "x cos t - y sin t here."),
    Hint(lambda got, exp, inp: _close(got, _grating_with(inp, orientation=270 - inp["orientation"]))
         or _close(got, _grating_with(inp, orientation=90 - inp["orientation"])),
         "x and y are swapped: x runs along a row (the W axis, columns), y down a column (the H axis)."),
    Hint(lambda got, exp, inp: _close(got, _grating_with(inp, phase=math.degrees(inp["phase"]))),
         "The phase is in degrees: convert it with math.radians before adding it to the angle."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape == exp.shape
         and not _close(got, exp, 1e-3) and _close(got.roll((1, 1), (0, 1))[1:, 1:], exp[1:, 1:], 1e-2),
         "Off by half a pixel: a pixel's centre is at index + 0.5, measured from the image centre (H / 2, W / 2)."),
]


# ------------------------------------------------------------------------------------------ 2-3. tuning


def _responses(g: torch.Generator) -> dict:
    r = torch.rand(5, 7, 6, 4, generator=g) ** 2 * torch.rand(5, 1, 1, 1, generator=g) * 3
    return {"responses": r}


def _curve_inputs(g: torch.Generator) -> dict:
    f = torch.logspace(math.log10(0.02), math.log10(0.5), 9) * _uniform(g, 0.9, 1.1)
    logs = f.log()
    centre = logs[1] + (logs[-2] - logs[1]) * torch.rand(6, generator=g)
    width = 0.4 + torch.rand(6, generator=g)
    curve = torch.exp(-((logs[None] - centre[:, None]) ** 2) / (2 * width[:, None] ** 2)) * 2
    curve = curve + 0.6 * torch.rand(6, 9, generator=g) * curve.amax(1, keepdim=True)  # bumpy, with a floor
    curve = curve * torch.tensor([0.05, 0.3, 0.8, 1.0, 2.0, 5.0])[torch.randperm(6, generator=g)][:, None]  # small peaks too
    curve[int(torch.randint(0, 6, (), generator=g))] = 0  # a unit that never responds
    return {"curve": curve, "frequencies": f}


def _arithmetic_centroid(inp: dict) -> torch.Tensor:
    c, f = inp["curve"], inp["frequencies"]
    w = (c - c.amax(1, keepdim=True) / 2).clamp(min=0)
    return (w * f).sum(1) / w.sum(1)


def _no_floor(inp: dict) -> torch.Tensor:
    c, f = inp["curve"], inp["frequencies"]
    return ((c * f.log()).sum(1) / c.sum(1)).exp()


def _nanless_close(a, b) -> bool:
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape):
        return False
    ok = ~torch.isnan(b)
    return bool(torch.allclose(a[ok].double(), b[ok].double(), rtol=1e-4, atol=1e-6))


# ------------------------------------------------------------------------------------------ 4. boundary


def _boundary_inputs(g: torch.Generator) -> dict:
    h = int(torch.randint(18, 29, (), generator=g))
    w = h + int(torch.randint(5, 15, (), generator=g))
    return {"fine": torch.rand(h, w, generator=g) * 2 - 1, "coarse": torch.rand(h, w, generator=g) * 2 - 1,
            "orientation": _angle(g), "position": _uniform(g, -4, 4)}


BOUNDARY_HINTS = [
    Hint(lambda got, exp, inp: _close(got, solutions.boundary(inp["coarse"], inp["fine"], inp["orientation"],
                                                              inp["position"]))
         or _close(got, solutions.boundary(inp["fine"], inp["coarse"], inp["orientation"] + 180, inp["position"])),
         "The fine texture is on the wrong side: `orientation` points *into* the fine side (side = 1 there)."),
    Hint(lambda got, exp, inp: _close(got, solutions.boundary(inp["fine"], inp["coarse"], -inp["orientation"],
                                                              inp["position"])),
         "The boundary is mirrored: y points down, so the direction is (cos t, -sin t) in (x, y)."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape == exp.shape
         and bool(((got == inp["fine"]) | (got == inp["coarse"])).all()),
         "Every pixel is either fine or coarse: the boundary needs its one-pixel ramp, clamp(distance + 0.5, 0, 1)."),
]


# ------------------------------------------------------------------------------------------ 5-6. models


def _net(g: torch.Generator) -> tuple[Build, torch.nn.Module]:
    """A random three-layer SceneNet (conv1 4x4/2, conv2 4x4/2, conv3 3x3/2), as a Build and built here."""
    from course.vision.models import NetConfig, SceneNet

    channels = tuple(int(c) for c in torch.randint(4, 9, (3,), generator=g))
    cfg = dict(channels=channels, kernels=(4, 4, 4), strides=(2, 2, 2), classes=3)
    model = SceneNet(NetConfig(**cfg))
    state = {}
    for name, p in model.state_dict().items():
        if name.endswith("weight"):
            fan_in = p[0].numel()
            state[name] = torch.randn(p.shape, generator=g) * math.sqrt(2.0 / fan_in)
        elif name.endswith("bias"):
            state[name] = torch.rand(p.shape, generator=g) * 0.2
        else:
            state[name] = p.clone()
    model.load_state_dict(state)
    build = Build("course.vision.models:SceneNet", Build("course.vision.models:NetConfig", **cfg), state=state)
    return build, model.eval()


def _tuning_inputs(g: torch.Generator) -> dict:
    from course.vision.probe import activations, centre_of

    build, model = _net(g)
    layer = ("conv2", "conv3")[int(torch.randint(0, 2, (), generator=g))]
    centre = centre_of(model, layer, (48, 48))  # at 48 px the middle unit of conv2 and conv3 is off the image centre
    orientations = torch.arange(0.0, 360.0, 30.0) + _uniform(g, 1, 20)
    seeds = torch.randint(1, 1000, (3,), generator=g).float()
    probe = solutions.stimuli.high_low(orientations, seed=seeds[0], size=48, centre=centre)
    act = activations(model, probe, [layer])[layer]
    h, w = act.shape[-2:]
    unit = int(act[:, :, h // 2, w // 2].std(0).argmax())  # a unit that the boundaries move
    return {"model": build, "layer": layer, "unit": unit, "orientations": orientations, "seeds": seeds,
            "centre": centre, "size": 48, "high": _uniform(g, 0.2, 0.3), "low": _uniform(g, 0.03, 0.06)}


def _tuning_with(inp: dict, **changes) -> torch.Tensor:
    model = materialise(inp["model"], solutions)
    return solutions.boundary_tuning(**{**inp, "model": model, **changes})


def _read_elsewhere(got, exp, inp) -> bool:
    """The responses of the right unit, read at some other position of the map than the middle."""
    if not (isinstance(got, torch.Tensor) and got.shape == exp.shape) or _close(got, exp):
        return False
    model = materialise(inp["model"], solutions)
    a, s = len(inp["orientations"]), len(inp["seeds"])
    images = solutions.stimuli.high_low(inp["orientations"].repeat_interleave(s), high=inp["high"], low=inp["low"],
                                        seed=inp["seeds"].repeat(a), size=inp["size"], centre=inp["centre"])
    act = solutions.activations(model, images, [inp["layer"]])[inp["layer"]][:, inp["unit"]]  # (a * s, h, w)
    every = act.reshape(a, s, -1).mean(1)  # (a, h * w)
    return any(_close(got, every[:, i]) for i in range(every.shape[1]))


TUNING_HINTS = [
    Hint(_read_elsewhere, "Right unit, wrong place: read it at the middle of the feature map, (h // 2, w // 2), "
                          "where the stimuli are centred."),
    Hint(lambda got, exp, inp: _close(got, _tuning_with(inp, centre=None)),
         "Centre the stimuli on `centre` (pass centre=centre to stimuli.high_low): the unit looks there."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape == exp.shape and not _close(got, exp)
         and _close(got.sort().values, exp.sort().values, 1e-3),
         "The right responses in the wrong order: build the batch orientation-major (repeat_interleave the "
         "orientations, repeat the seeds) and reshape it back the same way."),
]


def _map_inputs(g: torch.Generator) -> dict:
    from course.vision.scenes import Scenes

    build, _ = _net(g)
    image = Scenes().batch([int(torch.randint(0, 10**6, (), generator=g))])[0][0]  # (3, 64, 64)
    top = int(torch.randint(0, 3, (), generator=g)) * 8
    layer = ("conv1", "conv2", "conv3")[int(torch.randint(0, 3, (), generator=g))]
    return {"model": build, "layer": layer, "unit": int(torch.randint(0, 4, (), generator=g)),
            "image": image[:, top:top + 40, :].contiguous()}  # (3, 40, 64)


def _interpolated(got, exp, inp) -> bool:
    if not (isinstance(got, torch.Tensor) and got.shape == exp.shape):
        return False
    model = materialise(inp["model"], solutions)
    act = solutions.activations(model, inp["image"][None], [inp["layer"]])[inp["layer"]][:, inp["unit"]: inp["unit"] + 1]
    return any(_close(got, F.interpolate(act, size=exp.shape, mode=mode)[0, 0], 1e-3)
               for mode in ("bilinear", "bicubic", "nearest-exact"))


# ------------------------------------------------------------------------------------------ 7. expanded weights


def _stack(g: torch.Generator) -> dict:
    n = int(torch.randint(3, 5, (), generator=g))  # 3 or 4 layers: weights[1] is not weights[-1]
    channels = [int(c) for c in torch.randint(2, 5, (n + 1,), generator=g)]
    weights, strides = [], []
    for i in range(n):
        kh, kw = (int(k) for k in torch.randint(1, 5, (2,), generator=g))
        if kh == kw:
            kw += 1  # rectangular kernels: a transposed kernel shows
        weights.append(torch.randn(channels[i + 1], channels[i], kh, kw, generator=g, dtype=torch.float64))
        strides.append(int(torch.randint(1, 4, (), generator=g)))
    strides[:2] = [2, 3] if torch.rand((), generator=g) < 0.5 else [3, 2]  # strides that matter, and differ
    return {"weights": weights, "strides": strides}


def _stack_with_strides(inp: dict, strides: list[int]) -> torch.Tensor:
    return solutions.expanded_weights(inp["weights"], strides)


EXPANDED_HINTS = [
    Hint(lambda got, exp, inp: _close(got, _stack_with_strides(inp, [1] * len(inp["strides"])), 1e-8),
         "The strides are missing: a later layer's neighbouring taps are `stride` input pixels apart, so each "
         "earlier kernel is placed stride pixels apart (conv_transpose2d(..., stride=s))."),
    Hint(lambda got, exp, inp: _close(got, _stack_with_strides(inp, list(inp["strides"][1:]) + [inp["strides"][0]]), 1e-8),
         "The strides are shifted by one layer: the kernel of layer i is spread by layer i's *own* stride (the "
         "spacing of its outputs, which layer i + 1 reads)."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.dim() == 4 and got.shape[:2] == exp.shape[:2]
         and got.shape[2:] != exp.shape[2:],
         "Wrong kernel size: two layers k1 (stride s1) and k2 compose into k1 + (k2 - 1) * s1 taps per axis."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.dim() == 4 and got.shape[:2] == exp.shape[:2][::-1],
         "The channel axes are swapped: the result is (out of the last layer, in of the first layer, KH, KW)."),
]


# ------------------------------------------------------------------------------------------ 8. NMF


def _low_rank(g: torch.Generator) -> dict:
    m, n, k = int(torch.randint(40, 61, (), generator=g)), int(torch.randint(20, 31, (), generator=g)), 3
    X = torch.rand(m, k, generator=g) @ torch.rand(k, n, generator=g) + 0.05 * torch.rand(m, n, generator=g)
    return {"X": X, "k": k, "iters": 300, "seed": int(torch.randint(0, 1000, (), generator=g))}


def _full_rank(g: torch.Generator) -> dict:
    X = torch.rand(int(torch.randint(30, 41, (), generator=g)), int(torch.randint(20, 29, (), generator=g)), generator=g)
    return {"X": X, "k": 2, "iters": 300, "seed": int(torch.randint(0, 1000, (), generator=g))}


def _judge_nmf(got, inputs, expected) -> Verdict:
    X, k = inputs["X"], inputs["k"]
    m, n = X.shape
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got)):
        return Verdict(False, "nmf must return a pair of tensors (W, H)")
    W, H = got
    if tuple(W.shape) != (m, k) or tuple(H.shape) != (k, n):
        return Verdict(False, f"expected W of shape {(m, k)} and H of shape {(k, n)}, got {tuple(W.shape)} and "
                              f"{tuple(H.shape)}")
    if not (torch.isfinite(W).all() and torch.isfinite(H).all()):
        return Verdict(False, "W or H has NaN or inf values: is there a division by zero (add a small eps)?")
    if (W < 0).any() or (H < 0).any():
        return Verdict(False, "W and H must be non-negative: multiplicative updates multiply by non-negative "
                              "ratios and never subtract")
    err = float((X - W.double().float() @ H.float()).norm() / X.norm())
    ref = float((X - expected[0] @ expected[1]).norm() / X.norm())
    bound = 1.02 * ref + 0.01
    detail = f"relative error ||X - WH|| / ||X|| = {err:.4f}; the reference reaches {ref:.4f} in {inputs['iters']} updates"
    if err > bound:
        return Verdict(False, f"{detail} (needs <= {bound:.4f}). Do both W and H get updated every iteration, "
                              "each with the other's latest value?")
    return Verdict(True, detail)


def _nmf_negative(got, exp, inp) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2 and any(
        isinstance(t, torch.Tensor) and bool((t < 0).any()) for t in got)


# ------------------------------------------------------------------------------------------ 9. classify


KINDS = (["high-low"] * 4 + ["high-low small"] * 2 + ["flipped"] * 3 + ["fine-too"] * 3 + ["texture"] * 4
         + ["texture small"] + ["blank-too"] * 2 + ["equal-textures"] * 2 + ["dead"] * 2 + ["weak"] * 2
         + ["seed-luck"] * 2 + ["exactly 2x", "exactly the floor", "texture exactly 2x other",
                                "texture exactly 2x blank", "texture exactly the floor"])


def _units(g: torch.Generator, floor: float = 0.25) -> dict:
    """Units of every kind, near misses of each rule, and units exactly on a threshold (powers of two, so the
    means are exact: `>=` and `>` differ there), shuffled."""
    A, S = 12, 4
    rows = []

    def noise(*shape):
        return torch.rand(*shape, generator=g) * 0.05

    for kind in KINDS:
        peak_at = int(torch.randint(0, A, (), generator=g))
        tuning = torch.exp(-((torch.arange(A) - peak_at + A // 2) % A - A // 2).float() ** 2 / 4.0)  # (A,)
        b = tuning[:, None] * (1 + noise(A, S)) + noise(A, S)
        fine, coarse, blank = noise(S), noise(S), float(torch.rand((), generator=g) * 0.05)
        if kind == "high-low small":  # above the floor, below 1
            b = b * 0.5
        elif kind == "flipped":  # the boundary turned 180 answers almost as much
            b = b + 0.7 * tuning.roll(A // 2)[:, None]
        elif kind == "fine-too":  # uniform fine texture answers more than half as much as the boundary
            fine = fine + 0.6
        elif kind.startswith("texture"):
            b = b * 0.1
            (fine if torch.rand((), generator=g) < 0.5 else coarse).add_(
                0.5 if kind == "texture small" else 1.0 + float(torch.rand((), generator=g)))
        elif kind == "blank-too":
            b, fine, blank = b * 0.1, fine + 1.0, 0.7
        elif kind == "equal-textures":
            b, fine, coarse = b * 0.1, fine + 1.0, coarse + 0.6
        elif kind == "dead":
            b, fine, coarse, blank = b * 0, fine * 0, coarse * 0, 0.0
        elif kind == "weak":  # a clear high-low shape, but below the floor
            b = b * 0.02
        elif kind == "seed-luck":  # one seed alone makes a peak; the seed average is flat
            b = torch.full((A, S), 0.3) + noise(A, S)
            b[peak_at, 0] = 3.0
            b[(peak_at + A // 2) % A, 1:] = 1.0
        if kind.startswith("exactly") or kind.startswith("texture exactly"):
            b, fine, coarse, blank = torch.zeros(A, S), torch.zeros(S), torch.zeros(S), 0.0
            if kind == "exactly 2x":  # the peak is exactly twice uniform fine texture
                b[peak_at], fine = 1.0, torch.full((S,), 0.5)
            elif kind == "exactly the floor":
                b[peak_at] = floor
            elif kind == "texture exactly 2x other":
                b, fine, coarse = torch.full((A, S), 0.125), torch.full((S,), 1.0), torch.full((S,), 0.5)
            elif kind == "texture exactly 2x blank":
                b, coarse, blank = torch.full((A, S), 0.125), torch.full((S,), 1.0), 0.5
            else:
                fine = torch.full((S,), floor)
        rows.append((b, fine, coarse, blank))
    order = torch.randperm(len(rows), generator=g).tolist()
    rows = [rows[i] for i in order]
    return {"boundary": torch.stack([r[0] for r in rows]), "fine": torch.stack([r[1] for r in rows]),
            "coarse": torch.stack([r[2] for r in rows]), "blank": torch.tensor([r[3] for r in rows]),
            "floor": floor, "ratio": 2.0}


def _classify_without_flip(inp: dict) -> list[str]:
    b = inp["boundary"].mean(2)
    peak = b.amax(1)
    rival = torch.maximum(inp["fine"].mean(1), inp["coarse"].mean(1))
    return [("high-low" if (p > 0 and p >= inp["floor"] and p >= 2 * r) else k)
            for p, r, k in zip(peak.tolist(), rival.tolist(), solutions.classify_units(**inp))]


def _classify_max_over_seeds(inp: dict) -> list[str]:
    return solutions.classify_units(**{**inp, "boundary": inp["boundary"].amax(2, keepdim=True)})


CLASSIFY_HINTS = [
    Hint(lambda got, exp, inp: got == _classify_without_flip(inp),
         "A high-low unit must also beat the same boundary turned 180 degrees (fine side and coarse side "
         "swapped): otherwise an edge that ignores which side is fine passes."),
    Hint(lambda got, exp, inp: got == _classify_max_over_seeds(inp),
         "Average the boundary responses over the seeds before looking for the peak: one lucky texture seed "
         "must not make a unit high-low."),
    Hint(lambda got, exp, inp: isinstance(got, list) and len(got) == len(exp)
         and any(a == "texture" and b == "neither" for a, b in zip(got, exp)),
         "Some of your texture units answer both frequencies alike, or a blank image as much: a texture unit "
         "beats the other frequency *and* the blank image by `ratio`."),
]


CHECKS = [
    Check("grating", points=1, inputs=_grating_inputs, tol=Tol(1e-4, 1e-5), title="1. grating", hints=GRATING_HINTS),
    Check("frequency_tuning", points=1, inputs=_responses, tol=Tol(1e-5, 1e-6), title="2. frequency_tuning",
          hints=[Hint(lambda got, exp, inp: _close(got, inp["responses"].amax(2).mean(2), 1e-5),
                      "Average over phase first, then take the best orientation: the max over orientations of "
                      "each single phase rewards stripes that happen to line up."),
                 Hint(lambda got, exp, inp: _close(got, inp["responses"].mean((2, 3)), 1e-5),
                      "That is the mean over orientations too: keep the best orientation (a tuned unit answers "
                      "only some), averaging only over phase.")]),
    Check("preferred_frequency", points=2, inputs=_curve_inputs, tol=Tol(1e-4, 1e-6), title="3. preferred_frequency",
          hints=[Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and not torch.isnan(got).any(),
                      "A unit whose curve is all zero has no preferred frequency: return NaN for it."),
                 Hint(lambda got, exp, inp: _nanless_close(got, _arithmetic_centroid(inp)),
                      "That is the arithmetic mean of the frequencies: average their logarithms (octaves), then exp."),
                 Hint(lambda got, exp, inp: _nanless_close(got, _no_floor(inp)),
                      "Subtract half the peak (and clip at 0) before weighting, so the floor of the curve doesn't "
                      "pull every unit towards the middle.")]),
    Check("boundary", points=2, inputs=_boundary_inputs, tol=Tol(1e-4, 1e-5), title="4. boundary",
          hints=BOUNDARY_HINTS),
    Check("boundary_tuning", points=2, inputs=_tuning_inputs, tol=Tol(1e-4, 1e-5), title="5. boundary_tuning",
          hints=TUNING_HINTS),
    Check("response_map", points=2, inputs=_map_inputs, tol=Tol(1e-4, 1e-5), title="6. response_map",
          hints=[Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.dim() == 2
                      and got.shape != exp.shape and got.numel() < exp.numel(),
                      "Return the map at the image's size (H, W): repeat each value over its cell."),
                 Hint(_interpolated, "Repeat each value over its whole cell (repeat_interleave): interpolating "
                                     "smears responses across cells the unit never looked at.")]),
    Check("expanded_weights", points=3, inputs=_stack, tol=Tol(1e-9, 1e-9), title="7. expanded_weights",
          hints=EXPANDED_HINTS),
    Check("nmf", points=2, inputs=_low_rank, judge=_judge_nmf, title="8a. nmf: a nearly low-rank matrix",
          hints=[Hint(_nmf_negative, "Negative entries: gradient steps can go below zero, multiplicative updates can't.")]),
    Check("nmf", points=1, inputs=_full_rank, judge=_judge_nmf, title="8b. nmf: a full-rank matrix",
          hints=[Hint(_nmf_negative, "Negative entries: gradient steps can go below zero, multiplicative updates can't.")]),
    Check("classify_units", points=2, inputs=_units, title="9a. classify_units", hints=CLASSIFY_HINTS),
    Check("classify_units", points=1, inputs=lambda g: _units(g, floor=0.0), title="9b. classify_units, no floor",
          hints=CLASSIFY_HINTS + [Hint(lambda got, exp, inp: isinstance(got, list) and len(got) == len(exp)
                                       and any(a != "neither" and b == "neither" for a, b in zip(got, exp)),
                                       "A unit that never responds (all zeros) is \"neither\": with no floor, "
                                       "0 >= 2 * 0 holds, so also ask for a peak above 0.")]),
]
