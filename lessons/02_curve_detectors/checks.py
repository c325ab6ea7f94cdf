"""Graded checks for lesson 02 (see course.grading.spec). Inputs are drawn fresh from each run's seed.

Every check works on the shipped `scenenet`: tuning curves, census responses and activation maps of units the
check picks afresh each run (a mix of curve detectors and other units of conv3-conv5), reshuffled, rolled
round the circle and subsampled to a random orientation step, so a hard-coded unit list or a hard-coded step
scores zero. The slips each hint names are the ones the mutants in mutants/ make.
"""

import functools
import math

import torch

from course.grading import Build, Check, Hint, Tol, Verdict

solutions: object  # the reference module, set by the grader

MODEL = Build("course.zoo:load", "scenenet", device="cpu")
LAYERS = ("conv3", "conv4", "conv5")


# ------------------------------------------------------------------------------------------ the shipped model


@functools.lru_cache(maxsize=None)
def _model():
    from course import zoo

    return zoo.load("scenenet", device="cpu")


@functools.lru_cache(maxsize=None)
def _sweep(layer: str) -> torch.Tensor:
    """(C, 2, R, 72): every unit's responses to arcs every 5 degrees at its receptive-field centre."""
    from course.vision.curves import Sweep, curve_sweep

    return curve_sweep(_model(), layer, (64, 64), Sweep(step=5.0))


@functools.lru_cache(maxsize=None)
def _census(layer: str) -> tuple[dict, float]:
    from course.vision.curves import census_responses

    return census_responses(_model(), layer)


@functools.lru_cache(maxsize=None)
def _family(layer: str) -> tuple[int, ...]:
    from course.vision.curves import find_family
    from course.vision.probe import Probes

    r, floor = _census(layer)
    return tuple(find_family(r["curve"], r["line"], Probes().radii, Probes().step, floor))


def _pick(g: torch.Generator, n: int) -> int:
    return int(torch.randint(n, (), generator=g))


def _tuning_rows(g: torch.Generator, n: int, step: float) -> torch.Tensor:
    """n tuning curves (n, 360 / step) of fresh units, half of them curve detectors, rolled to random
    positions (some peaks on the wrap-round), each with one clear, positive peak."""
    rows = []
    while len(rows) < n:
        layer = LAYERS[_pick(g, 3)] if len(rows) % 2 else "conv4"
        sweep = _sweep(layer)
        family = _family(layer)
        unit = family[_pick(g, len(family))] if len(rows) % 2 == 0 and family else _pick(g, len(sweep))
        row = sweep[unit, _pick(g, 2), _pick(g, sweep.shape[2])][:: int(step // 5)]
        top = row.topk(2).values
        if top[0] <= 1e-3 or top[0] - top[1] < 1e-4 * top[0]:
            continue
        shift = _pick(g, len(row)) if len(rows) % 3 else -int(row.argmax()) - _pick(g, 2)  # peak at 0 or A - 1
        rows.append(row.roll(shift))
    return torch.stack(rows)[torch.randperm(n, generator=g)]


def _step(g: torch.Generator) -> float:
    return [5.0, 10.0, 15.0, 20.0][_pick(g, 4)]


def _close(a, b, atol: float = 1e-4) -> bool:
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=1e-4, equal_nan=True))


