"""Matryoshka SAEs (Bussmann, Nabeshima, Karvonen & Nanda 2025, arXiv 2503.17547): nested dictionaries.

The latents are ordered, and every prefix of the dictionary must reconstruct the input on its own:

    matryoshka_widths = (m_1, m_2, ..., d_sae)         prefix sizes, increasing
    x̂_m = acts[:, :m] W_dec[:m] + b_dec                 the reconstruction from the first m latents only
    loss = Σ_m ||x - x̂_m||²                             (+ the usual sparsity or AuxK terms)

The latents are chosen once, over the whole dictionary (TopK, BatchTopK or ReLU + L1, as in the plain SAE); the
prefixes only truncate them. Why it helps: the first latents must reconstruct *without* the later ones, so
they can't leave a general feature (a parent, "starts with S") to be folded into specific ones (its children,
"short"): an early latent that skipped the parent whenever a child fires would leave the parent's direction
unreconstructed in the small prefix. This is what reduces feature absorption (Chanin et al. 2024), which
`course.sae.groundtruth.absorption` measures on `course.sae.toy.HierarchicalFeatures`.

Bussmann et al. average the prefix losses; we sum them (the factor only rescales the loss, which Adam ignores,
apart from the auxiliary loss's relative weight). Names follow SAELens's `matryoshka_batchtopk` SAE.

    sae = MatryoshkaSAE(MatryoshkaConfig(d_in=32, d_sae=64, architecture="topk", k=3, matryoshka_widths=(8, 64)))
    train_sae(sae, data)                                      # the trainer adds sae.extra_loss (the prefixes)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from course.sae.sae import SAE, SAEConfig


@dataclass
class MatryoshkaConfig(SAEConfig):
    matryoshka_widths: tuple[int, ...] = ()  # prefix sizes, increasing; d_sae is appended if missing

    def __post_init__(self) -> None:
        super().__post_init__()
        widths = tuple(int(w) for w in self.matryoshka_widths)
        if not widths or widths[-1] != self.d_sae:
            widths = widths + (self.d_sae,)
        if any(b <= a for a, b in zip(widths, widths[1:])) or widths[0] <= 0 or widths[-1] != self.d_sae:
            raise ValueError(f"matryoshka_widths must increase from above 0 up to d_sae ({self.d_sae}); got "
                             f"{self.matryoshka_widths}")
        self.matryoshka_widths = widths


class MatryoshkaSAE(SAE):
    """A plain SAE (same parameters, same activation rule) trained so every prefix reconstructs alone."""

    def __repr__(self) -> str:
        c = self.cfg
        extra = f"k={c.k}" if c.architecture != "relu" else f"l1={c.l1_coefficient:g}"
        return f"MatryoshkaSAE({c.architecture}, d_in={c.d_in}, d_sae={c.d_sae}, {extra}, widths={c.matryoshka_widths})"

    def prefix_reconstructions(self, acts: Tensor) -> list[Tensor]:
        """(..., d_sae) -> one (..., d_in) reconstruction per prefix, in normalised units (the last is x̂)."""
        out, recon, start = [], self.b_dec, 0
        for end in self.cfg.matryoshka_widths:
            recon = recon + acts[..., start:end] @ self.W_dec[start:end]
            out.append(recon)
            start = end
        return out

    def extra_loss(self, xn: Tensor, pre: Tensor, acts: Tensor, fraction: float) -> Tensor:
        """The reconstruction losses of the proper prefixes (the trainer already has the full one)."""
        recons = self.prefix_reconstructions(acts)[:-1]
        if not recons:
            return xn.new_zeros(())
        return torch.stack([(r - xn).pow(2).sum(-1).mean() for r in recons]).sum()

    @classmethod
    def from_state(cls, config: dict, state: dict) -> "MatryoshkaSAE":
        sae = cls(MatryoshkaConfig(**config))
        sae.load_state_dict(state)
        return sae.eval()
