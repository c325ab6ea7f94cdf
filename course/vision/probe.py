"""Responses of units to stimuli: layer activations by hook, receptive-field centres, and the census's stimulus sets.

`activations(model, x, layers)` runs a model once and returns the named layers' outputs (hooks removed after,
even on error). `centre_of(model, layer, size)` finds where in the image the centre unit of a layer's feature
map looks: the centroid of the input gradient of that unit. `StimulusSet` renders the census's stimuli (curves,
lines, edges, high-low boundaries, textures, blanks) centred on such a point and keeps track of which image is
which, so `responses[...]` can be reshaped to (polarity, radius, orientation) and so on.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from course.vision import stimuli


@contextmanager
def hooked(model: nn.Module, layers: list[str]):
    """Within the block, `store[layer]` holds each named module's latest output; hooks removed on exit."""
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise KeyError(f"no modules named {missing}; some names: {[n for n in modules if n][:12]}")
    store: dict[str, torch.Tensor] = {}
    handles = [modules[name].register_forward_hook(lambda m, i, o, name=name: store.__setitem__(name, o))
               for name in layers]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


def activations(model: nn.Module, x: torch.Tensor, layers: list[str], batch: int = 256) -> dict[str, torch.Tensor]:
    """{layer: activation (N, C, h, w)} of `model` on images `x` (N, 3, H, W), in chunks of `batch`, no grad."""
    outs: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    with hooked(model, layers) as store, torch.no_grad():
        for chunk in x.split(batch):
            model(chunk)
            for name in layers:
                outs[name].append(store[name])
    return {name: torch.cat(v) for name, v in outs.items()}


def centre_of(model: nn.Module, layer: str, size: tuple[int, int], tries: int = 4) -> tuple[float, float]:
    """(x, y) in pixels of the receptive-field centre of `layer`'s middle unit (map position (h//2, w//2)).

    The middle of the pixels that can change that unit at all (its receptive field, as far as it lies in the
    image): the support of the input gradient of all its channels, over a few random images. Not a weighted
    centroid, which would lean towards wherever a unit's weights are heavy (towards its preferred curve, say).
    """
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(0)
    x = torch.rand(tries, 3, *size, generator=g).to(device).requires_grad_(True)
    with hooked(model, [layer]) as store:
        model(x)
        act = store[layer]
        h, w = act.shape[-2:]
        act[:, :, h // 2, w // 2].sum().backward()
    weight = x.grad.abs().sum((0, 1))  # (H, W)
    if weight.max() == 0:
        return size[1] / 2, size[0] / 2
    rows = torch.nonzero(weight.amax(1) > 1e-6 * weight.max()).flatten()
    cols = torch.nonzero(weight.amax(0) > 1e-6 * weight.max()).flatten()
    return (float(cols[0] + cols[-1] + 1) / 2, float(rows[0] + rows[-1] + 1) / 2)


@dataclass(frozen=True)
class Probes:
    """The census's stimuli: which parameters, and how many of each (the figures its tests are defined on)."""

    step: float = 15.0  # orientation step, degrees (24 orientations round the circle)
    radii: tuple[float, ...] = (8.0, 12.0, 16.0)  # curve radii, pixels (the scenes' shapes: 7-17; conv4 sees 38)
    span: float = 120.0  # arc span of a curve, degrees
    width: float = 2.0  # stroke width of curves and lines, pixels
    line_positions: tuple[float, ...] = (-2.0, 0.0, 2.0)  # lines are also tried off-centre, to be fair to them
    line_lengths: tuple[float, ...] = (0.0, 8.0, 16.0)  # endless lines, and segments with ends as arcs have
    high: float = 0.25  # the fine texture's frequency, cycles per pixel
    low: float = 0.03  # the coarse texture's frequency
    seeds: tuple[int, ...] = tuple(range(1, 17))  # textures averaged over these 16 seeds (4 let chance pass)

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass
class StimulusSet:
    """All census stimuli centred on `centre`, in one batch; `parts[name]` is the slice of each kind."""

    probes: Probes
    size: tuple[int, int]
    centre: tuple[float, float]
    device: torch.device | str = "cpu"
    images: torch.Tensor = field(init=False, repr=False)
    parts: dict[str, slice] = field(init=False, repr=False)

    def __post_init__(self):
        p, kw = self.probes, dict(size=self.size, centre=self.centre, device=self.device)
        theta = stimuli.angles(p.step)  # (A,)
        a, r, s = len(theta), len(p.radii), len(p.seeds)
        pol = torch.tensor([-1.0, 1.0])  # dark figure on light ground, light on dark
        radii = torch.tensor(p.radii)
        seeds = torch.tensor(p.seeds, dtype=torch.float32)
        half = stimuli.angles(p.step, full=False)
        pos = torch.tensor(p.line_positions)
        lengths, n_len = torch.tensor(p.line_lengths), len(p.line_lengths)
        blocks = {
            # (polarity, radius, orientation)
            "curve": stimuli.curve(theta.repeat(2 * r), radii.repeat_interleave(a).repeat(2), span=p.span,
                                   width=p.width, contrast=pol.repeat_interleave(r * a), **kw),
            # (polarity, length, position, orientation mod 180)
            "line": stimuli.line(half.repeat(2 * n_len * len(pos)),
                                 position=pos.repeat_interleave(len(half)).repeat(2 * n_len),
                                 length=lengths.repeat_interleave(len(pos) * len(half)).repeat(2), width=p.width,
                                 contrast=pol.repeat_interleave(n_len * len(pos) * len(half)), **kw),
            "edge": stimuli.edge(theta, **kw),  # (orientation of the light side)
            "high_low": stimuli.high_low(theta.repeat(s), high=p.high, low=p.low,  # (seed, orientation)
                                         seed=seeds.repeat_interleave(a), **kw),
            "high": stimuli.texture(p.high, seed=seeds, **kw),  # (seed,)
            "low": stimuli.texture(p.low, seed=seeds + 7919, **kw),  # the coarse field high_low uses
            "blank": stimuli.uniform(torch.tensor([0.0, 0.5, 1.0]), size=self.size, device=self.device),
        }
        self.parts, start = {}, 0
        for name, block in blocks.items():
            self.parts[name] = slice(start, start + len(block))
            start += len(block)
        self.images = torch.cat(list(blocks.values()))

    def __len__(self) -> int:
        return len(self.images)

    def split(self, responses: torch.Tensor) -> dict[str, torch.Tensor]:
        """Responses (N, units) -> {kind: (units, *the kind's axes)} as the comments above lay them out."""
        p, a = self.probes, int(360 / self.probes.step)
        shapes = {"curve": (2, len(p.radii), a), "line": (2, len(p.line_lengths), len(p.line_positions), a // 2),
                  "edge": (a,),
                  "high_low": (len(p.seeds), a), "high": (len(p.seeds),), "low": (len(p.seeds),), "blank": (3,)}
        return {k: responses[s].T.reshape(responses.shape[1], *shapes[k]) for k, s in self.parts.items()}
