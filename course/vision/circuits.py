"""Circuits in the vision models: interventions on units, and what they do to the model's behaviour.

Only an intervention shows that a model *uses* what attribution and probing find. This module starts with
ablation (lesson 00) and adds reading weights and patching (lesson 04; editing weights is in
`course.vision.editing`, the equivariance test in `course.vision.equivariance`, a curve detector built by
hand in `course.vision.handbuilt`):

    ablate(model, {"conv4": units})   a context manager: inside the block those units of conv4 (after its
                                      ReLU) are zeroed, or set to given values; the forward hooks are removed
                                      when the block ends, also when it ends with an exception
    ablated(model, x, {...})          the model's output on x with the ablation, nothing left behind
    class_recall(model, scenes)       per-class recall of the per-cell predictions on held-out scenes
    random_unit_sets(...)             same-size random sets of units, the control for any ablation
    curve_family(model)               conv4's curve detectors, from the detector census
    ablation_study(model, "conv4", units)  recall with the units ablated against many random controls

    direct_weights(model, "conv4", unit)  the unit's strongest input kernels (lesson 04), strongest first
    patch(model, "conv4", units, source)  a context manager: those units take their values from a recorded
                                      activation (activation patching); the hook is gone when the block ends
    restore_each(model, x, "conv4", family)  the family ablated, each unit restored alone, one pass each
    forward_from, recall_from         the rest of a SceneNet from a cached layer: many interventions on one
                                      layer share one pass through the layers below it

`units` maps a layer name (a module whose output is the post-ReLU activation, as scenenet's `convN`) to
channel indices. Ablating a family of units and comparing with random sets of the same size is the
circuits thread's standard control (Cammarata et al., "Curve Circuits", Distill 2021, ablated the 3b curve
family; top-5 accuracy fell from 88.6% to 86.3%).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch
from torch import Tensor, nn

from course.errors import UsageError
from course.vision.scenes import CLASSES, Scenes

EVAL_OFFSET = 10_000_000  # held-out scenes start here (course.vision.train.EVAL_OFFSET: never trained on)
MODES = ("zero", "mean", "value")


@contextmanager
def ablate(model: nn.Module, units: dict[str, Sequence[int]], mode: str = "zero",
           values: dict[str, Tensor] | None = None) -> Iterator[nn.Module]:
    """Within the block, the chosen channels of each named layer's output are replaced:

        mode="zero"   by 0 (for a post-ReLU layer: "the unit never fires")
        mode="mean"   by `values[layer]`, one number per channel of the layer (e.g. its mean activation over
                      data: "the unit always says what it says on average")
        mode="value"  the same, with any numbers you choose (clamping a unit on)

    The hooks are forward hooks on the named modules; every one is removed when the block ends, however it
    ends. Yields the model. An empty unit list ablates nothing.
    """
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    modules = dict(model.named_modules())
    missing = [name for name in units if name not in modules]
    if missing:
        raise UsageError(f"no layers named {missing}; this model's layers include "
                         f"{[n for n in modules if n and '.' not in n][:12]}")
    if mode != "zero" and (values is None or any(name not in values for name in units)):
        raise UsageError(f"mode {mode!r} needs `values` with a tensor of one value per channel for every layer")

    def hook_for(name: str, channels: Tensor):
        def hook(module, inputs, output):
            if channels.numel() == 0:
                return output
            if channels.max() >= output.shape[1] or channels.min() < 0:
                raise UsageError(f"{name} has {output.shape[1]} channels; can't ablate {channels.tolist()}")
            out = output.clone()
            idx = channels.to(output.device)
            if mode == "zero":
                out[:, idx] = 0
            else:
                v = torch.as_tensor(values[name], dtype=output.dtype, device=output.device)[idx]
                out[:, idx] = v.view(1, -1, *[1] * (output.dim() - 2)).expand_as(out[:, idx])
            return out

        return hook

    handles = []
    try:
        for name, chans in units.items():
            channels = torch.as_tensor(list(chans), dtype=torch.long)
            handles.append(modules[name].register_forward_hook(hook_for(name, channels)))
        yield model
    finally:
        for h in handles:
            h.remove()


def ablated(model: nn.Module, x: Tensor, units: dict[str, Sequence[int]], mode: str = "zero",
            values: dict[str, Tensor] | None = None) -> Tensor:
    """model(x) with `units` ablated (no gradients); the model has no hooks left afterwards."""
    with ablate(model, units, mode, values), torch.no_grad():
        return model(x)


def held_out(n: int = 1024, start: int = EVAL_OFFSET, scenes: Scenes | None = None,
             batch: int = 256) -> tuple[Tensor, Tensor]:
    """Held-out scenes start .. start + n: images (n, 3, 64, 64) and labels (n, 8, 8), made `batch` at a time."""
    scenes = scenes or Scenes()
    parts = [scenes.batch(range(i, min(i + batch, start + n))) for i in range(start, start + n, batch)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def class_recall(model: nn.Module, scenes: Scenes | tuple[Tensor, Tensor], n: int = 1024,
                 units: dict[str, Sequence[int]] | None = None, mode: str = "zero",
                 values: dict[str, Tensor] | None = None, batch: int = 256) -> Tensor:
    """(classes,): per class, the fraction of held-out cells of that class the model labels correctly,
    optionally with `units` ablated. `scenes` is a `Scenes` (its held-out scenes EVAL_OFFSET .. + n are made)
    or ready (images, labels), e.g. from `held_out`, which is faster when you measure many ablations."""
    images, labels = held_out(n, scenes=scenes) if isinstance(scenes, Scenes) else scenes
    device = next(model.parameters()).device
    classes = model(images[:1].to(device)).shape[1] if len(images) else len(CLASSES)
    correct = torch.zeros(classes)
    total = torch.zeros(classes)
    with ablate(model, units or {}, mode, values), torch.no_grad():
        for xs, ys in zip(images.split(batch), labels.split(batch)):
            pred = model(xs.to(device)).argmax(1).cpu()
            total += torch.bincount(ys.flatten(), minlength=classes).float()
            correct += torch.bincount(ys[pred == ys], minlength=classes).float()
    return correct / total.clamp_min(1)


def random_unit_sets(n_units: int, size: int, count: int, generator: torch.Generator | None = None,
                     exclude: Sequence[int] = ()) -> list[list[int]]:
    """`count` random sets of `size` distinct units out of `n_units`, none of them in `exclude`, sorted."""
    pool = torch.tensor([u for u in range(n_units) if u not in set(exclude)])
    if size > len(pool):
        raise UsageError(f"can't draw {size} units from the {len(pool)} left after excluding {len(exclude)}")
    return [sorted(pool[torch.randperm(len(pool), generator=generator)[:size]].tolist()) for _ in range(count)]


def curve_family(model: nn.Module, layer: str = "conv4", size: tuple[int, int] | None = None) -> list[int]:
    """The units of `layer` that the detector census calls curve detectors (course.vision.census), sorted."""
    from course.vision.census import measure

    size = size or tuple(getattr(model, "census_size", (64, 64)))
    record = measure(model, [layer], size)
    return sorted(u["unit"] for u in record["layers"][layer]["curve"])


@dataclass
class AblationStudy:
    """Recall per class: clean, with `units` ablated, and with each of the random same-size sets ablated."""

    layer: str
    units: list[int]
    clean: Tensor  # (classes,)
    ablated: Tensor  # (classes,)
    controls: Tensor  # (count, classes)
    control_sets: list[list[int]] = field(repr=False, default_factory=list)
    classes: tuple[str, ...] = CLASSES

    def drop(self, cls: str | int) -> float:
        i = self.classes.index(cls) if isinstance(cls, str) else cls
        return float(self.clean[i] - self.ablated[i])

    def control_drops(self, cls: str | int) -> Tensor:
        i = self.classes.index(cls) if isinstance(cls, str) else cls
        return self.clean[i] - self.controls[:, i]

    def rank(self, cls: str | int) -> int:
        """How many random controls drop `cls` at least as much as the ablated units do (0: none)."""
        return int((self.control_drops(cls) >= self.drop(cls)).sum())

    def __repr__(self) -> str:
        parts = [f"{c} {self.clean[i]:.3f} -> {self.ablated[i]:.3f} (random: {self.controls[:, i].mean():.3f})"
                 for i, c in enumerate(self.classes)]
        return f"AblationStudy({self.layer}, {len(self.units)} units; " + "; ".join(parts) + ")"


def ablation_study(model: nn.Module, layer: str, units: Sequence[int], scenes: tuple[Tensor, Tensor] | None = None,
                   controls: int = 20, seed: int = 0, n: int = 1024, progress=None) -> AblationStudy:
    """Recall with `units` of `layer` zeroed, against `controls` random sets of as many other units."""
    images_labels = scenes if scenes is not None else held_out(n)
    width = _width(model, layer, images_labels[0][:1])
    sets = random_unit_sets(width, len(units), controls, torch.Generator().manual_seed(seed), exclude=units)
    clean = class_recall(model, images_labels)
    abl = class_recall(model, images_labels, units={layer: list(units)})
    rows = []
    for k, s in enumerate(sets):
        rows.append(class_recall(model, images_labels, units={layer: s}))
        if progress:
            progress((k + 1) / len(sets), f"random set {k + 1} of {len(sets)}")
    return AblationStudy(layer, sorted(units), clean, abl, torch.stack(rows) if rows else torch.zeros(0, len(clean)),
                         sets)


def _width(model: nn.Module, layer: str, x: Tensor) -> int:
    """How many channels `layer` outputs (one forward pass)."""
    from course.vision.probe import activations

    return activations(model, x.to(next(model.parameters()).device), [layer])[layer].shape[1]


# --------------------------------------------------------------------------------------------- lesson 04: reading
# weights between adjacent layers, and activation patching. Editing weights: course.vision.editing; the
# equivariance test: course.vision.equivariance; a curve detector built by hand: course.vision.handbuilt.


def conv_of(model: nn.Module, layer: str) -> nn.Conv2d:
    """The convolution of layer `layer` (scenenet's `convN.conv`; a bare `nn.Conv2d` named `layer` also works)."""
    modules = dict(model.named_modules())
    if layer not in modules:
        raise UsageError(f"no layer named {layer!r}; this model's layers include "
                         f"{[n for n in modules if n and '.' not in n][:12]}")
    conv = next((m for m in modules[layer].modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise UsageError(f"{layer!r} has no nn.Conv2d inside it")
    return conv


def direct_weights(model: nn.Module, layer: str, unit: int, k: int = 8) -> tuple[list[int], Tensor]:
    """The `k` input channels whose kernels into `unit` of `layer` are strongest (largest L2 norm), strongest
    first, and those kernels: (channels, (k, kh, kw)). A kernel is a small image: where in the unit's window,
    and with which sign, that channel of the layer below pushes the unit (Olah et al., "Visualizing Weights")."""
    w = conv_of(model, layer).weight.detach()[unit]  # (C_in, kh, kw)
    order = w.flatten(1).norm(dim=1).argsort(descending=True)[:k]
    return order.tolist(), w[order].clone()


@contextmanager
def patch(model: nn.Module, layer: str, units: Sequence[int], source: Tensor) -> Iterator[nn.Module]:
    """Within the block, `units` of `layer` (after its ReLU) take their values from `source`, a recorded
    activation of that layer (N or 1, C, h, w), e.g. from a clean run or another image: activation patching.
    The hook is removed when the block ends, however it ends."""
    idx = torch.as_tensor(list(units), dtype=torch.long)

    def hook(module, inputs, output):
        if idx.numel() == 0:
            return output
        if source.shape[1:] != output.shape[1:]:
            raise UsageError(f"the patch source has shape {tuple(source.shape)} but {layer} outputs "
                             f"{tuple(output.shape)}: record the source from the same layer and image size")
        out = output.clone()
        i = idx.to(output.device)
        out[:, i] = source.to(output)[:, i].expand(out.shape[0], -1, -1, -1)
        return out

    handle = dict(model.named_modules())[layer].register_forward_hook(hook)
    try:
        yield model
    finally:
        handle.remove()


def layer_output(model: nn.Module, x: Tensor, layer: str) -> Tensor:
    """`layer`'s activation (N, C, h, w) on images x, no gradients (hook removed after)."""
    from course.vision.probe import activations

    return activations(model, x, [layer])[layer]


def restore_each(model: nn.Module, x: Tensor, layer: str, family: Sequence[int]) -> Tensor:
    """With every unit of `family` zeroed, each unit restored alone to its clean activation, one pass each:
    (len(family), N, classes, h, w) outputs. The question patching answers: what does this one unit bring
    back of what the family's ablation took away? (The units of one layer don't feed each other, so restoring
    u is ablating all the others; `patch` does the same across images or layers.)"""
    outs = []
    with torch.no_grad():
        for u in family:
            with ablate(model, {layer: [v for v in family if v != u]}):
                outs.append(model(x))
    return torch.stack(outs)


def forward_from(model: nn.Module, layer: str, h: Tensor) -> Tensor:
    """The rest of a SceneNet from `layer`'s activation h (N, C, h, w): the later conv layers and the head.
    Many interventions on one layer then share one pass through the layers before it."""
    names = list(model.layers)
    for name in names[names.index(layer) + 1:]:
        h = getattr(model, name)(h)
    return model.head(h)


def recall_from(model: nn.Module, layer: str, acts: Tensor, labels: Tensor, units: Sequence[int] = (),
                batch: int = 256) -> Tensor:
    """`class_recall` from cached activations `acts` of `layer` (N, C, h, w) with `units` of it zeroed: the same
    numbers as class_recall(model, (images, labels), units={layer: units}), without redoing the layers below."""
    idx = torch.as_tensor(list(units), dtype=torch.long)
    correct, total = None, None
    with torch.no_grad():
        for h, ys in zip(acts.split(batch), labels.split(batch)):
            if idx.numel():
                h = h.clone()
                h[:, idx] = 0
            pred = forward_from(model, layer, h).argmax(1).cpu()
            classes = model.head.out_channels
            t = torch.bincount(ys.flatten(), minlength=classes).float()
            c = torch.bincount(ys[pred == ys], minlength=classes).float()
            correct, total = (c, t) if correct is None else (correct + c, total + t)
    return correct / total.clamp_min(1)
