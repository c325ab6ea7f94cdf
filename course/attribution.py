"""Input attribution: which input pixels mattered for one output of a model.

Five classic methods, each a plain function of (model, inputs, target) that returns a tensor shaped like the
inputs (one score per input value), so any model and any scalar output can be explained:

    saliency              |d out / d x|                          Simonyan et al. 2014
    gradient_x_input      x * d out / d x                          Shrikumar et al. 2016
    smoothgrad            saliency averaged over noisy copies      Smilkov et al. 2017
    integrated_gradients  (x - x') * mean of the gradient on the   Sundararajan et al. 2017
                          straight path from a baseline x' to x,
                          with its completeness error
    occlusion             how much the output drops when a         Zeiler & Fergus 2014
                          window of the input is greyed out

`target` picks the output: an int (a class, for (N, classes) outputs), a tuple of ints (a class logit at a
cell of scenenet's (N, classes, rows, cols) output: `(1, 3, 4)` is "disc" at row 3, column 4), a list of
such, one per example (as captum), or any function mapping the model's output to one number per example
(a unit's activation, a sum over cells).

The conventions (what each integration rule and window count means, what the completeness error's sign is)
follow captum, which the tests use as the oracle on the same inputs, value by value:
`tests/test_attribution.py`. One deliberate difference: captum's "riemann_trapezoid" (0.9.0) puts its n
points 1/(n-1) apart but weights them 1/n (halved at the ends), so its weights sum to 1 - 1/n and its
attributions come out (n-1)/n too small; ours are the trapezoid rule's, 1/(n-1), hence captum's times
n/(n-1), which the tests check. `to_map` sums the channels into one (N, H, W) heat map for display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import torch
from torch import Tensor, nn

from course.errors import UsageError

Target = Union[int, tuple, list, Callable[[Tensor], Tensor]]
RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


def select(output: Tensor, target: Target) -> Tensor:
    """The scalar each example's attribution explains: (N, ...) model output -> (N,)."""
    if callable(target):
        out = target(output)
    elif isinstance(target, int):
        out = output[:, target]
    elif isinstance(target, tuple):
        out = output[(slice(None), *(int(t) for t in target))]
    elif isinstance(target, list):
        if len(target) != output.shape[0]:
            raise UsageError(f"a list of targets needs one per example: {len(target)} for {output.shape[0]}")
        rows = [t if isinstance(t, (tuple, list)) else (t,) for t in target]
        index = torch.tensor(rows, dtype=torch.long, device=output.device).T  # (dims, N)
        out = output[(torch.arange(output.shape[0], device=output.device), *index)]
    else:
        raise UsageError(f"target must be an int, a tuple of ints or a function of the output, not {target!r}")
    if out.dim() != 1 or out.shape[0] != output.shape[0]:
        raise UsageError(f"target {target!r} picks a {tuple(out.shape)} tensor from the model's "
                         f"{tuple(output.shape)} output; it must pick one number per example, shape "
                         f"({output.shape[0]},). For scenenet give (class, row, column).")
    return out


def forward(model: nn.Module, x: Tensor, target: Target) -> Tensor:
    """The target output for each example, (N,), without gradients."""
    with torch.no_grad():
        return select(model(x), target)


def gradient(model: nn.Module, x: Tensor, target: Target) -> Tensor:
    """d target / d x, same shape as x: the one backward pass every gradient method builds on.

    The model's parameters get no .grad (torch.autograd.grad only asks for the input's)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = select(model(x), target)
        (grad,) = torch.autograd.grad(out.sum(), x)  # examples are independent: the sum's gradient is each one's
    return grad


def _expand(target: Target, copies: int, interleave: bool) -> Target:
    """A per-example target list for a batch of `copies` copies of each example: N * copies entries, each
    example's copies together (interleave) or the whole batch repeated (copy-major); others unchanged."""
    if not isinstance(target, list):
        return target
    return [t for t in target for _ in range(copies)] if interleave else target * copies


def _gradients(model: nn.Module, inputs: Tensor, target: Target, batch: int) -> Tensor:
    """gradient() over `inputs` in chunks of `batch` (a per-example target list is cut to match)."""
    out, start = [], 0
    for chunk in inputs.split(max(1, batch)):
        t = target[start:start + len(chunk)] if isinstance(target, list) else target
        out.append(gradient(model, chunk, t))
        start += len(chunk)
    return torch.cat(out)


def saliency(model: nn.Module, x: Tensor, target: Target, absolute: bool = True) -> Tensor:
    """The input gradient of the target output (its absolute value by default, as captum's Saliency)."""
    grad = gradient(model, x, target)
    return grad.abs() if absolute else grad


