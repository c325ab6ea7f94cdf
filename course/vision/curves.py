"""Curve detectors, measured: the synthetic-stimulus evidence of Cammarata et al., "Curve Detectors" (Distill 2020).

Every measurement reads a unit at the middle of its layer's feature map, (h // 2, w // 2), with the stimulus
centred on that unit's receptive field (`course.vision.probe.centre_of`). Orientations are degrees
counter-clockwise from +x with the image's y pointing down; an arc's orientation is the way its convex side
faces (`course.vision.stimuli.curve`). Polarity index 0 is a dark arc on a light ground, 1 a light arc on dark.

    arc_batch(orientations, radii)          arcs on a grid, radius-major (image r * A + a)      -> (R * A, 3, H, W)
    responses(model, layer, images)         every unit's response at the middle of the map        -> (N, C)
    orientation_tuning(model, layer, ...)   units' responses to arcs swept round the circle       -> (U, A)
    curve_sweep(model, layer, size, sweep)  every unit over polarity x radius x orientation       -> (C, 2, R, A)
    circular_mean, preferred_orientation    where a tuning curve points (a circular, not arithmetic, mean)
    tuning_width                            full width at half maximum (FWHM), degrees
    echo_ratio                              response to the opposite orientation / the peak
    radius_tuning, radius_tolerance         response against radius at the preferred orientation
    selectivity                             best curve / best endless line, and / best straight segment
    curve_tests, find_family                the census's stated tests for a curve detector, per unit / per layer
    widest_gap                              the widest empty arc the family leaves round the circle
    dataset_examples(model, layer, scenes)  every unit's k best held-out scenes (one pass over the scenes)
    example_shapes(scenes, where)           which shape's rim passes nearest each example's centre
    measure_family(model, layer)            all of the above for a layer's family: a `Family` of `FamilyMember`s
    arc_orientation(images, radii)          which way the arcs in a picture face (feature visualisations), degrees

The detector census (`course.vision.census`) calls `curve_tests`, `preferred_orientation` and `widest_gap`
from here, so the census and lesson 02 share one definition of each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from course.vision import stimuli
from course.vision.probe import Probes, StimulusSet, activations, centre_of

MIN_RESPONSE = 0.05  # a test's peak must reach this fraction of the layer's largest response to any stimulus
RATIO = 2.0  # "at least 2x"
POLARITY = ("dark", "light")  # index 0: contrast -1 (dark arc on light ground); 1: contrast +1


@dataclass(frozen=True)
class Sweep:
    """The lesson's arc sweep: finer in orientation than the census's, for widths and preferred orientations."""

    step: float = 5.0  # orientation step, degrees (72 round the circle)
    radii: tuple[float, ...] = (8.0, 12.0, 16.0)  # arc radii, pixels (conv4 sees 38 px; the scenes' shapes 7-17)
    span: float = 120.0  # arc span, degrees (the census's)
    width: float = 2.0  # stroke width, pixels
    radius_range: tuple[float, ...] = (4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0, 24.0, 32.0)  # radius tuning

    @property
    def orientations(self) -> torch.Tensor:
        return stimuli.angles(self.step)


# --------------------------------------------------------------------------------------------- stimuli, responses


def arc_batch(orientations, radii, *, light: bool = False, size=64, centre=None, span: float = 120.0,
              width: float = 2.0, device=None) -> torch.Tensor:
    """Every (radius, orientation) arc, radius-major: image r * A + a is radii[r] at orientations[a].

    light=False draws dark arcs on a light ground (contrast -1), True light on dark (+1); `size` is H or (H, W).
    -> (R * A, 3, H, W)
    """
    o = torch.as_tensor(orientations, dtype=torch.float32).reshape(-1)  # (A,)
    r = torch.as_tensor(radii, dtype=torch.float32).reshape(-1)  # (R,)
    return stimuli.curve(o.repeat(len(r)), r.repeat_interleave(len(o)), size=size, span=span, width=width,
                         contrast=1.0 if light else -1.0, centre=centre, device=device)


def responses(model: nn.Module, layer: str, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Every unit's activation at the middle (h // 2, w // 2) of `layer`'s map, for each image. -> (N, C)"""
    act = activations(model, images, [layer], batch)[layer]  # (N, C, h, w)
    h, w = act.shape[-2:]
    return act[:, :, h // 2, w // 2].float().cpu()


def _hw(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def orientation_tuning(model: nn.Module, layer: str, units, orientations, radius: float, light: bool = False,
                       size=(64, 64), span: float = 120.0, width: float = 2.0) -> torch.Tensor:
    """Units' responses to arcs of one radius and polarity at each orientation, at the receptive-field centre.

    The article draws this as a *radial tuning curve* (orientation round the circle). -> (len(units), A)
    """
    hw = _hw(size)
    device = next(model.parameters()).device
    centre = centre_of(model, layer, hw)
    images = arc_batch(orientations, [radius], light=light, size=hw, centre=centre, span=span, width=width,
                       device=device)
    return responses(model, layer, images)[:, list(units)].T.contiguous()


def curve_sweep(model: nn.Module, layer: str, size=(64, 64), sweep: Sweep | None = None,
                centre: tuple[float, float] | None = None) -> torch.Tensor:
    """Every unit's response to every arc of `sweep`: (C, polarity 2, radius R, orientation A)."""
    sweep, hw = sweep or Sweep(), _hw(size)
    device = next(model.parameters()).device
    centre = centre or centre_of(model, layer, hw)
    kw = dict(size=hw, centre=centre, span=sweep.span, width=sweep.width, device=device)
    images = torch.cat([arc_batch(sweep.orientations, sweep.radii, light=light, **kw) for light in (False, True)])
    r = responses(model, layer, images)  # (2 * R * A, C)
    return r.T.reshape(r.shape[1], 2, len(sweep.radii), len(sweep.orientations))


# --------------------------------------------------------------------------------------------- tuning-curve measures


def circular_mean(angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The weighted mean direction of `angles` (degrees) over the last dim, in [0, 360). -> angles.shape[:-1]

    Angles are points on a circle, so average the unit vectors (cos, sin), not the numbers: 350 and 10 average
    to 0, not 180.
    """
    t = torch.deg2rad(angles)
    return torch.rad2deg(torch.atan2((weights * torch.sin(t)).sum(-1), (weights * torch.cos(t)).sum(-1))) % 360


def preferred_orientation(tuning: torch.Tensor, step: float) -> torch.Tensor:
    """A sub-step estimate of where each tuning curve (..., A) over orientations 0, step, ... peaks. -> (...)

    The circular mean of the peak sample and its two neighbours (round the circle), weighted by how far each
    rises above the lowest of the three: the peak alone would only say which sample; the whole curve would be
    pulled by echoes and a broad base.
    """
    a = tuning.shape[-1]
    i = tuning.argmax(-1, keepdim=True)  # (..., 1)
    idx = torch.cat([(i - 1) % a, i, (i + 1) % a], -1)  # (..., 3)
    vals = tuning.gather(-1, idx)
    w = (vals - vals.min(-1, keepdim=True).values).clamp_min(0) + 1e-12
    return circular_mean(idx.float() * step, w)


def tuning_width(tuning: torch.Tensor, step: float) -> torch.Tensor:
    """Full width at half maximum (degrees) of each tuning curve (..., A) over orientations 0, step, ... -> (...)

    From the peak, walk each way round the circle to where the response first drops below half the peak
    (interpolating linearly between samples); the width is the sum of the two distances. 360 when a side
    never drops below half within 180 degrees (a unit not tuned to orientation, or one that never responds).
    """
    a = tuning.shape[-1]
    flat = tuning.reshape(-1, a).float()
    out = []
    for row in flat:
        i = int(row.argmax())
        half = float(row[i]) / 2
        width = 0.0
        for direction in (1, -1):
            prev = float(row[i])
            for j in range(1, a // 2 + 1):
                v = float(row[(i + direction * j) % a])
                if v < half:
                    width += step * (j - 1 + (prev - half) / (prev - v))
                    break
                prev = v
            else:
                width = 360.0
                break
        out.append(min(width, 360.0))
    return torch.tensor(out).reshape(tuning.shape[:-1])


def echo_ratio(tuning: torch.Tensor, step: float, window: float = 45.0) -> torch.Tensor:
    """The echo: the largest response within `window` degrees of the orientation opposite the peak (180 degrees
    round), over the peak, per tuning curve (..., A) over orientations 0, step, ... -> (...); 0 if it never responds.

    The article calls a curve detector's weaker second bump on the opposite side its *echo*: strong in early
    curve layers, gone by InceptionV1's mixed3b.
    """
    a = tuning.shape[-1]
    i = tuning.argmax(-1, keepdim=True)  # (..., 1)
    peak = tuning.gather(-1, i).squeeze(-1)
    k = int(window // step)
    opposite = (i + a // 2 + torch.arange(-k, k + 1)) % a  # (..., 2k + 1)
    return tuning.gather(-1, opposite).amax(-1) / peak.clamp_min(1e-12)


def radius_tuning(model: nn.Module, layer: str, units, orientations, lights, radii, size=(64, 64),
                  span: float = 120.0, width: float = 2.0) -> torch.Tensor:
    """Each unit's response to arcs at its own orientation and polarity, over `radii`. -> (len(units), len(radii))"""
    hw = _hw(size)
    device = next(model.parameters()).device
    centre = centre_of(model, layer, hw)
    units, radii = list(units), torch.as_tensor(radii, dtype=torch.float32)
    o = torch.as_tensor(orientations, dtype=torch.float32).repeat_interleave(len(radii))
    c = (torch.as_tensor(lights, dtype=torch.float32) * 2 - 1).repeat_interleave(len(radii))
    images = stimuli.curve(o, radii.repeat(len(units)), size=hw, span=span, width=width, contrast=c, centre=centre,
                           device=device)
    r = responses(model, layer, images)  # (U * R, C)
    return r[torch.arange(len(units) * len(radii)), torch.tensor(units).repeat_interleave(len(radii))].reshape(
        len(units), len(radii))


def radius_tolerance(curve: torch.Tensor, radii) -> tuple[float, float]:
    """The smallest and largest radius of the run of radii round the peak where the response is >= half the peak."""
    i = int(curve.argmax())
    half = float(curve[i]) / 2
    lo = hi = i
    while lo > 0 and float(curve[lo - 1]) >= half:
        lo -= 1
    while hi < len(curve) - 1 and float(curve[hi + 1]) >= half:
        hi += 1
    return float(radii[lo]), float(radii[hi])


def selectivity(curves: torch.Tensor, lines: torch.Tensor, lengths) -> torch.Tensor:
    """Best curve over best endless line, and over best straight segment, per unit. -> (U, 2); inf where none fires.

    curves: (U, ...) any arcs; lines: (U, polarity, length, position, orientation) with `lengths[k]` the length
    of index k on the length axis (0 = endless, > 0 a segment).
    """
    best = curves.flatten(1).amax(1)  # (U,)
    endless = torch.tensor([float(x) == 0 for x in lengths])
    line = lines[:, :, endless].flatten(1).amax(1)
    segment = lines[:, :, ~endless].flatten(1).amax(1)
    return torch.stack([best / line, best / segment], 1)


# --------------------------------------------------------------------------------------------- the family


def curve_tests(curves: torch.Tensor, lines: torch.Tensor, radii, step: float, floor: float,
                unit: int = 0) -> dict | None:
    """The census's tests of one unit (curves (2, R, A) at orientations 0, step, ...; lines any shape): its record
    if it is a curve detector, else None.

        curve     best curve response >= 2x the best straight line or segment (and >= `floor`);
        tuned     at the best curve's radius and polarity, the response falls below half the peak within 60
                  degrees either side of the preferred orientation;
        radii     at >= 2 radii, some orientation within 30 degrees of the preferred one gives >= 2x the best
                  line (and >= `floor`).
    """
    line = float(lines.max())
    a = curves.shape[-1]
    pol, rest = divmod(int(curves.argmax()), curves.shape[1] * a)
    rad, i = divmod(rest, a)
    peak = float(curves[pol, rad, i])
    if peak < floor or peak < RATIO * line:
        return None
    tuning = curves[pol, rad]
    k = int(60 // step)
    right = tuning[[(i + j) % a for j in range(1, k + 1)]].min()
    left = tuning[[(i - j) % a for j in range(1, k + 1)]].min()
    if not (right < peak / 2 and left < peak / 2):
        return None
    near = [(i + j) % a for j in range(-int(30 // step), int(30 // step) + 1)]
    enough = max(RATIO * line, floor)  # a radius holds if, near the preferred orientation, it beats lines 2x
    held = [radii[q] for q in range(curves.shape[1]) if float(curves[pol, q, near].max()) >= enough]
    if len(held) < 2:
        return None
    return {"unit": unit, "orientation": round(float(preferred_orientation(tuning, step)), 1),
            "radius": radii[rad], "polarity": POLARITY[pol], "response": round(peak, 4), "line": round(line, 4),
            "ratio": round(peak / max(line, 1e-9), 2) if line > 0 else None, "radii": held}


def find_family(curves: torch.Tensor, lines: torch.Tensor, radii, step: float, floor: float) -> list[int]:
    """The units (indices into curves (U, 2, R, A) and lines (U, ...)) that pass `curve_tests`."""
    return [u for u in range(len(curves)) if curve_tests(curves[u], lines[u], radii, step, floor) is not None]


def widest_gap(orientations) -> float:
    """The widest empty arc, in degrees, left round the circle by these orientations (360 if there are none)."""
    ors = sorted(float(o) % 360 for o in orientations)
    if not ors:
        return 360.0
    return max([b - a for a, b in zip(ors, ors[1:])] + [ors[0] + 360 - ors[-1]])


@dataclass
class FamilyMember:
    """One curve detector's figures (orientation in degrees, radius in pixels; ratios inf where lines give 0)."""

    unit: int
    orientation: float  # preferred orientation from the fine sweep (circular mean round the peak)
    census_orientation: float  # the census's (15-degree sweep)
    polarity: str  # "dark" or "light": the census's best arc's polarity
    radius: float  # and radius: the fine sweep is read there
    peak: float  # that response
    fwhm: float  # tuning width, degrees, at its best radius and polarity
    echo: float  # echo / peak: best response within 45 degrees of the opposite orientation, over the peak
    line_ratio: float  # best curve / best endless line
    segment_ratio: float  # best curve / best segment
    radius_range: tuple[float, float]  # radii whose response at its orientation stays >= half the peak

    def __repr__(self) -> str:
        ratio = lambda x: "  no line" if math.isinf(x) else f"{x:8.1f}x"  # noqa: E731
        return (f"unit {self.unit:3d}: {self.orientation:5.1f} deg, {self.polarity:5} r{self.radius:g}, FWHM "
                f"{self.fwhm:5.1f}, echo {self.echo:.2f}, vs line {ratio(self.line_ratio)}, vs segment "
                f"{ratio(self.segment_ratio)}, radii {self.radius_range[0]:g}-{self.radius_range[1]:g}")


@dataclass
class Family:
    """A layer's curve family, sorted by preferred orientation, with its tuning sweep for figures."""

    layer: str
    units: int  # units in the layer
    members: list[FamilyMember]
    sweep: Sweep
    tuning: torch.Tensor = field(repr=False)  # (C, 2, R, A): every unit's curve sweep
    centre: tuple[float, float] = (0.0, 0.0)

    @property
    def widest_gap(self) -> float:
        return widest_gap([m.orientation for m in self.members])

    @property
    def median_echo(self) -> float:
        return float(torch.tensor([m.echo for m in self.members]).median()) if self.members else float("nan")

    def member(self, unit: int) -> FamilyMember | None:
        return next((m for m in self.members if m.unit == unit), None)

    def __repr__(self) -> str:
        if not self.members:
            return f"Family({self.layer}: no curve detectors among {self.units} units)"
        fw = [m.fwhm for m in self.members]
        rows = "\n  ".join(repr(m) for m in self.members)
        return (f"Family({self.layer}: {len(self.members)} of {self.units} units; widest gap {self.widest_gap:.1f} "
                f"deg; FWHM {min(fw):.0f}-{max(fw):.0f} deg; median echo/peak {self.median_echo:.2f})\n  {rows}")


def best_stimulus(tuning: torch.Tensor) -> tuple[int, int]:
    """(polarity, radius index) of a unit's best arc in its sweep (2, R, A)."""
    pol, rest = divmod(int(tuning.argmax()), tuning.shape[1] * tuning.shape[2])
    return pol, rest // tuning.shape[2]


def _census_stimulus(record: dict, sweep: Sweep) -> tuple[int, int] | None:
    """(polarity, radius index in `sweep`) of the census's best arc for a unit, if the sweep has that radius."""
    if record["radius"] not in sweep.radii:
        return None
    return POLARITY.index(record["polarity"]), sweep.radii.index(record["radius"])


def census_responses(model: nn.Module, layer: str, size=(64, 64), probes: Probes | None = None) -> tuple[dict, float]:
    """The census's stimuli at `layer`'s receptive-field centre: ({kind: (C, ...)}, the test floor)."""
    probes, hw = probes or Probes(), _hw(size)
    device = next(model.parameters()).device
    stim = StimulusSet(probes, hw, centre_of(model, layer, hw), device)
    resp = responses(model, layer, stim.images)
    return stim.split(resp), max(MIN_RESPONSE * float(resp.max()), 1e-6)


def measure_family(model: nn.Module, layer: str, size=(64, 64), probes: Probes | None = None,
                   sweep: Sweep | None = None) -> Family:
    """Find `layer`'s curve detectors by the census's tests, then measure each on the finer `sweep`, at the
    polarity and radius of its best arc in the census."""
    probes, sweep, hw = probes or Probes(), sweep or Sweep(), _hw(size)
    r, floor = census_responses(model, layer, hw, probes)
    found = {u: d for u in range(len(r["curve"]))
             if (d := curve_tests(r["curve"][u], r["line"][u], probes.radii, probes.step, floor, unit=u))}
    centre = centre_of(model, layer, hw)
    tuning = curve_sweep(model, layer, hw, sweep, centre)  # (C, 2, R, A)
    units = sorted(found)
    best = [_census_stimulus(found[u], sweep) or best_stimulus(tuning[u]) for u in units]
    curves = torch.stack([tuning[u, p, q] for u, (p, q) in zip(units, best)]) if units else torch.zeros(0, 1)
    pref = preferred_orientation(curves, sweep.step) if units else torch.zeros(0)
    rt = radius_tuning(model, layer, units, pref, [p for p, _ in best], sweep.radius_range, hw, sweep.span,
                       sweep.width) if units else None
    sel = selectivity(tuning[units], r["line"][units], probes.line_lengths) if units else None
    members = [FamilyMember(
        unit=u, orientation=round(float(pref[k]), 1), census_orientation=found[u]["orientation"],
        polarity=POLARITY[best[k][0]], radius=sweep.radii[best[k][1]], peak=round(float(curves[k].max()), 4),
        fwhm=round(float(tuning_width(curves[k], sweep.step)), 1),
        echo=round(float(echo_ratio(curves[k], sweep.step)), 3),
        line_ratio=float(sel[k, 0]), segment_ratio=float(sel[k, 1]),
        radius_range=radius_tolerance(rt[k], sweep.radius_range)) for k, u in enumerate(units)]
    members.sort(key=lambda m: m.orientation)
    return Family(layer, len(r["curve"]), members, sweep, tuning, centre)


def dataset_examples(model: nn.Module, layer: str, scenes, n: int = 1024, k: int = 9, start: int = 10_000_000,
                     batch: int = 128, progress=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every unit's `k` best scenes among `start .. start + n` (each scene's best position; one pass for all units).

    -> (values (C, k), where (C, k, 3) int64 rows [scene index, map row, map column]), best first.
    `progress(fraction)` is called after each batch. `course.vision.examples.patch` cuts the patches.
    """
    device = next(model.parameters()).device
    best, pos = [], []
    for first in range(start, start + n, batch):
        x, _ = scenes.batch(range(first, min(start + n, first + batch)), device)
        act = activations(model, x, [layer], batch)[layer].float().cpu()  # (B, C, h, w)
        value, flat = act.flatten(2).max(2)  # (B, C): each scene's best position per unit
        best.append(value)
        pos.append(flat)
        if progress:
            progress(min(1.0, (first - start + batch) / n))
    w = act.shape[-1]
    best, pos = torch.cat(best).T, torch.cat(pos).T  # (C, n)
    values, idx = best.topk(min(k, n), 1)  # (C, k)
    flat = pos.gather(1, idx)
    return values, torch.stack([idx + start, flat // w, flat % w], 2)


def example_shapes(scenes, where: torch.Tensor, stride: int = 8, within: float = 6.0) -> list[str | None]:
    """For each example [scene, row, col], the shape whose outline passes nearest the unit's centre pixel
    (stride * row + stride / 2, the same in x), as "outlined disc", "filled square", ...; None when no shape's
    rim comes within `within` pixels. Occlusion is ignored (a rim under another shape still counts)."""
    from course.vision.scenes import CLASSES, signed_distance

    size = scenes.config.size
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    ys, xs = torch.meshgrid(grid, grid, indexing="ij")
    out: list[str | None] = []
    for scene, row, col in where.tolist():
        d = scenes._draw(int(scene))
        sd = signed_distance({k: v.unsqueeze(0) for k, v in d.items()}, grid)[0].abs()  # (K, S, S)
        dist = torch.sqrt((ys - (stride * row + stride / 2)) ** 2 + (xs - (stride * col + stride / 2)) ** 2)
        # the distance from the centre to the nearest pixel on each shape's rim (within 1 px of its outline)
        gap = torch.where(sd <= 1.0, dist, torch.inf).flatten(1).amin(1)  # (K,)
        gap[d["kind"] == 0] = torch.inf
        j = int(gap.argmin())
        out.append(None if float(gap[j]) > within else
                   f"{'outlined' if bool(d['outline'][j]) else 'filled'} {CLASSES[int(d['kind'][j])]}")
    return out


def arc_orientation(images: torch.Tensor, radii, step: float = 15.0, span: float = 120.0) -> torch.Tensor:
    """Which way the arcs in each picture face, read off the pixels alone (no model): for images[i], the
    orientation whose arc (radius radii[i], drawn every `step` degrees) best matches the picture somewhere, by
    normalised cross-correlation of edge maps (Sobel gradient magnitude of the grey level; polarity and colour
    don't matter). Used on feature visualisations: do they show arcs facing the unit's way?
    images (N, 3, H, W), radii (N,) -> (N,) degrees in [0, 360)."""
    import torch.nn.functional as F

    def edges(x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> (N, 1, H-4, W-4), no padding artefacts
        gray = x.float().mean(1, keepdim=True)
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
        gx = F.conv2d(gray, sobel.view(1, 1, 3, 3), padding=1)
        gy = F.conv2d(gray, sobel.T.reshape(1, 1, 3, 3), padding=1)
        return (gx**2 + gy**2).sqrt()[..., 2:-2, 2:-2]

    pictures = edges(images)  # (N, 1, h, w)
    h, w = pictures.shape[-2:]
    orientations = torch.arange(0.0, 360.0, step)  # (A,)
    templates: dict[float, tuple] = {}  # radius -> the arcs' edge maps, transformed, and the window's
    out = []
    for i, radius in enumerate(torch.as_tensor(radii, dtype=torch.float32).reshape(-1).tolist()):
        if radius not in templates:
            side = int(2 * radius + 13)  # the arc fits, with a margin
            t = edges(stimuli.curve(orientations, radius, size=side, span=span, contrast=-1.0))[:, 0]  # (A, s, s)
            t = t - t.mean((-2, -1), keepdim=True)
            t = t / t.norm(dim=(-2, -1), keepdim=True)
            s = t.shape[-1]
            shape = (h + s - 1, w + s - 1)  # every placement that overlaps the picture (zero edges beyond it)
            templates[radius] = (shape, torch.fft.rfft2(t.flip(-2, -1), shape),
                                 torch.fft.rfft2(torch.ones(s, s), shape))
        # normalised cross-correlation by FFT (conv2d with 45-px templates is ~100x slower)
        shape, t_f, window_f = templates[radius]
        match = torch.fft.irfft2(torch.fft.rfft2(pictures[i, 0], shape) * t_f, shape)  # (A, H', W')
        energy = torch.fft.irfft2(torch.fft.rfft2(pictures[i, 0] ** 2, shape) * window_f, shape)  # under each placement
        ncc = match / energy.clamp_min(1e-6).sqrt()
        out.append(float(orientations[ncc.flatten(1).amax(1).argmax()]))
    return torch.tensor(out)
