"""Model surgery on SceneNet: copies with extra, silent units, and rebuilding a model from its state dict.

    wide = widen(model, (6, 1, 1, 0, 0))   # conv1 gets 6 new units, conv2 and conv3 one each
    model_from_state(state)               # the SceneNet a state dict describes (its widths read off the weights)

A new unit of `widen` starts with all-zero weights into it and out of it and a zero bias, so the wider model
computes exactly what the original does (up to float rounding) until you wire the new units in. Lesson 01's
fooling circuit and lesson 04's circuit edits are built this way. Written for this course.
"""

from __future__ import annotations

import torch

from course.errors import UsageError
from course.vision.models import NetConfig, SceneNet


def widen(model: SceneNet, extra: tuple[int, ...]) -> SceneNet:
    """A copy of `model` whose conv layer i has `extra[i]` more units, appended after the old ones (so old unit
    indices keep their meaning), wired to nothing: their weights in and out and their biases are zero."""
    c = model.config
    if len(extra) != len(c.channels) or any(int(e) < 0 for e in extra):
        raise UsageError(f"extra must give a non-negative count for each of the {len(c.channels)} conv layers, "
                         f"e.g. {tuple([1] + [0] * (len(c.channels) - 1))}; got {extra}.")
    channels = tuple(int(n) + int(e) for n, e in zip(c.channels, extra))
    wide = SceneNet(NetConfig(**{**c.to_json(), "channels": channels})).to(next(model.parameters()).device)
    old, new = model.state_dict(), wide.state_dict()
    with torch.no_grad():
        for key, w in new.items():
            w.zero_()
            src = old[key]
            w[tuple(slice(0, n) for n in src.shape)] = src  # old weights in the top-left corner
    wide.load_state_dict(new)
    return wide.eval()


def model_from_state(state: dict[str, torch.Tensor]) -> SceneNet:
    """The SceneNet (eval mode, CPU) whose weights are `state`, its layer widths read from the weight shapes."""
    try:
        n = 1 + max(int(k.split(".")[0][4:]) for k in state if k.startswith("conv") and k.endswith(".conv.weight"))
        channels = tuple(int(state[f"conv{i}.conv.weight"].shape[0]) for i in range(1, n))
        kernels = tuple(int(state[f"conv{i}.conv.weight"].shape[-1]) for i in range(1, n))
        classes = int(state["head.weight"].shape[0])
    except (KeyError, ValueError, AttributeError) as e:
        raise UsageError(f"not a SceneNet state dict ({type(e).__name__}: {e})") from None
    base = NetConfig()
    strides = base.strides if len(base.strides) == len(channels) else (2, 2, 2) + (1,) * (len(channels) - 3)
    model = SceneNet(NetConfig(channels=channels, kernels=kernels, strides=strides, classes=classes))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
