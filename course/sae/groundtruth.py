"""How well does an SAE recover features we know? Matched-feature metrics and feature absorption.

On toy data (`course.sae.toy`) the true feature directions and their coefficients are known, so an SAE can be
graded against them:

    cosines(W_dec, features)      (n_features, d_sae) cosine of every true feature with every decoder row
    mean_max_cosine               for each true feature its best latent's cosine, averaged (MMC; features may
                                  share a latent)
    mcc                           Hungarian-matched mean |cosine|: each true feature gets its own latent
                                  (SAELens's `mean_correlation_coefficient`, scipy's linear_sum_assignment)
    shrinkage                     mean ||x̂|| / ||x|| over inputs (SAELens's ShrinkageCalculator): below 1 when
                                  the sparsity penalty pulls activations down (ReLU + L1), about 1 for TopK/JumpReLU
    l0s                           true L0 (active features per input) beside the SAE's L0
    absorption                    feature absorption on hierarchical data (Chanin et al. 2024, arXiv 2409.14507)

Absorption: in `HierarchicalFeatures` a parent is active whenever one of its children is. An SAE under sparsity
pressure can save a latent by letting the child's latent point at "parent + child" and keeping the parent's
latent silent whenever that child fires. We match every true feature to its own latent (the Hungarian match
on signed cosine), then, over the inputs where a child and its parent are both active, count the fraction
where the parent's latent is silent while the child's latent fires and carries the parent's direction
(decoder cosine with the parent at least `min_parent_cosine`). That fraction is the absorption rate.
"""

from __future__ import annotations

import torch
from torch import Tensor

from course.sae.metrics import mean_max_cosine
from course.sae.sae import SAE

__all__ = ["absorption", "compare_to_truth", "cosines", "l0s", "match", "mcc", "mean_max_cosine", "shrinkage"]


def cosines(W_dec: Tensor, features: Tensor) -> Tensor:
    """(n_features, d_sae): cosine similarity of each true feature (rows of features) with each decoder row."""
    a = features / features.norm(dim=1, keepdim=True).clamp(min=1e-8)
    b = W_dec / W_dec.norm(dim=1, keepdim=True).clamp(min=1e-8)
    return a @ b.T


def match(W_dec: Tensor, features: Tensor, absolute: bool = False) -> Tensor:
    """(n_features,) long: the latent matched to each true feature, one latent per feature (Hungarian), maximising
    the summed cosine (|cosine| if `absolute`); -1 for features left over when d_sae < n_features."""
    from scipy.optimize import linear_sum_assignment

    c = cosines(W_dec, features).detach().cpu().double()
    if absolute:
        c = c.abs()
    rows, cols = linear_sum_assignment(-c.numpy())
    out = torch.full((features.shape[0],), -1, dtype=torch.long)
    out[torch.as_tensor(rows, dtype=torch.long)] = torch.as_tensor(cols, dtype=torch.long)
    return out


def mcc(W_dec: Tensor, features: Tensor) -> float:
    """Hungarian-matched mean |cosine| between true features and decoder rows (SAELens's MCC): 1 means each
    true feature has a latent of its own pointing exactly its way (or exactly against it)."""
    m = match(W_dec, features, absolute=True)
    c = cosines(W_dec, features).abs()
    rows = (m >= 0).nonzero().flatten()
    return c[rows, m[rows]].mean().item()


def shrinkage(x: Tensor, x_hat: Tensor, min_norm: float = 1e-6) -> float:
    """Mean ||x̂|| / ||x|| over the inputs with ||x|| > min_norm (an all-zero input has no ratio)."""
    n = x.norm(dim=-1)
    keep = n > min_norm
    if not keep.any():
        return float("nan")
    return (x_hat.norm(dim=-1)[keep] / n[keep]).mean().item()


def l0s(coefficients: Tensor, acts: Tensor) -> tuple[float, float]:
    """(true L0, SAE L0): mean active features, and mean active latents, per input."""
    return (coefficients > 0).float().sum(-1).mean().item(), (acts > 0).float().sum(-1).mean().item()


@torch.no_grad()
def absorption(acts: Tensor, coefficients: Tensor, W_dec: Tensor, features: Tensor, parent_of: Tensor,
               min_parent_cosine: float = 0.1) -> dict:
    """Feature absorption of an SAE on hierarchical toy data.

    acts: (n, d_sae) latent activations on the inputs made from `coefficients` (n, n_features); W_dec
    (d_sae, d_in); features (n_features, d_in); parent_of (n_features,), -1 where a feature has no parent.

    Returns rate (absorbed / co-active, pooled over every child), per_child (n_children,) rates, the parent
    latents' recall where the parent is active alone (`parent_alone_recall`) and where a child is active too
    (`parent_with_child_recall`), and `latents` (n_features,), the matched latent of each feature.
    """
    m = match(W_dec, features)
    cos = cosines(W_dec, features)
    fires = acts > 0
    on = coefficients > 0
    children = (parent_of >= 0).nonzero().flatten()
    absorbed_total = both_total = 0
    with_child_hits = 0
    per_child = []
    for c in children.tolist():
        p = int(parent_of[c])
        lp, lc = int(m[p]), int(m[c])
        both = on[:, c] & on[:, p]
        n_both = int(both.sum())
        if lp < 0 or lc < 0 or n_both == 0:
            per_child.append(float("nan"))
            continue
        carries = bool(cos[p, lc] >= min_parent_cosine)
        absorbed = both & ~fires[:, lp] & fires[:, lc] if carries else torch.zeros_like(both)
        per_child.append(absorbed.sum().item() / n_both)
        absorbed_total += int(absorbed.sum())
        both_total += n_both
        with_child_hits += int((both & fires[:, lp]).sum())
    parents = sorted({int(parent_of[c]) for c in children.tolist()})
    alone_hits = alone_total = 0
    for p in parents:
        kids = (parent_of == p).nonzero().flatten()
        alone = on[:, p] & ~on[:, kids].any(-1)
        if m[p] >= 0:
            alone_hits += int((alone & fires[:, int(m[p])]).sum())
        alone_total += int(alone.sum())
    return {
        "rate": absorbed_total / both_total if both_total else float("nan"),
        "per_child": torch.tensor(per_child),
        "parent_alone_recall": alone_hits / alone_total if alone_total else float("nan"),
        "parent_with_child_recall": with_child_hits / both_total if both_total else float("nan"),
        "latents": m,
    }


@torch.no_grad()
def compare_to_truth(sae: SAE, x: Tensor, coefficients: Tensor, features: Tensor) -> dict:
    """Every ground-truth metric of `sae` on inputs x (n, d_in) made from `coefficients` (n, n_features):
    mmc, mcc, shrinkage, true_l0, sae_l0, fvu and dead_fraction (latents that never fire on x)."""
    sae.eval()
    acts = sae.encode(x)
    x_hat = sae.decode(acts)
    true_l0, sae_l0 = l0s(coefficients, acts)
    rss = (x - x_hat).pow(2).sum()
    tss = (x - x.mean(0)).pow(2).sum().clamp(min=1e-12)
    return {
        "mmc": mean_max_cosine(sae.W_dec, features),
        "mcc": mcc(sae.W_dec, features),
        "shrinkage": shrinkage(x, x_hat),
        "true_l0": true_l0,
        "sae_l0": sae_l0,
        "fvu": (rss / tss).item(),
        "dead_fraction": ((acts > 0).sum(0) == 0).float().mean().item(),
    }
