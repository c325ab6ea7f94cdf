"""A unit whose feature visualisation shows a decoy while the network computes exactly what it did.

After Geirhos, Zimmermann, Bilodeau, Brendel and Kim, "Don't trust your eyes: on the (un)reliability of feature
visualizations" (ICML 2024), in the simplest form that is exact on every input:

    fooled = fool(model, unit=93, decoy=12)   # conv4:93 is now visualised as conv3:12's pattern
    report = check(model, fooled, 93, 12)     # outputs unchanged on scenes? what the new picture excites

`fool` widens conv4 by one unit, makes it an exact copy of `unit`, lets conv5 read the copy instead, and gives
`unit` a strong input from conv3 unit `decoy`. The class scores are unchanged on every input (up to float
rounding from the reordered sums); "conv4:unit" now fires for the decoy's pattern and its visualisation shows it.

Geirhos et al. go further and keep the unit's own responses to natural images too, with a classifier unit that
routes gradients (their fooling circuit); their edit moved ImageNet top-1 accuracy a little (69.146% to
68.744%), so it is not exact. Why an exact version is hard on the shipped `scenenet`: a gate must be open at
the grey image the optimisation starts from, yet some natural scenes have windows nearly as grey, and Adam's
first step already moves the image further from grey than they are; a gate that opens only beyond a unit's
natural range never opens, as nothing drives the image there. This module is lesson 01's answer; the lesson
blocks it while grading.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course.vision.surgery import widen


def fool(model: nn.Module, unit: int, decoy: int, gain: float = 10.0) -> nn.Module:
    """A copy of SceneNet `model` whose conv4 `unit` is driven by conv3 `decoy` (see the module docstring)."""
    wide = widen(model, (0, 0, 0, 1, 0))
    n = model.conv4.conv.weight.shape[0]
    with torch.no_grad():
        wide.conv4.conv.weight[n] = model.conv4.conv.weight[unit]  # the real unit, moved out of sight
        wide.conv4.conv.bias[n] = model.conv4.conv.bias[unit]
        wide.conv5.conv.weight[:, n] = model.conv5.conv.weight[:, unit]  # conv5 reads the copy ...
        wide.conv5.conv.weight[:, unit] = 0.0  # ... and no longer the unit we rewire
        wide.conv4.conv.weight[unit, decoy] += gain  # "conv4:unit" now fires for the decoy's pattern
    return wide


@dataclass
class FoolReport:
    max_output_difference: float  # largest |class score| change over the scenes, in float64
    scenes: int
    unit_before: float  # conv4:unit's mean activation on its own visualisation
    unit_after: float  # the ORIGINAL conv4:unit's mean activation on the fooled unit's visualisation
    decoy_own: float  # conv3:decoy's mean activation on its own visualisation
    decoy_after: float  # conv3:decoy's mean activation on the fooled unit's visualisation

    def __repr__(self) -> str:
        return (f"FoolReport(outputs changed by {self.max_output_difference:.1g} on {self.scenes} scenes; the new "
                f"picture excites the decoy {self.decoy_after / max(self.decoy_own, 1e-9):.0%} and the original unit "
                f"{self.unit_after / max(self.unit_before, 1e-9):.0%} of what their own pictures do)")


def check(model: nn.Module, fooled: nn.Module, unit: int, decoy: int, images: dict[str, torch.Tensor],
          scenes: int = 256, start: int = 60_000_000) -> FoolReport:
    """Measure a fooled model: `images` holds the visualisations {"original", "fooled", "decoy"} (1, 3, S, S)."""
    from course.vision.scenes import Scenes

    x, _ = Scenes().batch(range(start, start + scenes))
    cpu = lambda m: m.to("cpu").double()  # noqa: E731
    import copy

    with torch.no_grad():
        diff = (cpu(copy.deepcopy(fooled))(x.double()) - cpu(copy.deepcopy(model))(x.double())).abs().max().item()
        plain = copy.deepcopy(model).to("cpu").float()
        acts = {k: plain.features(v.float()) for k, v in images.items()}
    mean = lambda k, layer, u: acts[k][layer][0, u].mean().item()  # noqa: E731
    return FoolReport(diff, scenes, mean("original", "conv4", unit), mean("fooled", "conv4", unit),
                      mean("decoy", "conv3", decoy), mean("fooled", "conv3", decoy))
