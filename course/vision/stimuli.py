"""Parametric synthetic stimuli for probing vision units: lines, edges, curves, gratings, textures, boundaries.

Every function renders a whole batch at once: each parameter is a number or a 1-D tensor (all tensors
broadcast to one batch size N), and the result is an `(N, 3, H, W)` float tensor of RGB values in [0, 1] on the
requested device. Nothing is random except the textures, which are deterministic functions of their `seed`.

Conventions (the same as the census and the lessons):
    * pixel (row i, column j) has its centre at x = j + 0.5, y = i + 0.5; y points *down* the image;
    * an orientation is in degrees counter-clockwise from the +x axis as you look at the picture, i.e. the
      direction (cos t, -sin t) in (x, y-down) coordinates; 90 points straight up;
    * `centre` is the (x, y) point a stimulus is centred on (default: the image centre); the census moves it to
      the centre of a unit's receptive field;
    * `contrast` c in [-1, 1]: the figure is drawn at 0.5 + c/2 on a ground of 0.5 - c/2, so c = -1 is a black
      figure on white (as in the Distill circuits thread) and c = 1 a white one on black.

The designs follow the synthetic stimuli of Cammarata et al., "Curve Detectors" (Distill, 2020) and Schubert
et al., "High-Low Frequency Detectors" (Distill, 2021).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

Number = float | int | torch.Tensor
Size = int | Sequence[int]


def _batch(*values: Number, device=None) -> tuple[torch.Tensor, ...]:
    """Numbers and 1-D tensors -> float tensors of one shape (N,), on `device`."""
    ts = [torch.as_tensor(v, dtype=torch.float32, device=device).reshape(-1) for v in values]
    n = max(t.numel() for t in ts)
    if any(t.numel() not in (1, n) for t in ts):
        raise ValueError(f"stimulus parameters have batch sizes {[t.numel() for t in ts]}; use one size (or scalars)")
    return tuple(t.expand(n).contiguous() for t in ts)


def _hw(size: Size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def coords(size: Size, centre: Sequence[float] | None = None, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates relative to `centre`, as (x, y) of shape (1, H, W) with y pointing down."""
    h, w = _hw(size)
    cx, cy = (w / 2, h / 2) if centre is None else (float(centre[0]), float(centre[1]))
    y = torch.arange(h, dtype=torch.float32, device=device) + 0.5 - cy
    x = torch.arange(w, dtype=torch.float32, device=device) + 0.5 - cx
    return x.view(1, 1, w).expand(1, h, w), y.view(1, h, 1).expand(1, h, w)


