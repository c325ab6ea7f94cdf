"""Procedural "dead leaves" scenes: textured, occluding shapes on a blurry background, with a label per cell.

A scene is a soft, low-frequency background (out of focus, as behind a photographed object) with a few shapes
dropped on it one over another, each shape a disc, ellipse, triangle or square at a random place, size, angle
and colour, filled with a fine random texture (in focus) or, sometimes, only outlined. The label says, for
every `stride` x `stride` cell, what covers the cell's centre: background or which kind of shape (the one on
top). To get it right a network must tell round outlines from straight ones, wherever a shape's outline is
visible and at any angle (curve detectors), and tell the sharp, fine-textured shapes from the blurry background
even where their colours match (high-low frequency detectors).

Scene `i` is a pure function of (`config`, `i`), made on the fly: the same index always gives the same image
on any device and in any batch, so a lesson can show the dataset examples that most excite a unit. Dead
leaves: Matheron (1968); Lee, Mumford and Huang, "Occlusion models for natural images" (IJCV 2001).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

CLASSES = ("background", "disc", "ellipse", "triangle", "square")
SIDES = {"disc": 0, "ellipse": 0, "triangle": 3, "square": 4}  # 0: round


@dataclass(frozen=True)
class SceneConfig:
    size: int = 64  # images are size x size pixels
    stride: int = 8  # one label per stride x stride cell (the size must be a multiple)
    shapes: tuple[int, int] = (2, 5)  # how many shapes a scene has (inclusive range)
    radius: tuple[float, float] = (7.0, 17.0)  # a shape's size: the radius of a disc of the same area, pixels
    aspect: tuple[float, float] = (0.45, 0.7)  # an ellipse's minor / major axis
    fine: tuple[float, float] = (0.15, 0.35)  # frequency of the shapes' textures, cycles per pixel
    coarse: tuple[float, float] = (0.015, 0.05)  # frequency of the background's blotches, cycles per pixel
    outline: float = 0.5  # chance that a shape is only outlined (a 1.5-3 pixel stroke, no fill)
    seed: int = 0  # scene i is drawn from a generator seeded with (seed, i)

    @property
    def classes(self) -> tuple[str, ...]:
        return CLASSES


class Scenes:
    """An endless, indexable data set of scenes: `scenes[i] -> (image (3, S, S), labels (S/stride, S/stride))`.

    `scenes.batch(indices, device)` makes many at once (what training uses); `len(scenes)` is `length`, only
    so that loaders and "dataset examples" have a fixed range to walk.
    """

    def __init__(self, config: SceneConfig | None = None, length: int = 100_000):
        self.config = config or SceneConfig()
        if self.config.size % self.config.stride:
            raise ValueError(f"size {self.config.size} is not a multiple of stride {self.config.stride}")
        self.length = length

    def __repr__(self) -> str:
        c = self.config
        return (f"Scenes({c.size}x{c.size}, {c.shapes[0]}-{c.shapes[1]} shapes of {', '.join(CLASSES[1:])}, "
                f"labels every {c.stride} px, seed {c.seed}, length {self.length})")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.batch([int(i)])
        return images[0], labels[0]

    # --------------------------------------------------------------------------------------------- drawing

    def _draw(self, index: int) -> dict[str, torch.Tensor]:
        """All of scene `index`'s random numbers, from its own generator (so batches don't matter)."""
        c = self.config
        g = torch.Generator().manual_seed(c.seed * 1_000_003 + index)
        k = c.shapes[1]
        u = torch.rand(k, 12, generator=g)  # per shape: 12 uniform numbers, used below
        lo, hi = c.radius
        shape_kind = (u[:, 0] * (len(CLASSES) - 1)).long() + 1  # 1..4
        present = torch.arange(k) < int(c.shapes[0] + (u[0, 11] * (c.shapes[1] - c.shapes[0] + 1)).floor())
        return {
            "kind": torch.where(present, shape_kind, torch.zeros_like(shape_kind)),
            "x": u[:, 1] * (c.size + 8) - 4, "y": u[:, 2] * (c.size + 8) - 4,
            "radius": lo * (hi / lo) ** u[:, 3],  # log-uniform
            "angle": u[:, 4] * 2 * math.pi,
            "aspect": c.aspect[0] + (c.aspect[1] - c.aspect[0]) * u[:, 5],
            "freq": c.fine[0] + (c.fine[1] - c.fine[0]) * u[:, 6],
            "outline": u[:, 7] < c.outline,
            "width": 1.5 + 1.5 * u[:, 8],
            "texture_contrast": 0.4 + 0.6 * u[:, 9],
            "colours": torch.rand(k + 1, 2, 3, generator=g),  # two colours per shape, and the background's
            "bg_freq": c.coarse[0] + (c.coarse[1] - c.coarse[0]) * torch.rand(1, generator=g),
            "noise": torch.randn(k + 1, c.size, c.size, generator=g),  # textures are band-passed white noise
        }

    def batch(self, indices, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Scenes `indices` -> images (N, 3, S, S) in [0, 1] and labels (N, S/stride, S/stride) (int64)."""
        c = self.config
        draws = [self._draw(int(i)) for i in indices]
        p = {key: torch.stack([d[key] for d in draws]).to(device) for key in draws[0]}  # each (N, K, ...)
        n, k, s = len(draws), c.shapes[1], c.size

        # textures: white noise band-passed around each shape's frequency (the background's: low-passed)
        freq = torch.cat([p["freq"], p["bg_freq"]], 1)[..., None, None]  # (N, K+1, 1, 1)
        fy = torch.fft.fftfreq(s, device=device).view(s, 1)
        fx = torch.fft.rfftfreq(s, device=device).view(1, -1)
        f = torch.sqrt(fx * fx + fy * fy)  # (S, S//2+1)
        off = f - freq
        band = torch.exp(off * off * (-0.5 / (0.3 * freq) ** 2))  # a ring: relative bandwidth 0.3
        band[:, -1] = torch.exp(f * f * (-0.5 / freq[:, -1] ** 2))  # the background: blurry blotches
        field = torch.fft.irfft2(torch.fft.rfft2(p["noise"]) * band, s=(s, s))  # (N, K+1, S, S)
        field = field / field.flatten(2).std(-1).clamp_min(1e-6)[..., None, None]
        texture = (field / 5).clamp(-0.5, 0.5)  # (N, K+1, S, S) mostly in [-0.4, 0.4]

        # shapes: a signed distance per pixel (negative inside), then coverage with a one-pixel soft rim
        pixels = torch.arange(s, dtype=torch.float32, device=device) + 0.5
        sd = signed_distance(p, pixels, device)  # (N, K, S, S)
        fill = (0.5 - sd).clamp(0, 1)
        stroke = (p["width"][..., None, None] / 2 + 0.5 - sd.abs()).clamp(0, 1)
        alpha = torch.where(p["outline"][..., None, None], stroke, fill) * (p["kind"] > 0)[..., None, None]

        # dead leaves: shape j shows where it covers and no later shape does; the background where none does
        clear = 1 - alpha  # becomes clear[:, j] = prod over l >= j of (1 - alpha_l)
        for j in range(k - 2, -1, -1):
            clear[:, j] *= clear[:, j + 1]
        weight = torch.cat([alpha[:, :-1] * clear[:, 1:], alpha[:, -1:], clear[:, :1]], 1).flatten(2)  # (N, K+1, S*S)
        a, b = p["colours"][:, :, 0], p["colours"][:, :, 1]  # (N, K+1, 3): each texture runs between two colours
        contrast = torch.cat([p["texture_contrast"], torch.ones(n, 1, device=device)], 1)[..., None]
        image = (torch.bmm(((a + b) / 2).transpose(1, 2), weight)
                 + torch.bmm((contrast * (a - b)).transpose(1, 2), weight * texture.flatten(2)))
        image = image.view(n, 3, s, s)
        # the label of a cell: the kind of the top shape whose inside holds the cell's exact centre
        centres = torch.arange(c.stride / 2, s, c.stride, dtype=torch.float32, device=device)
        inside = (signed_distance(p, centres, device) < 0) & (p["kind"] > 0)[..., None, None]  # (N, K, S/st, S/st)
        top = torch.where(inside, torch.arange(1, k + 1, device=device).view(1, k, 1, 1), 0).amax(1)  # 0: none
        kinds = torch.cat([torch.zeros(n, 1, dtype=torch.long, device=device), p["kind"]], 1)
        labels = kinds.gather(1, top.flatten(1)).view_as(top)
        return image.clamp(0, 1), labels


