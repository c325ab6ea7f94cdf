"""Hook points, as TransformerLens has them: named places in the forward pass to read or change activations.

Every `HookPoint` is an identity module. `run_with_hooks` and `run_with_cache` (see `model.py`) attach
functions to them by name for one forward pass and always detach them afterwards, so a shared model never keeps
a hook (the app shares one model between sessions).

    def zero_neuron_7(act, hook):          # act: the activation at this point; hook: the HookPoint
        act[..., 7] = 0
        return act                         # returning a tensor replaces the activation; None keeps it
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable

from torch import Tensor, nn

HookFn = Callable[[Tensor, "HookPoint"], Tensor | None]


class HookPoint(nn.Module):
    def __init__(self):
        super().__init__()
        self.name = ""  # set by the model after construction
        self.fns: list[HookFn] = []

    def forward(self, x: Tensor) -> Tensor:
        for fn in self.fns:
            out = fn(x, self)
            if out is not None:
                x = out
        return x

    def __repr__(self) -> str:
        return f"HookPoint({self.name!r}{', ' + str(len(self.fns)) + ' hooks' if self.fns else ''})"


def name_hook_points(model: nn.Module) -> dict[str, HookPoint]:
    points = {}
    for name, module in model.named_modules():
        if isinstance(module, HookPoint):
            module.name = name
            points[name] = module
    return points


@contextlib.contextmanager
def hooks(points: dict[str, HookPoint], fwd_hooks: Iterable[tuple[str | Callable[[str], bool], HookFn]]):
    """Attach (name or name filter, fn) pairs for the duration of the block; always removes them."""
    attached: list[tuple[HookPoint, HookFn]] = []
    try:
        for key, fn in fwd_hooks:
            names = [n for n in points if key(n)] if callable(key) else [key]
            for n in names:
                if n not in points:
                    raise KeyError(f"no hook point {n!r}; the model has: {', '.join(points)}")
                points[n].fns.append(fn)
                attached.append((points[n], fn))
        yield
    finally:
        for point, fn in attached:
            point.fns.remove(fn)


class ActivationCache(dict):
    """name -> activation, as returned by `run_with_cache`."""

    def __repr__(self) -> str:
        return f"ActivationCache({', '.join(f'{k}: {tuple(v.shape)}' for k, v in self.items())})"


def caching_hooks(cache: ActivationCache, names_filter: Callable[[str], bool] | Iterable[str] | str | None,
                  points: dict[str, HookPoint], detach: bool = True) -> list[tuple[str, HookFn]]:
    if names_filter is None:
        wanted = list(points)
    elif isinstance(names_filter, str):
        wanted = [names_filter]
    elif callable(names_filter):
        wanted = [n for n in points if names_filter(n)]
    else:
        wanted = list(names_filter)

    def save(act: Tensor, hook: HookPoint) -> None:
        cache[hook.name] = act.detach() if detach else act

    return [(n, save) for n in wanted]


def no_hooks_left(model: nn.Module) -> bool:
    return all(not m.fns for m in model.modules() if isinstance(m, HookPoint)) and not any(
        m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def hooks_attached(model: nn.Module) -> int:
    """How many hook functions are attached to a model: on its HookPoints, and torch's own module hooks."""
    n = sum(len(m.fns) for m in model.modules() if isinstance(m, HookPoint))
    return n + sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                   for m in model.modules())


def audit(result, **inputs) -> dict:
    """What a call left behind on the models it was given (for graded checks: `Check.after`).

    {"result": result, "hooks_left": {argument: hook functions still attached},
     "weights": {argument: its state dict}} for every nn.Module among the keyword arguments. The grader compares
    this with the same audit of the reference, so a hook left on a shared model, or weights edited in place
    (steering by changing a bias, say), lose the points even when the result itself is right."""
    left, weights = {}, {}
    for name, value in inputs.items():
        if isinstance(value, nn.Module):
            left[name] = hooks_attached(value)
            weights[name] = {k: t.detach().clone() for k, t in value.state_dict().items()}
    return {"result": result, "hooks_left": left, "weights": weights}
