"""How good is a sparse autoencoder? Reconstruction, sparsity, dead latents, and ground truth where known.

Two measures of reconstruction that are easy to confuse:

    fvu                 fraction of variance unexplained, the textbook one: the residual sum of squares over the
                        total sum of squares around the mean, each summed over all inputs and dimensions,
                            FVU = Σ ||x - x̂||² / Σ ||x - mean(x)||²       (0 perfect, 1 no better than the mean)
    explained_variance  SAELens's: the same ratio per input, averaged over inputs, then 1 minus it,
                            EV = mean over inputs of (1 - ||x - x̂||² / ||x - mean(x)||²)
                        A mean of ratios is not 1 - FVU: inputs near the mean weigh far more in it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from course.sae.sae import SAE


@torch.no_grad()
def evaluate(sae: SAE, x: Tensor, batch_size: int = 8192, dense_above: float = 0.1) -> dict:
    """Metrics of `sae` on the inputs x (n, d_in), in model units.

    Returns mse (mean over inputs of ||x - x̂||²), fvu, explained_variance, l0 (active latents per input),
    dead_fraction (latents that never fire on x), dense_fraction (latents firing on more than `dense_above` of
    the inputs) and density (each latent's firing frequency, (d_sae,)).
    """
    sae.eval()
    mean = x.mean(0)
    rss = tss = 0.0
    per_input_ratio = []
    fires = torch.zeros(sae.cfg.d_sae, device=x.device)
    l0 = 0.0
    for chunk in x.split(batch_size):
        acts = sae.encode(chunk)
        x_hat = sae.decode(acts)
        r = (chunk - x_hat).pow(2).sum(-1)
        t = (chunk - mean).pow(2).sum(-1)
        rss, tss = rss + r.sum().item(), tss + t.sum().item()
        per_input_ratio.append(r / t.clamp(min=1e-12))
        active = acts > 0
        fires += active.float().sum(0)
        l0 += active.float().sum().item()
    n = x.shape[0]
    density = fires / n
    return {
        "mse": rss / n,
        "fvu": rss / max(tss, 1e-12),
        "explained_variance": 1 - torch.cat(per_input_ratio).mean().item(),
        "l0": l0 / n,
        "dead_fraction": (density == 0).float().mean().item(),
        "dense_fraction": (density > dense_above).float().mean().item(),
        "density": density,
    }


def mean_max_cosine(W_dec: Tensor, true_features: Tensor) -> float:
    """For each true feature (rows of (n_features, d_in)), the best cosine similarity with any decoder row,
    averaged: 1 means every true feature has a latent pointing exactly its way."""
    a = true_features / true_features.norm(dim=1, keepdim=True)
    b = W_dec / W_dec.norm(dim=1, keepdim=True)
    return (a @ b.T).max(dim=1).values.mean().item()


def density_histogram(density: Tensor, bins: int = 30) -> tuple[Tensor, Tensor]:
    """Histogram of log10 firing frequency of the live latents: (counts, bin edges)."""
    live = density[density > 0].log10()
    if live.numel() == 0:
        return torch.zeros(bins), torch.linspace(-6, 0, bins + 1)
    lo = min(live.min().item(), -6.0)
    counts = torch.histc(live, bins=bins, min=lo, max=0.0)
    return counts, torch.linspace(lo, 0.0, bins + 1)
