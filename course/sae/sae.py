"""Sparse autoencoders: the standard ReLU SAE with an L1 penalty, TopK and BatchTopK.

Names follow SAELens: W_enc (d_in, d_sae), b_enc (d_sae), W_dec (d_sae, d_in), b_dec (d_in).

    pre  = (x - b_dec) W_enc + b_enc
    acts = f(pre)                       relu: ReLU           (Bricken et al. 2023, "Towards Monosemanticity")
                                        topk: keep the k largest ReLU(pre) per input (Gao et al. 2024)
                                        batchtopk: keep the k * batch largest over the whole batch
                                                   (Bussmann et al. 2024); at inference, a learned threshold
    x̂    = acts W_dec + b_dec

The decoder's rows (one per latent) are kept at unit norm, so a latent's activation is the size of its
direction in x̂; the ReLU SAE's L1 penalty multiplies each activation by its decoder row's norm anyway
("decoder-norm-aware"), so the penalty can't be dodged by shrinking activations and growing the decoder.

Inputs are scaled by `norm_scale` (set by the trainer so that E||x||² = d_in) before encoding, and outputs are
scaled back, so the SAE reads and writes the model's own units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

ARCHITECTURES = ("relu", "topk", "batchtopk")


@dataclass
class SAEConfig:
    d_in: int  # width of the activations the SAE reads
    d_sae: int  # number of latents (the dictionary size)
    architecture: str = "topk"  # "relu" (L1 penalty), "topk" or "batchtopk"
    k: int = 32  # topk / batchtopk: active latents per input (on average, for batchtopk)
    l1_coefficient: float = 5.0  # relu: weight of the sparsity penalty

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.architecture != "relu" and not 0 < self.k <= self.d_sae:
            raise ValueError(f"k must be between 1 and d_sae ({self.d_sae}), got {self.k}")


class SAE(nn.Module):
    def __init__(self, cfg: SAEConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.cfg = cfg
        W_dec = torch.randn(cfg.d_sae, cfg.d_in, generator=generator)
        W_dec /= W_dec.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(W_dec)
        self.W_enc = nn.Parameter(W_dec.T.clone())  # tied at initialisation, as Gao et al. and Anthropic do
        self.b_enc = nn.Parameter(torch.zeros(cfg.d_sae))
        self.b_dec = nn.Parameter(torch.zeros(cfg.d_in))
        self.register_buffer("norm_scale", torch.ones(()))  # inputs are multiplied by this before encoding
        self.register_buffer("threshold", torch.zeros(()))  # batchtopk: the inference-time cut-off

    def __repr__(self) -> str:
        c = self.cfg
        extra = f"k={c.k}" if c.architecture != "relu" else f"l1={c.l1_coefficient:g}"
        return f"SAE({c.architecture}, d_in={c.d_in}, d_sae={c.d_sae}, {extra})"

    # ------------------------------------------------------------------------------------------------ core

    def pre_acts(self, x: Tensor) -> Tensor:
        """(..., d_in) in model units -> (..., d_sae) pre-activations."""
        return (x * self.norm_scale - self.b_dec) @ self.W_enc + self.b_enc

    def activate(self, pre: Tensor, batch_topk: bool | None = None) -> Tensor:
        """Latent activations from pre-activations. `batch_topk`: for batchtopk, select over the batch
        (training) rather than with the threshold (inference); default: `self.training`."""
        arch = self.cfg.architecture
        relu = torch.relu(pre)
        if arch == "relu":
            return relu
        if arch == "topk" or (arch == "batchtopk" and not (self.training if batch_topk is None else batch_topk)):
            if arch == "batchtopk" and self.threshold > 0:
                return relu * (relu > self.threshold)
            vals, idx = relu.topk(self.cfg.k, dim=-1)
            return torch.zeros_like(relu).scatter_(-1, idx, vals)
        flat = relu.reshape(-1)  # batchtopk: the k * n largest over the whole batch
        n = flat.shape[0] // self.cfg.d_sae
        vals, idx = flat.topk(min(self.cfg.k * n, flat.shape[0]))
        return torch.zeros_like(flat).scatter_(0, idx, vals).reshape(relu.shape)

    def encode(self, x: Tensor) -> Tensor:
        """(..., d_in) -> (..., d_sae) latent activations."""
        return self.activate(self.pre_acts(x))

    def decode(self, acts: Tensor) -> Tensor:
        """(..., d_sae) -> (..., d_in) reconstruction, in model units."""
        return (acts @ self.W_dec + self.b_dec) / self.norm_scale

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction x̂ of x (..., d_in)."""
        return self.decode(self.encode(x))

    # ------------------------------------------------------------------------------------------------ upkeep

    @torch.no_grad()
    def normalise_decoder(self) -> None:
        """Rescale the decoder's rows to unit norm (after each optimiser step)."""
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp(min=1e-8)

    @torch.no_grad()
    def remove_parallel_grads(self) -> None:
        """Drop the part of each decoder row's gradient along the row (it would only change its norm)."""
        if self.W_dec.grad is not None:
            W, G = self.W_dec, self.W_dec.grad
            G -= (G * W).sum(dim=1, keepdim=True) * W

    def config_dict(self) -> dict:
        return asdict(self.cfg)

    @classmethod
    def from_state(cls, config: dict, state: dict) -> "SAE":
        sae = cls(SAEConfig(**config))
        sae.load_state_dict(state)
        return sae.eval()