def signed_distance(p: dict[str, torch.Tensor], coord: torch.Tensor, device=None) -> torch.Tensor:
    """(N, K, M, M): distance in pixels from each point of the grid `coord` x `coord` (M values, in pixels) to each
    shape's outline, negative inside (exact for discs and near polygon edges; ellipses and corners roughly)."""
    qx = coord.view(1, 1, 1, -1) - p["x"][..., None, None]
    qy = coord.view(1, 1, -1, 1) - p["y"][..., None, None]
    angle = p["angle"][..., None, None]
    rx = qx * torch.cos(angle) + qy * torch.sin(angle)  # in the shape's own frame
    ry = -qx * torch.sin(angle) + qy * torch.cos(angle)
    r = p["radius"][..., None, None]
    kind = p["kind"][..., None, None]
    dist = torch.sqrt(rx * rx + ry * ry)
    # an ellipse of the same area as a disc of radius r: semi-axes r/sqrt(aspect) and r*sqrt(aspect) (a disc: 1)
    q = torch.where(kind == 1, 1.0, p["aspect"][..., None, None]).sqrt()
    ex, ey = rx * q, ry / q
    ellipse = (torch.sqrt(ex * ex + ey * ey) - r) * q
    # a regular n-gon of the same area: circumradius R with n/2 R^2 sin(2pi/n) = pi r^2; apothem R cos(pi/n)
    sides = torch.where(kind == 3, 3.0, 4.0)
    circum = r * torch.sqrt(2 * math.pi / (sides * torch.sin(2 * math.pi / sides)))
    sector = 2 * math.pi / sides
    phi = torch.remainder(torch.atan2(ry, rx), sector) - sector / 2
    polygon = dist * torch.cos(phi) - circum * torch.cos(math.pi / sides)
    return torch.where(kind <= 2, ellipse, polygon)


