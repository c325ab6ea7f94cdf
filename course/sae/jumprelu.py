"""JumpReLU SAEs (Rajamanoharan et al. 2024, "Jumping Ahead", arXiv 2407.14435), trained on L0 directly.

A JumpReLU zeroes a latent below its own threshold θ and passes it unchanged above:

    JumpReLU_θ(z) = z · H(z - θ)          H: the Heaviside step
    L0(z)         = Σ_latents H(z - θ)    the number of active latents, penalised directly

Neither has a useful derivative with respect to θ (H' is 0 almost everywhere), so training uses straight-through
estimators: in the backward pass, H' is replaced by a rectangle kernel of width ε (the `bandwidth`),

    ∂JumpReLU/∂θ ≈ -(θ/ε) · rect((z - θ)/ε)         ∂L0/∂θ ≈ -(1/ε) · rect((z - θ)/ε)
    rect(u) = 1 if -1/2 < u < 1/2 else 0

so only inputs whose pre-activation lands within ε/2 of the threshold move it. The gradient with respect to z
is the ordinary one for JumpReLU (H(z - θ)) and zero for the step. These are SAELens's functions
(`sae_lens/saes/jumprelu_sae.py`, threshold parameterised directly rather than as log θ, which froze under Adam:
SAELens #494); `tests/sae/test_jumprelu.py` compares them with values computed by hand.

Because an active latent passes z unchanged (no "- θ", no L1 pulling it down), a JumpReLU SAE has no
shrinkage, unlike ReLU + L1.

    sae = JumpReLUSAE(JumpReLUConfig(d_in=64, d_sae=512, l0_coefficient=2e-3))
    train_sae(sae, data, SAETrainConfig(steps=2000))           # the trainer adds sae.extra_loss (the L0 term)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course.sae.sae import SAE, SAEConfig


def rectangle(u: Tensor) -> Tensor:
    """The rectangle kernel: 1 where -1/2 < u < 1/2, else 0 (same dtype as u)."""
    return ((u > -0.5) & (u < 0.5)).to(u.dtype)


def _sum_to(grad: Tensor, shape: torch.Size) -> Tensor:
    """Sum a broadcast gradient back to the threshold's shape (d_sae,) or ()."""
    while grad.dim() > len(shape):
        grad = grad.sum(0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(i, keepdim=True)
    return grad


class JumpReLUFunction(torch.autograd.Function):
    """z · H(z - θ), with the rectangle-kernel pseudo-derivative for θ. Call as JumpReLUFunction.apply(z, θ, ε)."""

    @staticmethod
    def forward(ctx, z: Tensor, threshold: Tensor, bandwidth: float) -> Tensor:
        ctx.save_for_backward(z, threshold)
        ctx.bandwidth = bandwidth
        return z * (z > threshold).to(z.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        z, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        grad_z = (z > threshold).to(z.dtype) * grad_out  # no straight-through estimate for z
        grad_theta = -(threshold / eps) * rectangle((z - threshold) / eps) * grad_out
        return grad_z, _sum_to(grad_theta, threshold.shape), None


class StepFunction(torch.autograd.Function):
    """H(z - θ), with the rectangle-kernel pseudo-derivative for θ (and none for z). StepFunction.apply(z, θ, ε)."""

    @staticmethod
    def forward(ctx, z: Tensor, threshold: Tensor, bandwidth: float) -> Tensor:
        ctx.save_for_backward(z, threshold)
        ctx.bandwidth = bandwidth
        return (z > threshold).to(z.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        z, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        grad_theta = -(1.0 / eps) * rectangle((z - threshold) / eps) * grad_out
        return torch.zeros_like(z), _sum_to(grad_theta, threshold.shape), None


def jumprelu(z: Tensor, threshold: Tensor, bandwidth: float = 0.05) -> Tensor:
    return JumpReLUFunction.apply(z, threshold, bandwidth)


def step(z: Tensor, threshold: Tensor, bandwidth: float = 0.05) -> Tensor:
    return StepFunction.apply(z, threshold, bandwidth)


@dataclass
class JumpReLUConfig(SAEConfig):
    architecture: str = "jumprelu"  # fixed
    bandwidth: float = 0.05  # ε, the rectangle kernel's width (SAELens's default), in normalised input units
    init_threshold: float = 0.01  # every latent's θ at the start (SAELens's default)
    l0_coefficient: float = 1e-3  # weight of the L0 penalty (per input, summed over latents)
    l0_warmup_fraction: float = 0.1  # the L0 coefficient ramps up from 0 over this first fraction of training

    def __post_init__(self) -> None:
        if self.architecture != "jumprelu":
            raise ValueError("JumpReLUConfig is for architecture 'jumprelu'")
        if self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive, got {self.bandwidth}")


class JumpReLUSAE(SAE):
    """An SAE whose latents each have a trained threshold (`threshold`, (d_sae,))."""

    def __init__(self, cfg: JumpReLUConfig, generator: torch.Generator | None = None):
        super().__init__(cfg, generator)
        self.threshold = nn.Parameter(torch.full((cfg.d_sae,), float(cfg.init_threshold)))  # replaces the buffer

    def __repr__(self) -> str:
        c = self.cfg
        return f"JumpReLUSAE(d_in={c.d_in}, d_sae={c.d_sae}, bandwidth={c.bandwidth:g}, l0={c.l0_coefficient:g})"

    def activate(self, pre: Tensor, batch_topk: bool | None = None) -> Tensor:
        # ReLU first, so a threshold pushed below zero can never let a negative value through
        return jumprelu(torch.relu(pre), self.threshold, self.cfg.bandwidth)

    def extra_loss(self, xn: Tensor, pre: Tensor, acts: Tensor, fraction: float) -> Tensor:
        """The L0 penalty through the step's straight-through estimator (the trainer adds it to the MSE)."""
        c = self.cfg
        warm = min(1.0, fraction / c.l0_warmup_fraction) if c.l0_warmup_fraction > 0 else 1.0
        l0 = step(torch.relu(pre), self.threshold, c.bandwidth).sum(-1).mean()
        return c.l0_coefficient * warm * l0

    @classmethod
    def from_state(cls, config: dict, state: dict) -> "JumpReLUSAE":
        sae = cls(JumpReLUConfig(**config))
        sae.load_state_dict(state)
        return sae.eval()
