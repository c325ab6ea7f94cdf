"""Dataset examples: the scenes, and the patches of them, that most excite a unit (Olah et al., "Feature
Visualization", Distill 2017, shows them beside optimised images).

Scenes are a pure function of their index, so an example is just (scene index, map row, map column, activation):
`top_examples` scans scenes `start .. start + n` in batches and keeps the `k` best; `patch` cuts the unit's
receptive field out of the scene again for display.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course.vision.probe import hooked
from course.vision.scenes import Scenes


@dataclass(frozen=True)
class Example:
    index: int  # scene index
    row: int  # position in the layer's feature map
    col: int
    activation: float

    def __repr__(self) -> str:
        return f"Example(scene {self.index}, at ({self.row}, {self.col}), {self.activation:.3g})"


def top_examples(model: nn.Module, layer: str, unit: int, scenes: Scenes, n: int = 2048, k: int = 9,
                 start: int = 10_000_000, batch: int = 256) -> list[Example]:
    """The `k` (scene, position) pairs of scenes `start .. start + n` where `layer:unit` fires most (one a scene)."""
    device = next(model.parameters()).device
    best: list[Example] = []
    with hooked(model, [layer]) as store, torch.no_grad():
        for first in range(start, start + n, batch):
            idx = range(first, min(start + n, first + batch))
            x, _ = scenes.batch(idx, device)
            model(x)
            act = store[layer][:, unit]  # (B, h, w)
            top, where = act.flatten(1).max(1)  # the best position in each scene
            w = act.shape[-1]
            best += [Example(i, p // w, p % w, a) for i, a, p in zip(idx, top.tolist(), where.tolist())]
            best = sorted(best, key=lambda e: -e.activation)[:k]
    return best


def patch(scenes: Scenes, example: Example, stride: int, size: int) -> torch.Tensor:
    """The `size` x `size` crop (3, size, size) of the example's scene centred on its unit (a layer of `stride`)."""
    image = scenes[example.index][0]
    centre_y, centre_x = example.row * stride + stride // 2, example.col * stride + stride // 2
    padded = torch.nn.functional.pad(image, (size, size, size, size), value=0.5)
    top, left = centre_y - size // 2 + size, centre_x - size // 2 + size
    return padded[:, top:top + size, left:left + size]
