"""Lesson 00: three lenses: attribution, probing, mechanism. Reference solutions.

Exercises, easiest first (points in brackets; `course check 00` grades them):

    1. saliency              |d logit / d input|, one backward pass                              [1]
    2. gradient_x_input      input times its gradient                                            [1]
    3. integrated_gradients  the path integral (midpoint rule) and its completeness error        [2]
    4. occlusion             the logit's drop when each patch is greyed out                      [2]
    5. spearman              rank correlation of two maps (ties share their average rank)        [2]
    6. train_probe           a linear probe's training loop, and its accuracy on held-out cells  [2]
    7. control_labels        Hewitt & Liang's control task: a random label per type              [2]
    8. selectivity           task accuracy minus control accuracy, per layer                     [1]
    9. ablate_each           zero units with a forward hook, one set at a time, hook removed     [2]

Models are `scenenet`-shaped: (N, 3, H, W) images in [0, 1] -> (N, classes, H/8, W/8) logits, one per cell.
A `target` is (class, row, col): the logit of that class at that cell. The checks run your functions on the
shipped `scenenet` and on small random CNNs of the same design, on images that are not square.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def logit(model: nn.Module, x: Tensor, target: tuple[int, int, int]) -> Tensor:
    """The explained output: (N,) logits of class `target[0]` at cell (`target[1]`, `target[2]`)."""
    cls, row, col = target
    return model(x)[:, cls, row, col]


# ------------------------------------------------------------------------------------------ 1. attribution


def saliency(model: nn.Module, x: Tensor, target: tuple[int, int, int]) -> Tensor:
    """|d logit / d x|, same shape as x (N, 3, H, W). One backward pass for the whole batch."""
    # BEGIN SOLUTION hint: x.clone().requires_grad_(True), then torch.autograd.grad(logit(...).sum(), x)
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(logit(model, x, target).sum(), x)
    return grad.abs()
    # END SOLUTION


def gradient_x_input(model: nn.Module, x: Tensor, target: tuple[int, int, int]) -> Tensor:
    """x * d logit / d x (signed), same shape as x."""
    # BEGIN SOLUTION hint: the same gradient as saliency, without the absolute value
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(logit(model, x, target).sum(), x)
    return x.detach() * grad
    # END SOLUTION


def integrated_gradients(model: nn.Module, x: Tensor, target: tuple[int, int, int], baseline: Tensor,
                         steps: int = 32) -> tuple[Tensor, Tensor]:
    """Integrated gradients from `baseline` (like x) to x, by the midpoint rule, and its completeness error.

    attributions = (x - baseline) * (1/steps) * sum over k of grad logit(baseline + a_k (x - baseline)),
    with a_k = (k + 0.5) / steps for k = 0 .. steps - 1. Returns (attributions like x, error (N,)) where
    error = attributions summed over each example - (logit(x) - logit(baseline)).
    """
    # BEGIN SOLUTION hint: one gradient per point of the path; average them; multiply by (x - baseline)
    total = torch.zeros_like(x)
    for k in range(steps):
        point = (baseline + (k + 0.5) / steps * (x - baseline)).requires_grad_(True)
        (grad,) = torch.autograd.grad(logit(model, point, target).sum(), point)
        total += grad
    attributions = (x - baseline) * total / steps
    with torch.no_grad():
        gap = logit(model, x, target) - logit(model, baseline, target)
    return attributions, attributions.flatten(1).sum(1) - gap
    # END SOLUTION


def occlusion(model: nn.Module, x: Tensor, target: tuple[int, int, int], size: int = 8,
              value: float = 0.5) -> Tensor:
    """(N, H // size, W // size): for each size x size patch (no overlap), logit(x) - logit(x with that patch
    set to `value` in every channel). Positive where hiding the patch lowers the logit."""
    # BEGIN SOLUTION hint: loop over the patches' rows and columns; clone x, fill the patch, compare the logits
    n, _, h, w = x.shape
    out = torch.zeros(n, h // size, w // size)
    with torch.no_grad():
        clean = logit(model, x, target)
        for i in range(h // size):
            for j in range(w // size):
                hidden = x.clone()
                hidden[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size] = value
                out[:, i, j] = clean - logit(model, hidden, target)
    return out
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 2. sanity check


def spearman(a: Tensor, b: Tensor) -> Tensor:
    """Spearman rank correlation of each pair of maps: a, b (N, ...) -> (N,) float64.

    Rank each map's values (flattened) from 1 up; tied values all get the average of the ranks they span
    (so [5, 1, 5] ranks as [2.5, 1, 2.5]). The result is the Pearson correlation of the two rank vectors.
    """
    # BEGIN SOLUTION hint: sort, give tied runs their mean rank (torch.unique_consecutive helps), then Pearson
    def ranks(v: Tensor) -> Tensor:
        order = v.argsort()
        _, inverse, counts = torch.unique_consecutive(v[order], return_inverse=True, return_counts=True)
        ends = counts.cumsum(0).double()
        r = torch.empty(len(v), dtype=torch.float64)
        r[order] = (ends - (counts - 1) / 2)[inverse]
        return r

    out = []
    for p, q in zip(a.flatten(1), b.flatten(1)):
        rp, rq = ranks(p), ranks(q)
        rp, rq = rp - rp.mean(), rq - rq.mean()
        out.append((rp * rq).sum() / (rp.norm() * rq.norm()))
    return torch.stack(out)
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 3. probing


class LinearProbe(nn.Module):
    """A linear probe: (M, d) features -> (M, classes) logits."""

    def __init__(self, d: int, classes: int = 2):
        super().__init__()
        self.linear = nn.Linear(d, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x)


def train_probe(probe: LinearProbe, x_train: Tensor, y_train: Tensor, x_test: Tensor, y_test: Tensor,
                steps: int = 200, lr: float = 0.02) -> tuple[LinearProbe, float]:
    """Train `probe` on (x_train, y_train) with full-batch Adam on the cross-entropy for `steps` steps;
    return the trained probe and its accuracy (a float in [0, 1]) on the held-out (x_test, y_test)."""
    # BEGIN SOLUTION hint: Adam; each step: loss, zero_grad, backward, step. Then score the TEST split
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(probe(x_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        accuracy = (probe(x_test).argmax(1) == y_test).float().mean().item()
    return probe, accuracy
    # END SOLUTION


def control_labels(types: Tensor, labels: Tensor, n_types: int, seed: int = 0) -> Tensor:
    """Hewitt & Liang's control task. types: (M,) long in [0, n_types), labels: (M,) long task labels.

    Give every type one label, drawn at random from the task labels' distribution (how often each label
    occurs in `labels`), using torch.Generator().manual_seed(seed); then label each example with its
    type's label. Returns (M,) long.
    """
    # BEGIN SOLUTION hint: torch.bincount(labels) gives the distribution; torch.multinomial draws one label per type
    g = torch.Generator().manual_seed(seed)
    counts = torch.bincount(labels).double()
    table = torch.multinomial(counts / counts.sum(), n_types, replacement=True, generator=g)
    return table[types]
    # END SOLUTION


def selectivity(task: dict[str, float], control: dict[str, float]) -> dict[str, float]:
    """{layer: task accuracy - control accuracy} for every layer in `task`."""
    # BEGIN SOLUTION
    return {layer: task[layer] - control[layer] for layer in task}
    # END SOLUTION


# ------------------------------------------------------------------------------------------ 4. mechanism


def ablate_each(model: nn.Module, x: Tensor, layer: str, unit_sets: list[list[int]]) -> Tensor:
    """The model's logits with each set of units of `layer` zeroed in turn, then with none zeroed:
    (len(unit_sets) + 1, N, classes, rows, cols), the clean logits last.

    Zero the units (channels) of the module called `layer` (e.g. "conv4": its output is after the ReLU)
    with a forward hook, and remove the hook after each forward pass, even if the pass raises: a hook left
    behind would still be zeroing units in every later pass, the clean one included.
    """
    # BEGIN SOLUTION hint: h = getattr(model, layer).register_forward_hook(fn); try: ... finally: h.remove()
    module = dict(model.named_modules())[layer]
    outs = []
    with torch.no_grad():
        for units in unit_sets:
            def zero(mod, inputs, output, units=units):
                output = output.clone()
                output[:, units] = 0
                return output

            handle = module.register_forward_hook(zero)
            try:
                outs.append(model(x))
            finally:
                handle.remove()
        outs.append(model(x))
    return torch.stack(outs)
    # END SOLUTION
