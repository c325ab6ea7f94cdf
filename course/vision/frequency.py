"""Spatial frequency: how units answer gratings, textures and high-low boundaries, and where they fire in a scene.

A unit is read at the middle of its layer's feature map, with every stimulus centred on that unit's receptive
field (`course.vision.probe.centre_of`), as the census does. Frequencies are in cycles per pixel (0.5 is the
finest a pixel grid holds), orientations in degrees counter-clockwise from +x with y pointing down, and a
boundary's orientation points into its fine (high-frequency) side, as in `course.vision.stimuli`.

    grating_sweep(model, layer)        responses to gratings over frequency x orientation x phase: (C, F, A, P)
    texture_sweep(model, layer)        responses to uniform isotropic textures over frequency x seed: (C, F, S)
    frequency_tuning(responses)        (C, F): mean over phase (phase-blind), then the best orientation
    preferred_frequency(curve, freqs)  (C,): geometric centroid of the frequencies above half the peak
    boundary_sweep(model, layer)       fine|coarse boundaries over orientation x frequency ratio x seed: (C, A, R, S)
    classify_layer(model, layer)       "high-low" (the census's test), "texture" or "neither" for every unit
    response_map(model, layer, unit, image)   the unit at every position of an image: its feature map, or with
                                       `fine=True` swept pixel by pixel, upsampled to the image's size
    texture_edges(scenes, indices)     where fine texture meets the blurry background, and which way it lies
    side_ratio(maps, edges, orientation)   response where the texture lies a unit's way / the opposite way

The definitions follow Schubert et al., "High-Low Frequency Detectors" (Distill 2021), whose tuning curves
vary a boundary's orientation and the ratio of its two frequencies. Lesson 03 builds most of these itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from course.vision import stimuli
from course.vision.census import MIN_RESPONSE, high_low_tests
from course.vision.probe import Probes, StimulusSet, activations, centre_of


def _logspace(lo: float, hi: float, n: int) -> tuple[float, ...]:
    return tuple(round(float(v), 4) for v in torch.logspace(math.log10(lo), math.log10(hi), n))


@dataclass(frozen=True)
class SweepConfig:
    size: int = 64  # stimuli are size x size pixels (scenenet's census size)
    frequencies: tuple[float, ...] = field(default_factory=lambda: _logspace(0.02, 0.5, 12))  # cycles per pixel
    orientations: tuple[float, ...] = tuple(float(a) for a in range(0, 180, 15))  # gratings repeat after 180
    phases: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)  # degrees
    seeds: tuple[int, ...] = tuple(range(1, 9))  # textures and boundaries are averaged over these
    boundary_orientations: tuple[float, ...] = tuple(float(a) for a in range(0, 360, 15))  # the full circle
    high: float = 0.25  # a boundary's fine side, cycles per pixel (the census's)
    ratios: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)  # high / low frequency (1: no boundary at all)
    batch: int = 256


@dataclass
class Sweep:
    """Responses of every unit of `layer` (at the middle of its map) to a grid of stimuli; `axes` name the grid."""

    layer: str
    responses: torch.Tensor  # (C, *axis lengths)
    axes: dict[str, torch.Tensor]  # axis name -> its values, in order

    def __repr__(self) -> str:
        dims = " x ".join(f"{k} {len(v)}" for k, v in self.axes.items())
        return f"Sweep({self.layer}: {self.responses.shape[0]} units x {dims})"

    def unit(self, u: int) -> torch.Tensor:
        return self.responses[u]


def layer_output(model: nn.Module, layer: str, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(N, C, h, w): `layer`'s activations. A SceneNet runs only up to that layer (the layers above cost most of
    the time and change nothing); any other model runs whole, read by a hook."""
    from course.vision.models import SceneNet

    if not isinstance(model, SceneNet):
        return activations(model, images, [layer], batch)[layer]
    layers = model.layers[:model.layers.index(layer) + 1]
    outs = []
    with torch.no_grad():
        for chunk in images.split(batch):
            h = (chunk - model.mean) / model.std
            for name in layers:
                h = getattr(model, name)(h)
            outs.append(h)
    return torch.cat(outs)


