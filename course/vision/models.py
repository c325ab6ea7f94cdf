"""Small CNNs for the vision lessons: five conv layers named conv1..conv5, so lucent reads them as "conv3:17".

`SceneNet` takes RGB images in [0, 1] of any size (N, 3, H, W), normalises them itself, and returns a class
score per 8 x 8 cell, (N, classes, H/8, W/8): what the scenes of `course.vision.scenes` label. Receptive fields
(pixels): conv1 4, conv2 10, conv3 22, conv4 38, conv5 54; conv3..conv5 work at stride 8. Each `convN`
module is a convolution followed by a ReLU, so a hook on `convN` (lucent's objective "convN:unit", the
census's layer "convN") sees the unit's non-negative activation. Written for this course.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    channels: tuple[int, ...] = (16, 32, 64, 128, 128)  # conv1..conv5 output channels
    kernels: tuple[int, ...] = (4, 4, 4, 3, 3)  # square kernels; even ones on the strided layers, so that unit i
    # of a stride-s map is centred on the point s * i + s / 2, the middle of its cell (where the labels are)
    strides: tuple[int, ...] = (2, 2, 2, 1, 1)  # product = the output cell size (8): conv3..conv5 work at 8 x 8
    classes: int = 5  # scores per cell: background, disc, ellipse, triangle, square
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # input normalisation, inside the model
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "NetConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class ConvReLU(nn.Sequential):
    """Conv2d padded by (k - 1) // 2 (a stride-s layer maps H to H / s), then ReLU. `.conv.weight`: (out, in, k, k)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2)
        self.relu = nn.ReLU()


class SceneNet(nn.Module):
    """conv1..conv5 (ConvReLU) and a 1x1 `head`: (N, 3, H, W) in [0, 1] -> (N, classes, H/8, W/8) scores."""

    def __init__(self, config: NetConfig | None = None):
        super().__init__()
        self.config = c = config or NetConfig()
        self.register_buffer("mean", torch.tensor(c.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(c.std).view(1, 3, 1, 1))
        cin = 3
        for i, (cout, k, s) in enumerate(zip(c.channels, c.kernels, c.strides), 1):
            self.add_module(f"conv{i}", ConvReLU(cin, cout, k, s))
            cin = cout
        self.head = nn.Conv2d(cin, c.classes, 1)

    @property
    def layers(self) -> list[str]:
        """The conv layers' names, first to last (names in `named_modules()`)."""
        return [f"conv{i}" for i in range(1, len(self.config.channels) + 1)]

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every conv layer's activation, {"conv1": (N, C1, H/2, W/2), ...}."""
        out = {}
        h = (x - self.mean) / self.std
        for name in self.layers:
            h = getattr(self, name)(h)
            out[name] = h
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = (x - self.mean) / self.std  # (N, 3, H, W)
        for name in self.layers:
            h = getattr(self, name)(h)
        return self.head(h)  # (N, classes, H/8, W/8)

    def __repr__(self) -> str:
        c = self.config
        convs = ", ".join(f"{n} {k}x{k}/{s}->{ch}"
                          for n, ch, k, s in zip(self.layers, c.channels, c.kernels, c.strides))
        params = sum(p.numel() for p in self.parameters())
        return f"SceneNet({convs}; head->{c.classes} per cell; {params / 1e3:.0f}k params)"