def gradient_x_input(model: nn.Module, x: Tensor, target: Target) -> Tensor:
    """x * d out / d x: the first-order Taylor term of each input value (captum's InputXGradient)."""
    return x * gradient(model, x, target)


def smoothgrad(model: nn.Module, x: Tensor, target: Target, samples: int = 25, sigma: float = 0.15,
               kind: str = "smoothgrad", method: Callable[..., Tensor] = saliency,
               generator: torch.Generator | None = None, batch: int = 64) -> Tensor:
    """`method` averaged over `samples` noisy copies x + N(0, sigma^2) of each input.

    kind: "smoothgrad" (the mean), "smoothgrad_sq" (the mean of squares) or "vargrad" (the variance), as
    captum's NoiseTunnel; sigma is absolute (the inputs here are in [0, 1], so it is also a fraction of the
    range, as in the paper). The noise is drawn in one call, example by example (N * samples copies,
    each example's copies together), so with the same seed it is exactly captum's.
    """
    if kind not in ("smoothgrad", "smoothgrad_sq", "vargrad"):
        raise UsageError(f"kind must be smoothgrad, smoothgrad_sq or vargrad, not {kind!r}")
    n = x.shape[0]
    noisy = x.repeat_interleave(samples, 0)  # (N * samples, ...)
    noisy = noisy + torch.normal(0.0, torch.full_like(noisy, sigma), generator=generator)
    t = _expand(target, samples, interleave=True)
    attrs, start = [], 0
    for chunk in noisy.split(max(1, batch)):
        attrs.append(method(model, chunk, t[start:start + len(chunk)] if isinstance(t, list) else t))
        start += len(chunk)
    attrs = torch.cat(attrs).view(n, samples, *x.shape[1:])
    if kind == "smoothgrad":
        return attrs.mean(1)
    if kind == "smoothgrad_sq":
        return (attrs**2).mean(1)
    return (attrs**2).mean(1) - attrs.mean(1) ** 2


# ---------------------------------------------------------------------------------------------- IG


def rule(method: str, steps: int) -> tuple[Tensor, Tensor]:
    """(alphas, weights), each (steps,): the points on [0, 1] where the path gradient is taken and the weight
    each gets. The weights sum to 1, so the attribution is (x - x') times a weighted mean gradient."""
    if method not in RULES:
        raise UsageError(f"method must be one of {', '.join(RULES)}, not {method!r}")
    if method == "gausslegendre":
        if steps < 1:
            raise UsageError("Gauss-Legendre needs at least 1 step")
        import numpy as np

        nodes, w = np.polynomial.legendre.leggauss(steps)  # on [-1, 1]
        return torch.tensor(0.5 * (1 + nodes)), torch.tensor(0.5 * w)
    if steps < 2:
        raise UsageError("the Riemann rules need at least 2 steps")
    weights = torch.full((steps,), 1.0 / steps, dtype=torch.float64)
    side = method.removeprefix("riemann_")
    if side == "trapezoid":  # n points 1/(n-1) apart, the two ends weighted half (captum: see the docstring)
        weights = torch.full((steps,), 1.0 / (steps - 1), dtype=torch.float64)
        weights[0] /= 2
        weights[-1] /= 2
        alphas = torch.linspace(0, 1, steps)
    elif side == "left":
        alphas = torch.linspace(0, 1 - 1 / steps, steps)
    elif side == "right":
        alphas = torch.linspace(1 / steps, 1, steps)
    else:  # middle
        alphas = torch.linspace(1 / (2 * steps), 1 - 1 / (2 * steps), steps)
    return alphas.double(), weights


@dataclass
class IGResult:
    """Integrated gradients: attributions (like x), and the completeness error (N,) =
    attributions.sum() - (f(x) - f(baseline)), captum's convergence delta; 0 for an exact integral."""

    attributions: Tensor
    error: Tensor
    steps: int
    method: str

    def __iter__(self):  # attributions, error = integrated_gradients(...)
        return iter((self.attributions, self.error))

    def __repr__(self) -> str:
        return (f"IGResult({tuple(self.attributions.shape)} attributions, {self.method} with {self.steps} steps, "
                f"completeness error max |{self.error.abs().max().item():.2e}|)")


