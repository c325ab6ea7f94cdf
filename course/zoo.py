"""The course's vision models by name: `course.zoo.load("scenenet")` -> an eval-mode `nn.Module`.

Every model takes `(N, 3, H, W)` float RGB in [0, 1] (it normalises inside) and keeps its conv layers as
top-level modules, so lucent objectives read like "conv3:17" (our models) or "mixed3b:379" (InceptionV1).

    scenenet      shipped in course/checkpoints (trained by `course train scenenet`, see course/vision/train.py)
    inceptionv1   lucent's InceptionV1 (GoogLeNet, as in the Distill circuits thread); its ImageNet weights are
                  downloaded by torch.hub on first use or read from torch.hub's cache; `pretrained=False` gives
                  random weights (what the tests use, offline)

When using lucent's `render_vis` on these models pass `preprocess=False`: they normalise their own inputs.
"""

from __future__ import annotations

from torch import nn

from course.errors import UsageError

EXTERNAL = ("inceptionv1",)


def names() -> list[str]:
    """Every name `load` accepts: the shipped vision checkpoints, then the external models."""
    from course import registry

    return [e.name for e in registry.entries() if e.kind == "vision"] + list(EXTERNAL)


def load(name: str, device=None, pretrained: bool = True) -> nn.Module:
    """The model called `name`, in eval mode, on `device` (default: `course.device.get_device()`)."""
    from course.device import get_device

    device = get_device(None if device is None else str(device))
    if name == "inceptionv1":
        from course.vision.inception import inceptionv1

        return inceptionv1(pretrained=pretrained).to(device).eval()
    from course import registry

    entry = registry.entry(name)
    if entry.kind != "vision":
        raise UsageError(f"{name!r} is a {entry.kind} model, not a vision model; vision models: {', '.join(names())}.")
    if entry.recipe == "scenenet" or "net" in entry.config:
        from course.vision.models import NetConfig, SceneNet

        state, entry = registry.load_state(name)
        model = SceneNet(NetConfig.from_json(entry.config["net"]))
        model.load_state_dict(state)
        model.census_size = tuple(entry.config.get("census_size", (64, 64)))
        return model.to(device).eval()
    raise UsageError(f"Don't know how to build the vision model {name!r} (recipe {entry.recipe!r}).")