def _angles_judge(got, inputs, expected) -> Verdict:
    """Angles equal round the circle (359.9999 and 0 are the same answer), each in [0, 360)."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return Verdict(False, f"expected a tensor of shape {tuple(expected.shape)}, got {shape}")
    g, e = got.double(), expected.double()
    if torch.isnan(g).any():
        return Verdict(False, "your angles contain NaN")
    if (g < 0).any() or (g > 360).any():  # 360.0 itself passes: float32 rounds -1e-6 % 360 up to it
        return Verdict(False, "angles should be in [0, 360): take the result % 360")
    diff = ((g - e + 180) % 360 - 180).abs()
    if diff.max() > 1e-3:
        i = int(diff.argmax())
        return Verdict(False, f"{int((diff > 1e-3).sum())} of {e.numel()} angles differ; e.g. number {i}: expected "
                              f"{e.flatten()[i]:.3f}, got {g.flatten()[i]:.3f}")
    return Verdict(True, "the same directions")


# ------------------------------------------------------------------------------------------ 1. arc_batch


def _arc_inputs(g: torch.Generator, light: bool = False) -> dict:
    h, w = [48, 56, 64, 72][_pick(g, 4)], [40, 52, 60, 68][_pick(g, 4)]
    return {"orientations": torch.rand(5 + _pick(g, 4), generator=g) * 360,
            "radii": torch.rand(2 + _pick(g, 2), generator=g) * 10 + 5,
            "light": light, "size": (h, w),
            "centre": (float(torch.rand((), generator=g)) * w * 0.5 + w * 0.25,
                       float(torch.rand((), generator=g)) * h * 0.5 + h * 0.25),
            "width": float(torch.rand((), generator=g)) * 2 + 1}


def _flipped_polarity(got, expected, inputs) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and _close(got, 1 - expected, 1e-4)


def _orientation_major(got, expected, inputs) -> bool:
    a, r = len(inputs["orientations"]), len(inputs["radii"])
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    swapped = expected.reshape(r, a, *expected.shape[1:]).transpose(0, 1).reshape(expected.shape)
    return _close(got, swapped, 1e-4)


# ------------------------------------------------------------------------------------------ 2. circular_mean


def _circular_inputs(g: torch.Generator) -> dict:
    n, m = 12, 3 + _pick(g, 5)
    centre = torch.rand(n, 1, generator=g) * 360
    centre[: n // 2] = torch.rand(n // 2, 1, generator=g) * 20 - 10  # clusters straddling 0
    angles = (centre + (torch.rand(n, m, generator=g) - 0.5) * 80) % 360
    # (3, 4, m): the mean is over the last dim, whatever the leading ones
    return {"angles": angles.view(3, 4, m), "weights": (torch.rand(n, m, generator=g) + 0.05).view(3, 4, m)}


def _arithmetic_mean(got, expected, inputs) -> bool:
    a, w = inputs["angles"], inputs["weights"]
    return isinstance(got, torch.Tensor) and _close(got, (a * w).sum(-1) / w.sum(-1), 1e-2)


def _sin_of_degrees(got, expected, inputs) -> bool:
    a, w = inputs["angles"], inputs["weights"]
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    in_degrees = torch.rad2deg(torch.atan2((w * torch.sin(a)).sum(-1), (w * torch.cos(a)).sum(-1))) % 360
    return _close(got, in_degrees, 1e-2) or _close(got, torch.deg2rad(expected), 1e-3)


# ------------------------------------------------------------------------------------------ 3. widest_gap


def _gap_inputs(g: torch.Generator) -> dict:
    ors = []
    for layer in LAYERS:
        sweep = _sweep(layer)
        for u in _family(layer):
            p, rest = divmod(int(sweep[u].argmax()), sweep.shape[2] * sweep.shape[3])
            ors.append(float(sweep[u, p, rest // sweep.shape[3]].argmax()) * 5.0)
    for _ in range(100):  # a subset where two neighbouring gaps together beat the widest (so each gap counts)
        pick = torch.randperm(len(ors), generator=g)[: 6 + _pick(g, 6)]
        chosen = sorted(ors[i] + float(torch.rand((), generator=g)) * 4 for i in pick.tolist())
        gaps = [(b - a, (a + b) / 2) for a, b in zip(chosen, chosen[1:])] + [(chosen[0] + 360 - chosen[-1],
                                                                               (chosen[-1] + chosen[0] + 360) / 2)]
        widest = max(gaps)
        i = gaps.index(widest)
        inner = [gaps[(i + j) % len(gaps)][0] for j in range(1, len(gaps))]  # the others, in order round
        if max(a + b for a, b in zip(inner, inner[1:])) > widest[0]:
            break
    _, mid = widest
    turned = [(o - mid) % 360 for o in chosen]  # the widest gap now wraps round 0
    # any real numbers, taken mod 360: each moved by a whole number of turns (the two ends of the widest gap by
    # different numbers, so reducing them mod anything but 360 moves the gap)
    turns = [(_pick(g, 4) - 2) or 1 for _ in turned]
    lo, hi = min(range(len(turned)), key=turned.__getitem__), max(range(len(turned)), key=turned.__getitem__)
    turns[lo], turns[hi] = -1, 1
    order = torch.randperm(len(turned), generator=g).tolist()
    return {"orientations": [turned[i] + 360 * turns[i] for i in order]}


def _gap_variants(inputs) -> dict:
    ors = sorted(o % 360 for o in inputs["orientations"])
    unsorted = []
    for seq in (list(inputs["orientations"]), [o % 360 for o in inputs["orientations"]]):
        steps = [abs(b - a) for a, b in zip(seq, seq[1:])]
        unsorted += [max(steps), max(steps + [abs(seq[0] + 360 - seq[-1])])]
    return {"no_wrap": max(b - a for a, b in zip(ors, ors[1:])), "unsorted": unsorted}


# ------------------------------------------------------------------------------------------ 4-6. tuning curves


@functools.lru_cache(maxsize=None)
def _echo_pool() -> torch.Tensor:
    """Tuning curves (every 5 degrees) of units with an echo: above 0.1 of the peak within 30 degrees of the
    opposite orientation (conv4's curve detectors have none; many other units do)."""
    from course.vision.curves import echo_ratio

    rows = torch.cat([_sweep(layer).flatten(0, 2) for layer in LAYERS])
    keep = (rows.amax(1) > 1e-3) & (echo_ratio(rows, 5.0, 30.0) > 0.1)
    return rows[keep]


def _echo_inputs(g: torch.Generator) -> dict:
    """15 tuning curves of fresh units (6 with echoes), two given a spike at the window's edge and one beyond
    it, and a unit that never responds."""
    step, window = _step(g), [30.0, 45.0, 60.0][_pick(g, 3)]
    pool = _echo_pool()
    for _ in range(20):  # until the slips (one sample, 90 degrees) differ from the answer on several units
        echoes = []
        while len(echoes) < 6:
            row = pool[_pick(g, len(pool))][:: int(step // 5)]
            top = row.topk(2).values
            if top[0] - top[1] >= 1e-4 * top[0]:
                echoes.append(row.roll(_pick(g, len(row))))
        rows = torch.cat([_tuning_rows(g, 9, step), torch.stack(echoes)])[torch.randperm(15, generator=g)]
        inputs = {"tuning": rows, "step": step, "window": window}
        ref = _echo_variant(inputs, 0.5, True)
        if all(int(((_echo_variant(inputs, f, w) - ref).abs() > 1e-3).sum()) >= 2 for f, w in ((0.5, False),
                                                                                              (0.25, True))):
            break
    a, k = rows.shape[-1], int(window // step)
    for n, offset in enumerate((k, k + 1)):  # a spike exactly at the window's edge (counts), one beyond (doesn't)
        row = rows[n]
        i = int(row.argmax())
        row[(i + a // 2 + offset * (1 if _pick(g, 2) else -1)) % a] = 0.9 * row[i]
    rows[-1] = 0.0  # a unit that never responds: its echo is 0
    inputs["tuning"] = rows[torch.randperm(len(rows), generator=g)]
    return inputs


def _echo_variant(inputs, shift_frac: float, window: bool) -> torch.Tensor:
    t, a = inputs["tuning"], inputs["tuning"].shape[-1]
    i = t.argmax(-1, keepdim=True)
    k = int(inputs["window"] // inputs["step"]) if window else 0
    idx = (i + int(a * shift_frac) + torch.arange(-k, k + 1)) % a
    return t.gather(-1, idx).amax(-1) / t.gather(-1, i).squeeze(-1).clamp_min(1e-12)


def _tuning_inputs(g: torch.Generator) -> dict:
    """16 tuning curves of fresh units; four of them lifted by a constant (as a unit with a resting response
    would be: half maximum is still half the peak response, so the constant counts), one flattened until it
    never drops to half its peak, one sharpened (raised to a power) until its neighbours are at 0.3 of the peak,
    and one that never responds."""
    step = [5.0, 10.0][_pick(g, 2)]  # fine enough that a peak's neighbours respond (and differ)
    rows = _tuning_rows(g, 16, step)
    lift = torch.randperm(16, generator=g)[:7]
    peak = rows[lift].amax(1, keepdim=True)
    rows[lift[:4]] += (0.2 + 0.3 * torch.rand(4, 1, generator=g)) * peak[:4]
    rows[lift[4]] = 0.6 * peak[4] + 0.4 * rows[lift[4]]  # so broad it never drops to half: width 360
    row, top = rows[lift[5]], float(peak[5])
    neighbour = max(float(row[(int(row.argmax()) + d) % len(row)]) for d in (-1, 1)) / top
    power = max(1.0, math.log(0.3) / math.log(min(max(neighbour, 1e-3), 0.99)))
    rows[lift[5]] = top * (row / top).clamp_min(0) ** power  # sharpened: its neighbours at <= 0.3 of the peak
    rows[lift[6]] = 0.0  # a unit that never responds: preferred 0 (all weights equal), width 360
    return {"tuning": rows, "step": step}


def _argmax_only(got, expected, inputs) -> bool:
    return isinstance(got, torch.Tensor) and _close(got, inputs["tuning"].argmax(-1).float() * inputs["step"], 1e-3)


def _arithmetic_preferred(got, expected, inputs) -> bool:
    t, step, a = inputs["tuning"], inputs["step"], inputs["tuning"].shape[-1]
    i = t.argmax(-1, keepdim=True)
    idx = torch.cat([(i - 1) % a, i, (i + 1) % a], -1)
    vals = t.gather(-1, idx)
    w = (vals - vals.min(-1, keepdim=True).values).clamp_min(0) + 1e-12
    return isinstance(got, torch.Tensor) and _close(got, (idx.float() * step * w).sum(-1) / w.sum(-1), 1e-2)


def _width_variant(inputs, interpolate: bool, baseline: bool) -> torch.Tensor:
    t, step, a = inputs["tuning"], inputs["step"], inputs["tuning"].shape[-1]
    out = []
    for row in t:
        i = int(row.argmax())
        half = (float(row[i]) + (float(row.min()) if baseline else 0.0)) / 2
        width = 0.0
        for direction in (1, -1):
            prev = float(row[i])
            for j in range(1, a // 2 + 1):
                v = float(row[(i + direction * j) % a])
                if v < half:
                    width += step * ((j - 1 + (prev - half) / (prev - v)) if interpolate else j)
                    break
                prev = v
            else:
                width = 360.0
                break
        out.append(min(width, 360.0))
    return torch.tensor(out)


# ------------------------------------------------------------------------------------------ 7. selectivity


def _selectivity_inputs(g: torch.Generator) -> dict:
    layer = "conv4"
    r, _ = _census(layer)
    family = list(_family(layer))
    others = [u for u in torch.randperm(len(r["curve"]), generator=g).tolist() if u not in family]
    units = [family[i] for i in torch.randperm(len(family), generator=g)[:6].tolist()]
    units += [u for u in others if float(r["curve"][u].max()) > 1e-3][:6]
    units = [units[i] for i in torch.randperm(len(units), generator=g).tolist()]
    from course.vision.probe import Probes

    order = torch.randperm(3, generator=g)
    if Probes().line_lengths[int(order[0])] == 0:  # never the endless lines first: index 0 must not work by luck
        order = order.roll(1 + _pick(g, 2))

    lengths = [Probes().line_lengths[i] for i in order.tolist()]
    return {"curves": r["curve"][units], "lines": r["line"][units][:, :, order], "lengths": lengths}


def _columns_swapped(got, expected, inputs) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and _close(got, expected.flip(1), 1e-3)


def _fixed_index(got, expected, inputs) -> bool:
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    best = inputs["curves"].flatten(1).amax(1)
    lines = inputs["lines"]
    fixed = torch.stack([best / lines[:, :, 0].flatten(1).amax(1), best / lines[:, :, 1:].flatten(1).amax(1)], 1)
    return _close(got, fixed, 1e-3)


def _upside_down(got, expected, inputs) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and _close(got, 1 / expected, 1e-3)


# ------------------------------------------------------------------------------------------ 8. orientation_tuning


def _tuning_model_inputs(g: torch.Generator) -> dict:
    layer = LAYERS[_pick(g, 3)]
    n = _sweep(layer).shape[0]
    family = _family(layer)
    units = torch.randperm(n, generator=g)[: 3 + _pick(g, 3)].tolist()
    if family:
        units[_pick(g, len(units))] = family[_pick(g, len(family))]
    h, w = [48, 56, 64, 72, 80][_pick(g, 5)], [40, 56, 72, 88][_pick(g, 4)]
    return {"model": MODEL, "layer": layer, "units": units,
            "orientations": torch.rand(10 + _pick(g, 8), generator=g) * 360,
            "radius": float(torch.rand((), generator=g)) * 8 + 8, "light": bool(_pick(g, 2)), "size": (h, w)}


@functools.lru_cache(maxsize=16)
def _maps(layer: str, orientations: tuple, radius: float, light: bool, size: tuple) -> torch.Tensor:
    """(A, C, h, w): the whole map of `layer` for the check's arcs (for the hints)."""
    from course.vision.probe import activations, centre_of

    model = _model()
    centre = centre_of(model, layer, size)
    images = solutions.arc_batch(torch.tensor(orientations), torch.tensor([radius]), light=light, size=size,
                                 centre=centre)
    return activations(model, images, [layer])[layer]


def _maps_for(inputs, light=None) -> torch.Tensor:
    return _maps(inputs["layer"], tuple(inputs["orientations"].tolist()), inputs["radius"],
                 inputs["light"] if light is None else light, tuple(inputs["size"]))


def _wrong_position(got, expected, inputs) -> bool:
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    act = _maps_for(inputs)[:, inputs["units"]]  # (A, U, h, w)
    h, w = act.shape[-2:]
    tries = [act[..., 0, 0], act.mean((-2, -1)), act.amax((-2, -1)), act[..., h // 2 - 1, w // 2 - 1]]
    if w // 2 < h and h // 2 < w:
        tries.append(act[..., w // 2, h // 2])
    return any(_close(got, t.T, 1e-4) for t in tries)


def _wrong_light(got, expected, inputs) -> bool:
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    act = _maps_for(inputs, light=not inputs["light"])[:, inputs["units"]]
    h, w = act.shape[-2:]
    return _close(got, act[..., h // 2, w // 2].T, 1e-4)


# ------------------------------------------------------------------------------------------ 9-10. dataset examples


def _scene_maps(g: torch.Generator, n: int):
    """n fresh held-out scenes, cropped to a non-square size, and a conv4 unit's maps on them."""
    from course.vision.probe import activations
    from course.vision.scenes import Scenes

    start = 10_000_000 + _pick(g, 100_000)
    images, _ = Scenes().batch(range(start, start + n))
    images = images[:, :, :, 8:56] if _pick(g, 2) else images[:, :, 8:56, :]  # (n, 3, 64, 48) or (n, 3, 48, 64)
    return images, activations(_model(), images, ["conv4"])["conv4"]


def _examples_inputs(g: torch.Generator) -> dict:
    images, act = _scene_maps(g, 48)
    k = 5 + _pick(g, 4)
    family = list(_family("conv4"))
    fallback = None
    for _ in range(64):  # a unit that fires in enough scenes, where one scene's second best beats others' best
        unit = family[_pick(g, len(family))] if _pick(g, 2) else _pick(g, act.shape[1])
        maps = act[:, unit]
        best = maps.flatten(1).amax(1)
        if int((best > 1e-4).sum()) < k + 2 or (best.sort(descending=True).values[: k + 1].diff() == 0).any():
            continue
        second = maps.flatten(1).topk(2, 1).values[:, 1]
        fallback = fallback or {"acts": maps, "k": k}
        if float(second.max()) > float(best.topk(k).values[-1]):
            return {"acts": maps, "k": k}
    return fallback


def _repeats_scenes(got, expected, inputs) -> bool:
    if not (isinstance(got, (list, tuple)) and len(got) == 2 and isinstance(got[1], torch.Tensor)):
        return False
    where = got[1]
    return where.dim() == 2 and where.shape[1] == 3 and len(set(where[:, 0].tolist())) < len(where)


def _rows_cols_swapped(got, expected, inputs) -> bool:
    if not (isinstance(got, (list, tuple)) and len(got) == 2 and isinstance(got[1], torch.Tensor)):
        return False
    w = inputs["acts"].shape[-1]
    h = inputs["acts"].shape[-2]
    e = expected[1]
    flat = e[:, 1] * w + e[:, 2]
    alternatives = [e[:, [0, 2, 1]], torch.stack([e[:, 0], flat // h, flat % h], 1)]
    return any(got[1].shape == a.shape and torch.equal(got[1].long(), a) for a in alternatives)


def _crop_inputs(g: torch.Generator) -> dict:
    images, _ = _scene_maps(g, 6)
    m = min(images.shape[-2], images.shape[-1]) // 8  # positions valid either way round, so a swap gives patches
    k = 6
    where = torch.stack([torch.randint(6, (k,), generator=g), torch.randint(m, (k,), generator=g),
                         torch.randint(m, (k,), generator=g)], 1)
    where[0, 1:] = torch.tensor([0, m - 1])  # at the edges, so the padding shows
    where[1, 1:] = torch.tensor([m - 1, 0])
    return {"images": images, "where": where, "stride": 8, "size": [12, 15, 20, 23][_pick(g, 4)]}


def _crop_swapped(got, expected, inputs) -> bool:
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    try:
        alt = solutions.crop_patches(inputs["images"].transpose(-1, -2), inputs["where"], inputs["stride"],
                                     inputs["size"]).transpose(-1, -2)
        alt2 = solutions.crop_patches(inputs["images"], inputs["where"][:, [0, 2, 1]], inputs["stride"],
                                      inputs["size"])
    except Exception:
        return False
    return _close(got, alt, 1e-6) or _close(got, alt2, 1e-6)


# ------------------------------------------------------------------------------------------ 11. find_family


def _family_variants(curves, lines, radii, step, floor) -> dict[str, list[int]]:
    """Which units pass when a learner leaves one of the three tests out (for the inputs and the hints)."""
    out = {"no_tuned": [], "no_radii": [], "all": []}
    n_radii, a = curves.shape[2], curves.shape[3]
    for u in range(len(curves)):
        line = float(lines[u].max())
        p, rest = divmod(int(curves[u].argmax()), n_radii * a)
        r, i = divmod(rest, a)
        peak = float(curves[u, p, r, i])
        t1 = peak >= floor and peak >= 2 * line
        tuning, k = curves[u, p, r], int(60 // step)
        t2 = bool(tuning[[(i + j) % a for j in range(1, k + 1)]].min() < peak / 2
                  and tuning[[(i - j) % a for j in range(1, k + 1)]].min() < peak / 2)
        near = [(i + j) % a for j in range(-int(30 // step), int(30 // step) + 1)]
        t3 = sum(float(curves[u, p, q, near].max()) >= max(2 * line, floor) for q in range(n_radii)) >= 2
        for name, ok in (("no_tuned", t1 and t3), ("no_radii", t1 and t2),
                         ("all", t1 and t2 and t3)):
            if ok:
                out[name].append(u)
    return out


def _doctored(c: torch.Tensor, line: torch.Tensor, kind: str, side: int, step: float, floor: float) -> torch.Tensor:
    """A copy of a curve detector's responses (2, R, A) moved onto one test's boundary (see _family_inputs)."""
    c = c.clone()
    a = c.shape[-1]
    p, rest = divmod(int(c.argmax()), c.shape[1] * a)
    q, i = divmod(rest, a)
    peak, k, near = c[p, q, i], int(60 // step), int(30 // step)
    if kind in ("broad", "just_tuned", "late_drop"):
        # one side stays >= 0.55 of the peak for 60 degrees (fails test 2), or >= 0.4 (passes), or >= 0.55 until
        # it drops to 0.4 exactly 60 degrees out (passes)
        for j in range(1, k + 1):
            level = 0.4 if kind == "just_tuned" or (kind == "late_drop" and j == k) else 0.55
            c[p, q, (i + side * j) % a] = torch.maximum(c[p, q, (i + side * j) % a], level * peak)
            if kind == "late_drop" and j == k:
                c[p, q, (i + side * j) % a] = 0.4 * peak
    elif kind == "weak_radius":  # the other radii answer 1.5x the best line, not 2x (fails test 3)
        c[p, [r for r in range(c.shape[1]) if r != q]] = 1.5 * float(line.max())
    else:  # one other radius answers only at the window's edge (passes) or one sample beyond it (fails test 3)
        enough = max(2 * float(line.max()), floor)
        other = [r for r in range(c.shape[1]) if r != q]
        c[p, other] = 0.0
        offset = near if kind == "edge_in" else near + 1
        c[p, other[0], (i + side * offset) % a] = (enough + float(peak)) / 2
    return c


def _family_inputs(g: torch.Generator) -> dict:
    """30 conv4 units (curve detectors among them, the least line-selective ones always, and real near misses),
    plus doctored copies of curve detectors placed on each test's boundary: tuning broadened to 0.55 of the peak
    on one side (fails test 2; no real unit fails 2 alone), or to 0.4 (passes), or to 0.55 until a drop to 0.4
    exactly 60 degrees out (passes); one other radius answering only at the edge of the 30-degree window
    (passes) or one sample beyond it (fails test 3); each on both sides of the peak; and the other radii of the
    most line-responsive detector set to 1.5x its best line (fails test 3). Test 3 implies test 1, so no unit can
    fail test 1 alone."""
    from course.vision.probe import Probes

    probes = Probes()
    r, floor = _census("conv4")  # the biggest family, with units silent to lines and units only 2.3x selective
    v = _family_variants(r["curve"], r["line"], probes.radii, probes.step, floor)
    n = len(r["curve"])
    family = [v["all"][i] for i in torch.randperm(len(v["all"]), generator=g).tolist()]
    least = sorted(family, key=lambda u: float(r["curve"][u].max() / r["line"][u].max().clamp_min(1e-9)))[:2]
    must = set(family[: 3 + _pick(g, max(1, len(family) - 2))]) | set(least)
    for name in ("no_tuned", "no_radii"):  # a unit that fails only that test, when there is one
        near_misses = [u for u in v[name] if u not in v["all"]]
        if near_misses:
            must.add(near_misses[_pick(g, len(near_misses))])
    rest = [u for u in torch.randperm(n, generator=g).tolist() if u not in must]
    units = list(must) + rest[: 30 - len(must)]
    curves, lines = [r["curve"][units]], [r["line"][units]]
    for kind, side in [(kind, side) for kind in ("broad", "just_tuned", "late_drop", "edge_in", "edge_out")
                       for side in (1, -1)] + [("weak_radius", 1)]:
        u = family[_pick(g, len(family))]
        if kind == "weak_radius":  # a curve detector whose lines answer, strongly enough to clear the floor
            u = max(family, key=lambda u: float(r["line"][u].max()))
        curves.append(_doctored(r["curve"][u], r["line"][u], kind, side, probes.step, floor)[None])
        lines.append(r["line"][u][None])
    curves, lines = torch.cat(curves), torch.cat(lines)
    order = torch.randperm(len(curves), generator=g)
    return {"curves": curves[order], "lines": lines[order], "radii": list(probes.radii), "step": probes.step,
            "floor": floor}


def _family_slip(name: str):
    def when(got, expected, inputs) -> bool:
        v = _family_variants(inputs["curves"], inputs["lines"], inputs["radii"], inputs["step"], inputs["floor"])
        return isinstance(got, (list, tuple)) and list(got) == v[name] and v[name] != v["all"]
    return when


# ------------------------------------------------------------------------------------------ the checks

ARC_HINTS = [Hint(_flipped_polarity, "Your arcs have the wrong polarity: light=False is a dark arc on a light ground "
                                     "(contrast -1), light=True a light arc on dark (contrast +1)."),
             Hint(_orientation_major, "Your images are in orientation-major order: image r * A + a must be radius r "
                                      "at orientation a (orientations.repeat(R), radii.repeat_interleave(A)).")]

CHECKS = [
    Check("arc_batch", points=0.5, inputs=_arc_inputs, tol=Tol(1e-5, 1e-6),
          title="1. arc_batch: dark arcs, pixel by pixel", hints=ARC_HINTS),
    Check("arc_batch", points=0.5, inputs=lambda g: _arc_inputs(g, light=True), tol=Tol(1e-5, 1e-6),
          title="1b. arc_batch: light arcs, pixel by pixel", hints=ARC_HINTS),
    Check("circular_mean", points=1, inputs=_circular_inputs, judge=_angles_judge, title="2. circular_mean",
          hints=[Hint(_arithmetic_mean, "That is the arithmetic mean of the angles: 350 and 10 average to 180 "
                                        "that way. Average the unit vectors (cos, sin) and take atan2."),
                 Hint(_sin_of_degrees, "Degrees and radians are mixed up: torch.sin and torch.cos take radians "
                                       "(torch.deg2rad), and the answer should be in degrees (torch.rad2deg), "
                                       "% 360.")]),
    Check("widest_gap", points=0.5, inputs=_gap_inputs, tol=Tol(1e-4, 1e-6), title="3. widest_gap",
          hints=[Hint(lambda got, exp, inp: isinstance(got, (int, float))
                      and abs(got - _gap_variants(inp)["no_wrap"]) < 1e-4,
                      "The widest gap here wraps round 0: count the gap from the largest orientation back to the "
                      "smallest (smallest + 360 - largest)."),
                 Hint(lambda got, exp, inp: isinstance(got, (int, float))
                      and any(abs(got - v) < 1e-4 for v in _gap_variants(inp)["unsorted"]),
                      "Sort the orientations (mod 360) before taking neighbours' differences.")]),
    Check("widest_gap", points=0.5, inputs=lambda g: {"orientations": []}, tol=Tol(1e-4, 1e-6),
          title="3b. widest_gap: no family at all",
          hints=[Hint(lambda got, exp, inp: True, "With no orientations the whole circle is one gap: 360.0.")]),
    Check("echo_ratio", points=1, inputs=_echo_inputs, tol=Tol(1e-5, 1e-6), title="4. echo_ratio",
          hints=[Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and bool(torch.isnan(got).any()),
                      "A unit whose peak is 0 must get echo 0, not NaN: divide by peak.clamp_min(1e-12)."),
                 Hint(lambda got, exp, inp: _close(got, _echo_variant(inp, 0.5, False), 1e-5),
                      "That is the response at exactly the opposite sample: take the largest response within "
                      "`window` degrees of it (int(window // step) samples each side)."),
                 Hint(lambda got, exp, inp: _close(got, _echo_variant(inp, 0.25, True), 1e-5),
                      "The opposite orientation is 180 degrees from the peak (A // 2 samples), not 90.")]),
    Check("preferred_orientation", points=2, inputs=_tuning_inputs, judge=_angles_judge,
          title="5. preferred_orientation",
          hints=[Hint(_argmax_only, "That is the peak sample's orientation: refine it with the circular mean of the "
                                    "peak and its two neighbours, weighted by how far each rises above the lowest."),
                 Hint(_arithmetic_preferred, "The arithmetic mean of the three angles breaks when the peak sits next "
                                             "to 0 (345, 0, 15 average to 120): use your circular_mean.")]),
    Check("tuning_width", points=2, inputs=_tuning_inputs, tol=Tol(1e-3, 1e-4), title="6. tuning_width (FWHM)",
          hints=[Hint(lambda got, exp, inp: _close(got, _width_variant(inp, False, False), 1e-3),
                      "Your widths are whole multiples of the step: interpolate linearly between the last sample "
                      "above half the peak and the first one below it."),
                 Hint(lambda got, exp, inp: _close(got, _width_variant(inp, True, True), 1e-3),
                      "Half maximum here is half the peak response itself (a ReLU unit rests at 0), not halfway "
                      "between the curve's minimum and maximum.")]),
    Check("selectivity", points=2, inputs=_selectivity_inputs, tol=Tol(1e-4, 1e-6), title="7. selectivity",
          hints=[Hint(_columns_swapped, "Your columns are swapped: column 0 is against endless lines (length 0), "
                                        "column 1 against segments (length > 0). Use `lengths`, not a fixed index."),
                 Hint(_fixed_index, "You took length index 0 as the endless lines: find them with `lengths` (the "
                                    "index whose length is 0); this check puts them elsewhere."),
                 Hint(_upside_down, "That is line over curve: divide the best curve response by the best line's.")]),
    Check("orientation_tuning", points=2, inputs=_tuning_model_inputs, tol=Tol(1e-4, 1e-5),
          title="8. orientation_tuning on scenenet", timeout=120,
          hints=[Hint(_wrong_position, "Those are responses at the wrong place in the map: the stimulus is centred "
                                       "on the receptive field of the unit at (h // 2, w // 2), so read it there "
                                       "(rows first: the map is (N, C, h, w))."),
                 Hint(_wrong_light, "Those are the responses to the other polarity: pass `light` on to arc_batch.")]),
    Check("top_examples", points=2, inputs=_examples_inputs, tol=Tol(1e-5, 1e-6), title="9. top_examples",
          hints=[Hint(_repeats_scenes, "Some scene appears twice: take each scene's best position first, then the "
                                       "k best scenes (one example per scene)."),
                 Hint(_rows_cols_swapped, "Rows and columns are mixed up: with the map (N, h, w) flattened per scene, "
                                          "row = index // w and col = index % w.")]),
    Check("crop_patches", points=1, inputs=_crop_inputs, tol=Tol(1e-6, 1e-6), title="10. crop_patches",
          hints=[Hint(_crop_swapped, "Rows are y and columns x: a patch spans rows (y) first, then columns (x), "
                                     "and `where` holds [scene, row, col].")]),
    Check("find_family", points=3, inputs=_family_inputs, title="11. find_family", timeout=90,
          hints=[Hint(_family_slip("no_tuned"), "Some of your units are not tuned: test 2 asks that the response "
                                                "fall below half the peak within 60 degrees on both sides."),
                 Hint(_family_slip("no_radii"), "Some of your units hold at only one radius: test 3 asks for >= 2 "
                                                "radii near the preferred orientation.")]),
]