def _direction(degrees: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit vector (ux, uy) of an orientation, in y-down coordinates, shaped (N, 1, 1) for broadcasting."""
    t = torch.deg2rad(degrees).view(-1, 1, 1)
    return torch.cos(t), -torch.sin(t)


def _paint(coverage: torch.Tensor, contrast: torch.Tensor) -> torch.Tensor:
    """Coverage (N, H, W) in [0, 1] -> RGB (N, 3, H, W): figure 0.5 + c/2 on ground 0.5 - c/2."""
    c = contrast.view(-1, 1, 1)
    grey = 0.5 - c / 2 + c * coverage
    return grey.unsqueeze(1).expand(-1, 3, -1, -1).clamp(0, 1).contiguous()


def _stroke(distance: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """Anti-aliased coverage of a stroke `width` pixels wide, from each pixel's distance to its centre line."""
    return (width.view(-1, 1, 1) / 2 + 0.5 - distance).clamp(0, 1)


def line(orientation: Number, *, size: Size = 64, position: Number = 0.0, width: Number = 2.0, length: Number = 0.0,
         contrast: Number = -1.0, centre=None, device=None) -> torch.Tensor:
    """A straight line in direction `orientation` through the centre (so 0 and 180 are the same line).

    Picture: a thin bar, e.g. black on white, right across the image, or a segment `length` pixels long (plus
    rounded ends) centred on the centre when `length` > 0 (0: endless); `position` shifts it sideways (pixels,
    along the direction 90 degrees counter-clockwise from `orientation`); `width` in pixels. -> (N, 3, H, W)
    """
    orientation, position, width, length, contrast = _batch(orientation, position, width, length, contrast,
                                                            device=device)
    x, y = coords(size, centre, device)
    ux, uy = _direction(orientation)
    nx, ny = _direction(orientation + 90)  # the line's normal
    across = x * nx + y * ny - position.view(-1, 1, 1)
    along = x * ux + y * uy
    half = torch.where(length > 0, length / 2, torch.inf).view(-1, 1, 1)
    beyond = (along.abs() - half).clamp_min(0)  # past an end of a segment
    distance = torch.sqrt(across * across + beyond * beyond)
    return _paint(_stroke(distance, width), contrast)


def edge(orientation: Number, *, size: Size = 64, position: Number = 0.0, contrast: Number = 1.0,
         softness: Number = 1.0, centre=None, device=None) -> torch.Tensor:
    """A straight step edge through the centre; `orientation` points from the dark half into the light half.

    Picture: the image split in two by a straight border, one side light and one dark (contrast=1: the side
    that `orientation` points to is white); `position` moves the border along `orientation`; `softness` is the
    width of the ramp in pixels (1 = anti-aliased). -> (N, 3, H, W)
    """
    orientation, position, contrast, softness = _batch(orientation, position, contrast, softness, device=device)
    x, y = coords(size, centre, device)
    ux, uy = _direction(orientation)
    signed = x * ux + y * uy - position.view(-1, 1, 1)
    coverage = (signed / softness.view(-1, 1, 1) + 0.5).clamp(0, 1)
    return _paint(coverage, contrast)


def curve(orientation: Number, radius: Number, *, size: Size = 64, span: Number = 120.0, width: Number = 2.0,
          contrast: Number = -1.0, centre=None, device=None) -> torch.Tensor:
    """An arc of a circle whose midpoint sits on the centre and whose convex side faces `orientation`.

    Picture: a bent stroke like a bracket; at orientation 90 it bulges upwards like the top of a rainbow ("∩"),
    at 0 it bulges to the right (")"). `radius` in pixels (small = tightly bent), `span` the arc's angle in
    degrees (360 would be a whole circle), `width` the stroke's width in pixels. -> (N, 3, H, W)
    """
    orientation, radius, span, width, contrast = _batch(orientation, radius, span, width, contrast, device=device)
    x, y = coords(size, centre, device)
    ux, uy = _direction(orientation)
    r = radius.view(-1, 1, 1)
    qx, qy = x + r * ux, y + r * uy  # relative to the circle's centre, which lies `radius` behind the midpoint
    # angle of each pixel around the circle's centre, measured from the arc's midpoint direction
    along = torch.atan2(qx * uy - qy * ux, qx * ux + qy * uy).abs()  # (N, H, W), 0..pi
    half = torch.deg2rad(span).view(-1, 1, 1) / 2
    on_arc = (torch.sqrt(qx**2 + qy**2) - r).abs()
    # beyond the ends: distance to the nearer end point
    ex, ey = r * torch.cos(half), r * torch.sin(half)  # the end point in the (midpoint, sideways) frame
    a, b = qx * ux + qy * uy, (qx * uy - qy * ux).abs()
    to_end = torch.sqrt((a - ex) ** 2 + (b - ey) ** 2)
    distance = torch.where(along <= half, on_arc, to_end)
    return _paint(_stroke(distance, width), contrast)


def grating(frequency: Number, orientation: Number, *, size: Size = 64, phase: Number = 0.0, contrast: Number = 1.0,
            centre=None, device=None) -> torch.Tensor:
    """A sinusoidal grating: stripes whose brightness varies along `orientation` (the stripes run across it).

    Picture: zebra stripes with soft edges; `frequency` in cycles per pixel (0.25 = a period of 4 pixels),
    `phase` in degrees (0 = a bright stripe through the centre), `contrast` the peak-to-peak amplitude. -> (N, 3, H, W)
    """
    frequency, orientation, phase, contrast = _batch(frequency, orientation, phase, contrast, device=device)
    x, y = coords(size, centre, device)
    ux, uy = _direction(orientation)
    arg = 2 * math.pi * frequency.view(-1, 1, 1) * (x * ux + y * uy) + torch.deg2rad(phase).view(-1, 1, 1)
    grey = 0.5 + contrast.view(-1, 1, 1) / 2 * torch.cos(arg)
    return grey.unsqueeze(1).expand(-1, 3, -1, -1).clamp(0, 1).contiguous()


def texture_field(frequency: Number, seed: Number, *, size: Size = 64, waves: int = 24, centre=None,
                  device=None) -> torch.Tensor:
    """Isotropic band-limited noise in [-1, 1] (N, H, W): `waves` sinusoids at about `frequency` in random directions.

    Deterministic: a function of (`seed`, `waves`) only, so the same seed gives the same pattern at any
    frequency, size or device. Directions, phases and a +-15% spread of frequency come from the seed.
    """
    frequency, seed = _batch(frequency, seed, device=device)
    pairs, inverse = torch.unique(torch.stack([frequency, seed], 1), dim=0, return_inverse=True)
    if len(pairs) < len(frequency):  # render each distinct texture once (the census asks for each 24 times)
        return texture_field(pairs[:, 0], pairs[:, 1], size=size, waves=waves, centre=centre, device=device)[inverse]
    n = frequency.numel()
    params = torch.stack([torch.rand(3, waves, generator=torch.Generator().manual_seed(int(s)))
                          for s in seed.tolist()]).to(device)  # (N, 3, waves)
    theta = params[:, 0] * 2 * math.pi
    f = frequency.view(-1, 1) * (0.85 + 0.3 * params[:, 1])
    phase = params[:, 2] * 2 * math.pi
    x, y = coords(size, centre, device)  # (1, H, W)
    kx, ky = (f * torch.cos(theta)).view(n, waves, 1, 1), (f * torch.sin(theta)).view(n, waves, 1, 1)
    field = torch.cos(2 * math.pi * (kx * x.unsqueeze(0) + ky * y.unsqueeze(0)) + phase.view(n, waves, 1, 1)).sum(1)
    return (field / math.sqrt(waves / 2) / 2.5).clamp(-1, 1)  # unit variance / 2.5: rarely clipped


def texture(frequency: Number, *, seed: Number = 0, size: Size = 64, contrast: Number = 1.0, centre=None,
            device=None) -> torch.Tensor:
    """A uniform random texture whose detail has about `frequency` cycles per pixel.

    Picture: grey "noise" without direction, fine-grained (0.25: speckles about 2 pixels across) or coarse
    (0.04: blotches about 12 pixels across); the same `seed` gives the same pattern. -> (N, 3, H, W)
    """
    frequency, seed, contrast = _batch(frequency, seed, contrast, device=device)
    field = texture_field(frequency, seed, size=size, centre=centre, device=device)
    grey = 0.5 + contrast.view(-1, 1, 1) / 2 * field
    return grey.unsqueeze(1).expand(-1, 3, -1, -1).clamp(0, 1).contiguous()


def high_low(orientation: Number, *, high: Number = 0.25, low: Number = 0.04, seed: Number = 0, size: Size = 64,
             position: Number = 0.0, contrast: Number = 1.0, centre=None, device=None) -> torch.Tensor:
    """A straight boundary between fine texture and coarse texture; `orientation` points into the fine side.

    Picture: half the image covered in fine speckles (`high` cycles per pixel), the other half in soft blotches
    (`low` cycles per pixel), meeting along a straight line through the centre (moved by `position` pixels
    along `orientation`). Turning it by 180 degrees swaps the sides. -> (N, 3, H, W)
    """
    orientation, high, low, seed, position, contrast = _batch(orientation, high, low, seed, position, contrast,
                                                              device=device)
    x, y = coords(size, centre, device)
    ux, uy = _direction(orientation)
    side = (x * ux + y * uy - position.view(-1, 1, 1) + 0.5).clamp(0, 1)  # 1 on the fine side
    fine = texture_field(high, seed, size=size, centre=centre, device=device)
    coarse = texture_field(low, seed + 7919, size=size, centre=centre, device=device)
    grey = 0.5 + contrast.view(-1, 1, 1) / 2 * (side * fine + (1 - side) * coarse)
    return grey.unsqueeze(1).expand(-1, 3, -1, -1).clamp(0, 1).contiguous()


def uniform(value: Number = 0.5, *, size: Size = 64, device=None) -> torch.Tensor:
    """A blank image of one grey level (a baseline response). -> (N, 3, H, W)"""
    (value,) = _batch(value, device=device)
    h, w = _hw(size)
    return value.view(-1, 1, 1, 1).expand(-1, 3, h, w).clamp(0, 1).contiguous()


def angles(step: float = 15.0, full: bool = True) -> torch.Tensor:
    """Orientations 0, step, ... below 360 (or below 180 when `full` is False), in degrees."""
    return torch.arange(0.0, 360.0 if full else 180.0, step)
