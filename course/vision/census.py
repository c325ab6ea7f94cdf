"""The detector census: which units of a vision model are curve, high-low frequency and edge/line detectors.

Every unit of every conv layer is shown the synthetic stimuli of `course.vision.probe.Probes`, centred on the
receptive field of the unit in the middle of the layer's feature map, and its (post-ReLU) response there is
tested. Orientations are degrees counter-clockwise from +x with the image's y pointing down (a curve's
orientation is the way its convex side faces; a high-low unit's, the way its fine-texture side lies; an edge
unit's, the way its light side lies; a line's is taken mod 180).

    curve      best curve response >= 2x the best straight-line response (endless lines and segments as long
               as the arcs, both polarities, three offsets); tuned: at the best curve's radius and polarity the
               response falls below half the peak within 60 degrees either side of the preferred orientation; and it holds over >= 2 radii
               (at >= 2 radii, some orientation within 30 degrees of the preferred one gives >= 2x the best line,
               and at least the floor below).
    high_low   mean response (over texture seeds) to a fine|coarse boundary at the preferred orientation is
               >= 2x that to uniform fine texture, to uniform coarse texture and to the boundary turned 180.
    edge       orientation-tuned to straight edges (or lines): peak >= 2x the response 90 degrees away (both
               sides) and >= 2x the response to a blank grey image.

Every test also asks that the peak be at least `MIN_RESPONSE` of the layer's largest response to any stimulus,
so that units which barely respond at all can't pass on ratios of tiny numbers. The methods follow Cammarata et
al., "Curve Detectors" (Distill 2020) and Schubert et al., "High-Low Frequency Detectors" (Distill 2021).
`census(name)` measures a shipped model (`course census NAME`); `measure(model, ...)` any model. The curve test,
the preferred orientation (a circular mean) and the widest gap are `course.vision.curves`'s, which lesson 02 uses.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from course.vision.curves import MIN_RESPONSE, RATIO, preferred_orientation, widest_gap
from course.vision.curves import curve_tests as _curve_tests
from course.vision.probe import Probes, StimulusSet, activations, centre_of

__all__ = ["MIN_RESPONSE", "RATIO", "census", "curve_tests", "edge_tests", "high_low_tests", "measure", "render",
           "summary", "widest_gap"]


def _preferred(tuning: torch.Tensor, step: float) -> float:
    """A sub-step estimate of the preferred orientation: circular centroid of the peak and its two neighbours."""
    return round(float(preferred_orientation(tuning, step)), 1)


def curve_tests(r: dict[str, torch.Tensor], unit: int, probes: Probes, floor: float) -> dict | None:
    """`course.vision.curves.curve_tests` on one unit's census responses."""
    return _curve_tests(r["curve"][unit], r["line"][unit], probes.radii, probes.step, floor, unit=unit)


