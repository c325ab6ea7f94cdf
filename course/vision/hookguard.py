"""A model that refuses to run while too many hooks are left on it: how checks catch hooks that were never removed.

    model = guarded("scenenet", max_hooks=2)   # a SceneNet like course.zoo.load's, on the CPU
    model(x)                                   # RuntimeError if more than 2 forward hooks sit on its modules

A loop that registers a hook on every step and never removes it has one more hook on each step, so by the
third step the guarded model stops it with a message that says what went wrong. Hooks that are removed after
use (try/finally, or a `with` block) never trip it. Written for this course (lesson 01's checks use it).
"""

from __future__ import annotations

import torch

from course.vision.models import SceneNet


class HookGuardedNet(SceneNet):
    """A SceneNet whose forward pass first counts the forward hooks on all its modules."""

    max_hooks: int = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in self.modules())
        if n > self.max_hooks:
            raise RuntimeError(f"{n} hooks are on the model at the start of a forward pass (at most {self.max_hooks} "
                               "are in use at once here): hooks from earlier calls were never removed. Remove each "
                               "hook after reading the activation (handle.remove() in a finally block).")
        return super().forward(x)


def guarded(name: str = "scenenet", max_hooks: int = 2) -> HookGuardedNet:
    """The shipped model `name` (eval mode, CPU) as a HookGuardedNet allowing `max_hooks` hooks at a time."""
    from course import zoo

    plain = zoo.load(name, device="cpu")
    model = HookGuardedNet(plain.config)
    model.load_state_dict(plain.state_dict())
    model.census_size = getattr(plain, "census_size", (64, 64))
    model.max_hooks = int(max_hooks)
    return model.eval()