def integrated_gradients(model: nn.Module, x: Tensor, target: Target, baseline: Tensor | float | None = None,
                         steps: int = 50, method: str = "gausslegendre", batch: int = 64) -> IGResult:
    """(x - x') * sum_k w_k * grad f(x' + alpha_k (x - x')), with the rule's alphas and weights (see `rule`).

    baseline: a tensor like x (or broadcastable), a number, or None for zeros (black). Completeness: the
    attributions sum to f(x) - f(x') when the integral is exact; `.error` is how far off the rule is.
    """
    base = torch.zeros_like(x) if baseline is None else torch.as_tensor(baseline, dtype=x.dtype).expand_as(x)
    alphas, weights = rule(method, steps)
    n = x.shape[0]
    # every point on every example's path, step-major: (steps * N, ...)
    path = torch.cat([base + float(a) * (x - base) for a in alphas])
    grads = _gradients(model, path, _expand(target, steps, interleave=False), batch)
    grads = grads.view(steps, n, *x.shape[1:])
    mean_grad = (grads * weights.to(grads.dtype).view(steps, *[1] * x.dim())).sum(0)
    attributions = (x - base) * mean_grad
    with torch.no_grad():
        gap = forward(model, x, target) - forward(model, base, target)
    error = attributions.flatten(1).sum(1) - gap
    return IGResult(attributions, error, steps, method)


def error_by_steps(model: nn.Module, x: Tensor, target: Target, steps: list[int], baseline=None,
                   methods: tuple[str, ...] = ("riemann_trapezoid", "gausslegendre"),
                   reduce: str = "max") -> dict[str, list[float]]:
    """{method: [|completeness error|, its max (or mean) over the examples, for each number of steps]}."""
    agg = {"max": torch.max, "mean": torch.mean}[reduce]
    return {m: [float(agg(integrated_gradients(model, x, target, baseline, s, m).error.abs())) for s in steps]
            for m in methods}


# ---------------------------------------------------------------------------------------------- occlusion


def windows(size: int, window: int, stride: int) -> list[int]:
    """Start positions of the windows along one axis: captum's ceil((size - window) / stride) + 1, the last
    window cut off by the edge when it overhangs, so every position is covered."""
    if window > size:
        raise UsageError(f"the occlusion window ({window}) is larger than the input ({size})")
    return [i * stride for i in range(math.ceil((size - window) / stride) + 1)]


def occlusion(model: nn.Module, x: Tensor, target: Target, window: int | tuple[int, int] = 8,
              stride: int | tuple[int, int] = 4, baseline: Tensor | float = 0.0, batch: int = 64) -> Tensor:
    """Per input value: the mean, over the windows that cover it, of f(x) - f(x with the window set to
    `baseline`). A window spans all channels. Same shape as x (equal across channels)."""
    wh, ww = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    n, _, h, w = x.shape
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    masks = []
    for top in windows(h, wh, sh):
        for left in windows(w, ww, sw):
            m = torch.zeros(h, w, dtype=x.dtype, device=x.device)
            m[top:top + wh, left:left + ww] = 1
            masks.append(m)
    masks = torch.stack(masks)  # (M, H, W)
    clean = forward(model, x, target)  # (N,)
    total = torch.zeros(n, h, w, dtype=x.dtype, device=x.device)
    for chunk in masks.split(max(1, batch // n)):
        m = chunk[:, None, None]  # (m, 1, 1, H, W)
        occluded = (x * (1 - m) + base * m).flatten(0, 1)  # (m * N, C, H, W), mask-major
        drop = clean - forward(model, occluded, _expand(target, len(chunk), interleave=False)).view(len(chunk), n)
        total += (drop[:, :, None, None] * chunk[:, None]).sum(0)
    return (total / masks.sum(0))[:, None].expand_as(x).clone()


def to_map(attributions: Tensor, absolute: bool = False) -> Tensor:
    """(N, C, H, W) -> (N, H, W): the channels summed (of absolute values when `absolute`), for display."""
    return (attributions.abs() if absolute else attributions).sum(1)


METHODS: dict[str, Callable[..., Tensor]] = {
    "saliency": saliency,
    "gradient x input": gradient_x_input,
    "integrated gradients": lambda model, x, target, **kw: integrated_gradients(model, x, target, **kw).attributions,
    "occlusion": occlusion,
}


def support(model: nn.Module, x: Tensor, target: Target, tries: int = 4, seed: int = 0) -> Tensor:
    """(N, H, W) bool: the pixels that can change each example's target at all (its receptive field, as far
    as it lies in the image): where the input gradient is non-zero for any of `tries` random images."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(x.shape[0], *x.shape[2:], dtype=torch.bool, device=x.device)
    for _ in range(tries):
        noise = torch.rand(x.shape, generator=g).to(x.device, x.dtype)
        out |= gradient(model, noise, target).abs().sum(1) > 0
    return out