def high_low_tests(r: dict[str, torch.Tensor], unit: int, probes: Probes, floor: float) -> dict | None:
    boundary = r["high_low"][unit].mean(0)  # (A,), mean over seeds
    a = len(boundary)
    i = int(boundary.argmax())
    peak, flipped = float(boundary[i]), float(boundary[(i + a // 2) % a])
    high, low = float(r["high"][unit].mean()), float(r["low"][unit].mean())
    worst = max(high, low, flipped)
    if peak < floor or peak < RATIO * worst:
        return None
    return {"unit": unit, "orientation": _preferred(boundary, probes.step), "response": round(peak, 4),
            "high": round(high, 4), "low": round(low, 4), "flipped": round(flipped, 4),
            "ratio": round(peak / worst, 2) if worst > 0 else None}


def edge_tests(r: dict[str, torch.Tensor], unit: int, probes: Probes, floor: float) -> dict | None:
    blank = float(r["blank"][unit][1])
    found = []
    lines = r["line"][unit][:, 0].amax((0, 1))  # endless lines, either polarity, best offset: (orientation mod 180,)
    for kind, tuning in (("edge", r["edge"][unit]), ("line", lines)):
        a, i = len(tuning), int(tuning.argmax())
        quarter = a // 4 if kind == "edge" else a // 2  # 90 degrees (lines cover 180 degrees)
        peak = float(tuning[i])
        across = max(float(tuning[(i + quarter) % a]), float(tuning[(i - quarter) % a]))
        if peak >= floor and peak >= RATIO * across and peak >= RATIO * blank:
            found.append((peak / max(across, blank, 1e-9), kind, i, peak, across))
    if not found:
        return None
    _, kind, i, peak, across = max(found)
    tuning = r["edge"][unit] if kind == "edge" else lines
    orientation = _preferred(tuning, probes.step) if kind == "edge" else _preferred(
        torch.cat([tuning, tuning]), probes.step) % 180
    return {"unit": unit, "kind": kind, "orientation": orientation, "response": round(peak, 4),
            "across": round(across, 4), "blank": round(blank, 4)}


def measure(model: nn.Module, layers: list[str], input_size: tuple[int, int], probes: Probes | None = None,
            batch: int = 256) -> dict:
    """The census record of `model` (eval mode, on its device) over `layers`, at `input_size` (H, W)."""
    probes = probes or Probes()
    device = next(model.parameters()).device
    start = time.perf_counter()
    centres = {layer: centre_of(model, layer, input_size) for layer in layers}
    record: dict = {"input_size": list(input_size), "probes": probes.to_json(), "layers": {}, "centres": {}}
    groups: dict[tuple[float, float], list[str]] = {}  # layers that look at the same point share stimuli
    for layer, c in centres.items():
        groups.setdefault((round(c[0] * 4) / 4, round(c[1] * 4) / 4), []).append(layer)
    for centre, group in groups.items():
        stim = StimulusSet(probes, input_size, centre, device)
        acts = activations(model, stim.images, group, batch)
        for layer in group:
            act = acts[layer]  # (N, C, h, w)
            h, w = act.shape[-2:]
            resp = act[:, :, h // 2, w // 2].float().cpu()  # (N, C) at the centre unit
            r = stim.split(resp)
            floor = max(MIN_RESPONSE * float(resp.max()), 1e-6)
            units = range(resp.shape[1])
            record["centres"][layer] = [round(v, 2) for v in centres[layer]]
            record["layers"][layer] = {
                "units": resp.shape[1],
                "curve": [d for u in units if (d := curve_tests(r, u, probes, floor))],
                "high_low": [d for u in units if (d := high_low_tests(r, u, probes, floor))],
                "edge": [d for u in units if (d := edge_tests(r, u, probes, floor))],
            }
    record["layers"] = {layer: record["layers"][layer] for layer in layers}
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record


def summary(record: dict) -> dict:
    """The bar's figures: the layer with most curve detectors, their count and widest gap, and all high-lows."""
    best = max(record["layers"], key=lambda k: len(record["layers"][k]["curve"]))
    ors = [u["orientation"] for u in record["layers"][best]["curve"]]
    return {"curve_layer": best, "curve_detectors": len(ors), "curve_widest_gap": round(widest_gap(ors), 1),
            "high_low_detectors": sum(len(d["high_low"]) for d in record["layers"].values()),
            "edge_detectors": sum(len(d["edge"]) for d in record["layers"].values())}


def census(name: str) -> dict:
    """`course census NAME --json`: the record of a shipped vision model, with the bar's figures."""
    from course import zoo

    model = zoo.load(name)
    size = tuple(getattr(model, "census_size", (64, 64)))
    record = {"model": name, **measure(model, model.layers, size)}
    record["summary"] = summary(record)
    return record


def render(record: dict) -> str:
    """The census as a table for people: per layer, each kind's units with orientation and key figures."""
    s = record.get("summary") or summary(record)
    lines = [f"Detector census of {record.get('model', 'a model')} at {record['input_size'][0]}x"
             f"{record['input_size'][1]} ({record.get('seconds', 0):.1f} s). Orientations: degrees "
             "counter-clockwise from +x, y down.",
             f"Most curve detectors: {s['curve_detectors']} in {s['curve_layer']}, widest orientation gap "
             f"{s['curve_widest_gap']:.0f} deg; high-low detectors: {s['high_low_detectors']}; "
             f"edge/line detectors: {s['edge_detectors']}.", ""]
    for layer, d in record["layers"].items():
        lines.append(f"{layer} ({d['units']} units): {len(d['curve'])} curve, {len(d['high_low'])} high-low, "
                     f"{len(d['edge'])} edge/line")
        for u in sorted(d["curve"], key=lambda u: u["orientation"]):
            vs = f"{u['ratio']:5.1f}x best line" if u["ratio"] else "   no line response"
            lines.append(f"    curve     {layer}:{u['unit']:<4} {u['orientation']:6.1f} deg  radius {u['radius']:g} "
                         f"{u['polarity']:5}  {vs}  holds at radii {u['radii']}")
        for u in sorted(d["high_low"], key=lambda u: u["orientation"]):
            vs = f"{u['ratio']:5.1f}x" if u["ratio"] else "  (only)"
            lines.append(f"    high-low  {layer}:{u['unit']:<4} {u['orientation']:6.1f} deg  "
                         f"{vs} its best response to uniform fine, uniform coarse, or it turned 180")
        if d["edge"]:
            lines.append("    edge/line " + ", ".join(f"{layer}:{u['unit']} {u['kind']} {u['orientation']:.0f}"
                                                     for u in sorted(d["edge"], key=lambda u: u["orientation"])))
    return "\n".join(lines)
