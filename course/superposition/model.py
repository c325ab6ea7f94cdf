"""Toy models of superposition, many trained at once.

From Elhage et al., "Toy Models of Superposition" (Anthropic, 2022), with the names learners know from ARENA's
chapter 1.3: `n_features` sparse inputs are squeezed through `n_hidden` < `n_features` dimensions and read back
out,

    h  = W x                        W: (n_hidden, n_features)
    x' = ReLU(W^T h + b_final)      the paper's "ReLU output model" (`activation="linear"`: the baseline)

and trained to reconstruct x under an importance-weighted squared error. `n_instances` independent models
share one batched optimisation: each instance has its own feature probability (1 - sparsity) and importance
vector, so a whole sweep over sparsity is one run.

Speed: training uses hand-written gradients and Adam on batched matmuls (no autograd graph), and draws each
batch with a single call to the random number generator; `tests/superposition` checks the gradients against
autograd, value by value. See `benchmarks/superposition.py` for the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from course.device import get_device


@dataclass
class ToyModelConfig:
    n_features: int = 5  # sparse input features
    n_hidden: int = 2  # width of the bottleneck
    n_instances: int = 8  # models trained side by side (each with its own probability and importance)
    n_correlated_pairs: int = 0  # the first 2*k features come in pairs that are active together
    n_anticorrelated_pairs: int = 0  # the next 2*k features come in pairs that are never active together
    activation: str = "relu"  # "relu" (the paper's model) or "linear" (the baseline without superposition)

    def __post_init__(self) -> None:
        if self.activation not in ("relu", "linear"):
            raise ValueError("activation must be 'relu' or 'linear'")
        if 2 * (self.n_correlated_pairs + self.n_anticorrelated_pairs) > self.n_features:
            raise ValueError("more correlated/anticorrelated features than features")


def _broadcast(value: float | Tensor | None, cfg: ToyModelConfig, default: float, vector: str) -> Tensor:
    """(n_instances, n_features) from a scalar, a full matrix, or a vector: per instance for the feature
    probability (`vector="instances"`), per feature for the importance (`vector="features"`), as in ARENA."""
    v = torch.as_tensor(default if value is None else value, dtype=torch.float32)
    if v.dim() == 1:
        want = cfg.n_instances if vector == "instances" else cfg.n_features
        if v.shape[0] != want:
            raise ValueError(f"a 1-D value here has one entry per {vector[:-1]} ({want}), got {v.shape[0]}")
        v = v[:, None] if vector == "instances" else v[None, :]
    return v.expand(cfg.n_instances, cfg.n_features).clone()


class ToyModel(nn.Module):
    """`n_instances` toy models. W: (n_instances, n_hidden, n_features), b_final: (n_instances, n_features)."""

    def __init__(self, cfg: ToyModelConfig, feature_probability: float | Tensor | None = None,
                 importance: float | Tensor | None = None, device: str | torch.device | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.cfg = cfg
        device = get_device(device) if not isinstance(device, torch.device) else device
        W = torch.empty(cfg.n_instances, cfg.n_hidden, cfg.n_features)
        for i in range(cfg.n_instances):  # Xavier-normal, as ARENA
            std = (2.0 / (cfg.n_hidden + cfg.n_features)) ** 0.5
            W[i] = torch.randn(cfg.n_hidden, cfg.n_features, generator=generator) * std
        self.W = nn.Parameter(W.to(device))
        self.b_final = nn.Parameter(torch.zeros(cfg.n_instances, cfg.n_features, device=device))
        self.register_buffer("feature_probability", _broadcast(feature_probability, cfg, 1.0, "instances").to(device))
        self.register_buffer("importance", _broadcast(importance, cfg, 1.0, "features").to(device))

    def __repr__(self) -> str:
        c = self.cfg
        p = self.feature_probability[:, 0]
        return (f"ToyModel({c.n_instances} x [{c.n_features} features -> {c.n_hidden} hidden], {c.activation}, "
                f"feature probability {p.min().item():.3g}..{p.max().item():.3g})")

    # ---------------------------------------------------------------------------------------------- data

    def generate_batch(self, batch_size: int, generator: torch.Generator | None = None) -> Tensor:
        """(batch, n_instances, n_features) features: each active with its probability p, then uniform in [0, 1).

        One random draw does both jobs: u ~ U[0, 1) is active when u < p, and then u / p is again U[0, 1).
        """
        return self._batch(batch_size, generator).transpose(0, 1)

    def _batch(self, batch_size: int, generator: torch.Generator | None = None) -> Tensor:
        """The same features laid out (n_instances, batch, n_features), the layout training works in."""
        c, p = self.cfg, self.feature_probability
        dev = p.device
        u = torch.rand(c.n_instances, batch_size, c.n_features, device=dev, generator=generator)
        n_corr, n_anti = 2 * c.n_correlated_pairs, 2 * c.n_anticorrelated_pairs
        if n_corr == 0 and n_anti == 0:
            u.div_(p[:, None, :])  # u < p exactly when u / p < 1
            return u.masked_fill_(u >= 1, 0.0)
        values = torch.rand(c.n_instances, batch_size, c.n_features, device=dev, generator=generator)
        active = u < p[:, None, :]
        if n_corr:  # both features of a pair follow the pair's first coin
            active[..., :n_corr] = active[..., 0:n_corr:2].repeat_interleave(2, dim=-1)
        if n_anti:  # a pair is on with probability 2p, and then exactly one of its two features is
            lo, hi = n_corr, n_corr + n_anti
            on = u[..., lo:hi:2] < (2 * p[:, None, lo:hi:2]).clamp(max=1)
            first = torch.rand(on.shape, device=dev, generator=generator) < 0.5
            active[..., lo:hi:2] = on & first
            active[..., lo + 1:hi:2] = on & ~first
        return torch.where(active, values, torch.zeros((), device=dev))

    # ---------------------------------------------------------------------------------------------- model

    def forward(self, features: Tensor) -> Tensor:
        """(batch, n_instances, n_features) -> reconstruction of the same shape."""
        return self._forward(features.transpose(0, 1))[0].transpose(0, 1)

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x: (n_instances, batch, n_features) -> (out, h, pre-activation), all in that layout."""
        h = torch.bmm(x, self.W.transpose(1, 2))  # (inst, batch, hidden)
        z = torch.baddbmm(self.b_final[:, None, :], h, self.W)  # (inst, batch, features)
        out = z.clamp(min=0) if self.cfg.activation == "relu" else z
        return out, h, z

    def loss(self, out: Tensor, batch: Tensor) -> Tensor:
        """Importance-weighted MSE: mean over batch and features, summed over instances (as ARENA)."""
        err = self.importance * (batch - out) ** 2  # (batch, inst, features)
        return err.mean(dim=(0, 2)).sum()

    @torch.no_grad()
    def losses(self, x: Tensor) -> Tensor:
        """(n_instances,) importance-weighted MSE on x laid out (n_instances, batch, n_features)."""
        out = self._forward(x)[0]
        return (self.importance[:, None, :] * (out - x) ** 2).mean(dim=(1, 2))

    @torch.no_grad()
    def grads(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Gradients of the summed loss on x (n_instances, batch, n_features) for W and b_final, by hand.

        out = ReLU(z), z = h W + b, h = x W^T; L = sum over instances of mean(importance * (out - x)^2).
        Written with in-place ops on the one big (instances, batch, features) buffer: training is memory-bound.
        """
        h = torch.bmm(x, self.W.transpose(1, 2))  # (inst, batch, hidden)
        d = torch.baddbmm(self.b_final[:, None, :], h, self.W)  # z, then reused for the gradient
        dead = d <= 0 if self.cfg.activation == "relu" else None
        if dead is not None:
            d.clamp_(min=0)  # out
        d.sub_(x).mul_(self.importance[:, None, :] * (2.0 / (x.shape[1] * x.shape[2])))  # dL/dout
        if dead is not None:
            d.masked_fill_(dead, 0.0)  # dL/dz
        grad_b = d.sum(dim=1)
        # W collects a gradient from both of its uses
        grad_W = torch.bmm(h.transpose(1, 2), d).add_(torch.bmm(torch.bmm(self.W, d.transpose(1, 2)), x))
        return grad_W, grad_b


@dataclass
class TrainConfig:
    steps: int = 5_000  # optimisation steps
    batch_size: int = 1024  # examples per step (per instance)
    lr: float = 1e-3  # Adam's learning rate
    lr_schedule: str = "constant"  # "constant", "linear" or "cosine" decay to zero
    log_every: int = 50  # record the loss every this many steps
    seed: int | None = 0  # None: don't reseed
    threads: int | None = 1  # torch intra-op threads while training; toy-model ops are too small to gain from
    #                          more, and on a busy machine extra threads spin and wait (5-10x slower); None: torch's


def lr_factor(schedule: str, step: int, steps: int) -> float:
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return 1 - step / steps
    if schedule == "cosine":
        import math

        return 0.5 * (1 + math.cos(math.pi * step / steps))
    raise ValueError(f"unknown schedule {schedule!r}: constant, linear or cosine")


def train(model: ToyModel, cfg: TrainConfig | None = None, progress: bool | Callable[[float], None] = False,
          **overrides) -> Tensor:
    """Train all instances at once with Adam; returns the logged per-instance losses, (n_logs, n_instances).

    `progress`: True for a tqdm bar, or a callable given the fraction done (e.g. a Streamlit progress bar).
    """
    cfg = cfg or TrainConfig()
    for k, v in overrides.items():
        setattr(cfg, k, v)
    gen = None
    if cfg.seed is not None:
        gen = torch.Generator(device=model.W.device).manual_seed(cfg.seed)
    torch.set_flush_denormal(True)  # denormals in sparse gradients slow the CPU badly (reset afterwards)
    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    params = [model.W, model.b_final]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    logs = []
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc="training toy models", leave=False)
    try:
        for step in range(1, cfg.steps + 1):
            x = model._batch(cfg.batch_size, gen)
            gW, gb = model.grads(x)
            lr = cfg.lr * lr_factor(cfg.lr_schedule, step - 1, cfg.steps)
            with torch.no_grad():
                for p, g, m_, v_ in zip(params, (gW, gb), m, v):
                    m_.lerp_(g, 1 - beta1)
                    v_.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    denom = (v_ / (1 - beta2**step)).sqrt_().add_(eps)
                    p.addcdiv_(m_, denom, value=-lr / (1 - beta1**step))
            if step % cfg.log_every == 0 or step == cfg.steps:
                losses = model.losses(x)
                logs.append(losses)
                if bar is not None:
                    bar.update(cfg.log_every if step % cfg.log_every == 0 else step % cfg.log_every)
                    bar.set_postfix(loss=f"{losses.mean().item():.4g}")
                elif callable(progress):
                    progress(step / cfg.steps)
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(old_threads)
        if bar is not None:
            bar.close()
    return torch.stack(logs)