def respond(model: nn.Module, layer: str, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(N, C): every unit of `layer` at the middle of its feature map, for images (N, 3, H, W)."""
    act = layer_output(model, layer, images, batch)
    h, w = act.shape[-2:]
    return act[:, :, h // 2, w // 2].float().cpu()


def _device(model: nn.Module):
    return next(model.parameters()).device


def grating_sweep(model: nn.Module, layer: str, config: SweepConfig | None = None) -> Sweep:
    """Gratings over frequency x orientation x phase, centred on the layer's middle unit -> (C, F, A, P)."""
    c = config or SweepConfig()
    f, a, p = (torch.tensor(v, dtype=torch.float32) for v in (c.frequencies, c.orientations, c.phases))
    grid = torch.cartesian_prod(f, a, p)  # (F*A*P, 3), phase fastest
    centre = centre_of(model, layer, (c.size, c.size))
    images = stimuli.grating(grid[:, 0], grid[:, 1], phase=grid[:, 2], size=c.size, centre=centre,
                             device=_device(model))
    r = respond(model, layer, images, c.batch)  # (N, C)
    return Sweep(layer, r.T.reshape(-1, len(f), len(a), len(p)), {"frequency": f, "orientation": a, "phase": p})


def texture_sweep(model: nn.Module, layer: str, config: SweepConfig | None = None) -> Sweep:
    """Uniform isotropic textures over frequency x seed -> (C, F, S)."""
    c = config or SweepConfig()
    f, s = torch.tensor(c.frequencies), torch.tensor(c.seeds, dtype=torch.float32)
    centre = centre_of(model, layer, (c.size, c.size))
    images = stimuli.texture(f.repeat_interleave(len(s)), seed=s.repeat(len(f)), size=c.size, centre=centre,
                             device=_device(model))
    r = respond(model, layer, images, c.batch)
    return Sweep(layer, r.T.reshape(-1, len(f), len(s)), {"frequency": f, "seed": s})


def frequency_tuning(responses: torch.Tensor) -> torch.Tensor:
    """Grating responses (C, F, A, P) -> frequency tuning curves (C, F).

    Averaging over phase first makes the curve blind to where the stripes fall (a "complex cell"); then the
    best orientation at each frequency. (Max over phase would reward a single lucky alignment.)
    """
    return responses.mean(dim=3).amax(dim=2)


def preferred_frequency(curve: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
    """(C, F) tuning curves and the F frequencies -> (C,) preferred frequencies.

    The geometric centroid of the frequencies weighted by how far the response rises above half its peak:
    exp(sum w log f / sum w), w = max(r - peak / 2, 0). Log, because frequency tuning is judged in octaves; the
    half-peak floor keeps a broad low plateau from dragging the centroid. NaN for a unit that never responds.
    """
    peak = curve.amax(dim=1, keepdim=True)
    w = (curve - peak / 2).clamp(min=0)
    centroid = (w * frequencies.log()).sum(dim=1) / w.sum(dim=1)
    return torch.where(peak[:, 0] > 0, centroid.exp(), torch.full_like(centroid, float("nan")))


def boundary_sweep(model: nn.Module, layer: str, config: SweepConfig | None = None) -> Sweep:
    """Fine|coarse boundaries over orientation x ratio x seed -> (C, A, R, S).

    The fine side has `config.high` cycles per pixel, the coarse side high / ratio; orientation points into the
    fine side, so orientation + 180 is the same boundary with the sides swapped ("which side is high").
    """
    c = config or SweepConfig()
    a, r, s = (torch.tensor(v, dtype=torch.float32) for v in (c.boundary_orientations, c.ratios, c.seeds))
    grid = torch.cartesian_prod(a, r, s)
    centre = centre_of(model, layer, (c.size, c.size))
    images = stimuli.high_low(grid[:, 0], high=c.high, low=c.high / grid[:, 1], seed=grid[:, 2], size=c.size,
                              centre=centre, device=_device(model))
    resp = respond(model, layer, images, c.batch)
    return Sweep(layer, resp.T.reshape(-1, len(a), len(r), len(s)), {"orientation": a, "ratio": r, "seed": s})


def boundary_response(model: nn.Module, layer: str, orientation: float, ratio: float, contrast: float = 1.0,
                      high: float = 0.25, seeds=(1, 2, 3, 4), size: int = 64) -> torch.Tensor:
    """(C,) mean response over seeds to one boundary (what the app's explorer shows live)."""
    centre = centre_of(model, layer, (size, size))
    s = torch.tensor(seeds, dtype=torch.float32)
    images = stimuli.high_low(orientation, high=high, low=high / ratio, seed=s, size=size, contrast=contrast,
                              centre=centre, device=_device(model))
    return respond(model, layer, images).mean(0)


def texture_test(fine: torch.Tensor, coarse: torch.Tensor, blank: torch.Tensor, floor: float = 0.0,
                 ratio: float = 2.0) -> torch.Tensor:
    """(U,) bool: a *texture unit* answers uniform texture of one frequency `ratio` x more than the other
    frequency and than a blank grey image (and at least `floor`). fine, coarse (U, S) over seeds; blank (U,)."""
    f, c = fine.mean(dim=1), coarse.mean(dim=1)
    best, other = torch.maximum(f, c), torch.minimum(f, c)
    return (best >= ratio * other) & (best >= ratio * blank) & (best >= floor) & (best > 0)


def classify_layer(model: nn.Module, layer: str, probes: Probes | None = None, size: tuple[int, int] = (64, 64)
                   ) -> dict:
    """Every unit of `layer` as "high-low", "texture" or "neither", on the census's own stimuli.

    High-low is the census's test (`course.vision.census.high_low_tests`: the seed-averaged boundary tuning
    peaks 2x above uniform fine, uniform coarse and the boundary turned 180 degrees); a unit that fails it is a
    texture unit if `texture_test` passes. Both use the census's floor, 5% of the layer's largest response to
    any census stimulus. Returns {"kinds": [...], "high_low": census records, "responses": {kind: (C, ...)}}.
    """
    probes = probes or Probes()
    stim = StimulusSet(probes, size, centre_of(model, layer, size), _device(model))
    resp = respond(model, layer, stim.images)  # (N, C)
    r = stim.split(resp)
    floor = max(MIN_RESPONSE * float(resp.max()), 1e-6)
    records = {u: d for u in range(resp.shape[1]) if (d := high_low_tests(r, u, probes, floor))}
    texture = texture_test(r["high"], r["low"], r["blank"][:, 1], floor).tolist()
    kinds = ["high-low" if u in records else "texture" if texture[u] else "neither" for u in range(resp.shape[1])]
    return {"kinds": kinds, "high_low": list(records.values()), "responses": r, "floor": floor}


def response_map(model: nn.Module, layer: str, unit: int, image: torch.Tensor, fine: bool = False) -> torch.Tensor:
    """Where `layer:unit` fires in `image` (3, H, W): (H, W), each pixel the response of the unit looking there.

    Coarse (default): the unit's feature map (h, w), each value repeated over its stride x stride cell (the
    map's unit (i, j) looks at the middle of that cell). Fine: the image is shifted under the network one pixel
    at a time (stride^2 runs, edges repeated), so every pixel gets a unit centred on it to within half a pixel.
    """
    x = image[None] if image.dim() == 3 else image
    H, W = x.shape[-2:]
    act = layer_output(model, layer, x)[0, unit]  # (h, w)
    sy, sx = H // act.shape[0], W // act.shape[1]
    if not fine or (sy == 1 and sx == 1):
        return act.repeat_interleave(sy, 0).repeat_interleave(sx, 1)[:H, :W].float().cpu()
    cx, cy = centre_of(model, layer, (H, W))  # centre of the middle unit, in pixels (x, y)
    cx0, cy0 = cx - sx * (act.shape[1] // 2), cy - sy * (act.shape[0] // 2)  # unit (0, 0)'s centre (x, y)
    pad = max(sy, sx) + int(max(cx0, cy0)) + 1
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    shifted, where = [], []
    for dy in range(sy):
        for dx in range(sx):
            # unit i looks at s*i + c0 + shift; put that on pixel s*i + dy (its centre, dy + 0.5, rounded)
            oy, ox = math.floor(dy + 1 - cy0), math.floor(dx + 1 - cx0)
            shifted.append(padded[..., pad + oy:pad + oy + H, pad + ox:pad + ox + W])
            where.append((dy, dx))
    acts = layer_output(model, layer, torch.cat(shifted))[:, unit]  # (sy*sx, h, w)
    out = torch.zeros(act.shape[0] * sy, act.shape[1] * sx)
    for (dy, dx), a in zip(where, acts.float().cpu()):
        out[dy::sy, dx::sx] = a
    return out[:H, :W]


# ------------------------------------------------------------------------------------------ in scenes


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (N, H, W) with edges repeated."""
    r = int(math.ceil(3 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1.0) ** 2 / (2 * sigma**2))
    k = (k / k.sum()).to(x)
    y = F.pad(x[:, None], (r, r, r, r), mode="replicate")
    return F.conv2d(F.conv2d(y, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))[:, 0]


@dataclass
class TextureEdges:
    """Where fine texture meets the blurry background in some scenes, and which way the texture lies."""

    band: torch.Tensor  # (N, S, S) bool: within `width` px of both a textured and a background pixel
    direction: torch.Tensor  # (N, S, S) degrees: the way into the texture (the high side), our orientation convention

    def __repr__(self) -> str:
        return f"TextureEdges({self.band.shape[0]} scenes, {self.band.float().mean():.1%} of pixels on an edge)"


def texture_edges(scenes, indices, width: int = 3, sigma: float = 3.0) -> TextureEdges:
    """The texture/background boundaries of scenes `indices` (`course.vision.scenes.regions`), with the direction
    from the background into the texture at each boundary pixel (the gradient of the blurred texture mask)."""
    from course.vision.scenes import regions

    r = regions(scenes, indices)  # 0 background, 1 texture, 2 outline
    tex, bg = (r == 1).float(), (r == 0).float()
    near = lambda m: F.max_pool2d(m[:, None], 2 * width + 1, 1, width)[:, 0] > 0  # noqa: E731
    smooth = _blur(tex, sigma)
    gy, gx = torch.gradient(smooth, dim=(1, 2))
    band = near(tex) & near(bg) & ((gx * gx + gy * gy).sqrt() > 0.02)
    return TextureEdges(band, torch.rad2deg(torch.atan2(-gy, gx)) % 360)


def side_ratio(maps: torch.Tensor, edges: TextureEdges, orientation: float, within: float = 45.0) -> float:
    """A unit's mean response on texture edges whose texture lies its preferred way (within `within` degrees of
    `orientation`) over its mean response where the texture lies the opposite way. maps: (N, S, S)."""
    off = ((edges.direction - orientation + 180) % 360 - 180).abs()
    aligned = maps[edges.band & (off < within)].mean()
    opposite = maps[edges.band & (off > 180 - within)].mean()
    return float(aligned / opposite.clamp_min(1e-9))


def layer_maps(model: nn.Module, layer: str, images: torch.Tensor) -> torch.Tensor:
    """Every unit's coarse response map over images (N, 3, H, W): (N, C, H, W), each map value over its cell."""
    act = layer_output(model, layer, images)
    sy, sx = images.shape[-2] // act.shape[-2], images.shape[-1] // act.shape[-1]
    return act.repeat_interleave(sy, 2).repeat_interleave(sx, 3).float().cpu()