REGIONS = ("background", "texture", "outline")  # what `regions` says each pixel shows


def regions(scenes: Scenes, indices, device=None) -> torch.Tensor:
    """(N, S, S) long: what each pixel of scenes `indices` mostly shows: 0 the blurry background, 1 a shape's
    fine texture (a filled shape), 2 an outlined shape's stroke. For lessons that ask where units fire."""
    c = scenes.config
    draws = [scenes._draw(int(i)) for i in indices]
    p = {key: torch.stack([d[key] for d in draws]).to(device) for key in ("kind", "x", "y", "radius", "angle",
                                                                          "aspect", "outline", "width")}
    pixels = torch.arange(c.size, dtype=torch.float32, device=device) + 0.5
    sd = signed_distance(p, pixels, device)  # (N, K, S, S)
    fill = (0.5 - sd).clamp(0, 1)
    stroke = (p["width"][..., None, None] / 2 + 0.5 - sd.abs()).clamp(0, 1)
    alpha = torch.where(p["outline"][..., None, None], stroke, fill) * (p["kind"] > 0)[..., None, None]
    clear = 1 - alpha  # as in Scenes.batch: shape j shows where no later shape covers it
    for j in range(alpha.shape[1] - 2, -1, -1):
        clear[:, j] *= clear[:, j + 1]
    shows = torch.cat([alpha[:, :-1] * clear[:, 1:], alpha[:, -1:]], 1)  # (N, K, S, S)
    texture = (shows * ~p["outline"][..., None, None]).sum(1)
    outline = (shows * p["outline"][..., None, None]).sum(1)
    background = clear[:, 0]
    return torch.stack([background, texture, outline], 1).argmax(1)
