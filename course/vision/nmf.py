"""Non-negative matrix factorisation by multiplicative updates, in torch: X (m, n) >= 0  ~  W (m, k) @ H (k, n).

Lee and Seung, "Algorithms for non-negative matrix factorization" (NeurIPS 2000): minimise ||X - W H||_F^2 over
non-negative W and H by alternating

    H <- H * (W^T X) / (W^T W H)          W <- W * (X H^T) / (W H H^T)

Each update multiplies by a non-negative ratio, so factors that start positive stay non-negative (no clipping,
no step size), and neither update can increase the error. The circuits thread uses NMF to find the few
directions that weights or activations are built from (Olah et al., "The Building Blocks of Interpretability",
Distill 2018; Schubert et al., "High-Low Frequency Detectors", Distill 2021). The lesson factorises expanded
weights, split into their excitatory and inhibitory parts (`course.vision.expanded.split_signs`), into a
high-frequency and a low-frequency factor.

We write the ~20 lines ourselves rather than depend on scikit-learn: the course needs torch tensors, a fixed
`H` (fitting new rows onto known factors), and a few seconds per run; `tests/vision/test_nmf.py` compares the
reconstruction error with scikit-learn's multiplicative-update solver where it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course.errors import CourseError

EPS = 1e-12  # keeps the ratios finite where a denominator is 0 (the numerator is then 0 too)


@dataclass(frozen=True)
class NMFConfig:
    k: int = 2  # number of factors
    iters: int = 2000  # multiplicative updates of both factors
    seed: int = 0  # the random initialisation's generator seed
    tol: float = 0.0  # stop early when the relative error improves by less than this over 50 updates (0: never)


@dataclass
class Factorisation:
    """X ~ W @ H: `W` (m, k) says how much of each factor every row uses, `H` (k, n) what each factor is."""

    W: torch.Tensor
    H: torch.Tensor
    error: float  # ||X - W H||_F / ||X||_F
    iters: int

    def __repr__(self) -> str:
        return (f"Factorisation(W {tuple(self.W.shape)}, H {tuple(self.H.shape)}, relative error {self.error:.4f}, "
                f"{self.iters} updates)")

    @property
    def explained(self) -> float:
        """The share of ||X||^2 the factorisation reproduces: 1 - error^2."""
        return 1.0 - self.error**2


def relative_error(X: torch.Tensor, W: torch.Tensor, H: torch.Tensor) -> float:
    """||X - W H||_F / ||X||_F (0: exact)."""
    return float((X - W @ H).norm() / X.norm().clamp_min(1e-30))


def nmf(X: torch.Tensor, config: NMFConfig | None = None, H: torch.Tensor | None = None, **overrides) -> Factorisation:
    """Factorise non-negative X (m, n) into W (m, k) @ H (k, n), both non-negative.

    Pass `H` to keep those factors fixed and fit only W (non-negative least squares by the same update): how
    much of each known factor every row of a new X uses. Keyword overrides set `NMFConfig` fields, e.g.
    `nmf(X, k=3)`. The rows of the returned H have unit norm (their scale moved into W), and the factors are
    sorted by how much of X they carry (the column norms of W times row norms of H), largest first.
    """
    cfg = NMFConfig(**{**(config.__dict__ if config else {}), **overrides})
    if X.dim() != 2:
        raise CourseError(f"X must be a matrix (m, n), got shape {tuple(X.shape)}")
    if bool((X < 0).any()):
        raise CourseError("NMF needs a non-negative X; split signed data first (e.g. expanded.split_signs)")
    g = torch.Generator().manual_seed(cfg.seed)
    m, n = X.shape
    fixed = H is not None
    k = H.shape[0] if fixed else cfg.k
    scale = (X.mean() / k).sqrt()  # scikit-learn's "random" initialisation: W H then has about X's mean
    W = (torch.rand(m, k, generator=g, dtype=torch.float64) * scale.double()).to(X.dtype)
    if fixed:
        H = H.to(X.dtype)
    else:
        H = (torch.rand(k, n, generator=g, dtype=torch.float64) * scale.double()).to(X.dtype)
    last, done = relative_error(X, W, H), 0
    for done in range(1, cfg.iters + 1):
        if not fixed:
            H = H * (W.T @ X) / (W.T @ W @ H + EPS)  # (k, n)
        W = W * (X @ H.T) / (W @ (H @ H.T) + EPS)  # (m, k)
        if cfg.tol and done % 50 == 0:
            err = relative_error(X, W, H)
            if last - err < cfg.tol:
                break
            last = err
    if not fixed:
        norms = H.norm(dim=1).clamp_min(1e-30)  # (k,)
        H, W = H / norms[:, None], W * norms[None, :]
        order = torch.argsort(W.norm(dim=0), descending=True)
        W, H = W[:, order], H[order]
    return Factorisation(W, H, relative_error(X, W, H), done)


def error_by_rank(X: torch.Tensor, ranks=(1, 2, 3, 4), **overrides) -> dict[int, float]:
    """{k: relative error of the k-factor NMF}: how many factors the data needs."""
    return {k: nmf(X, k=k, **overrides).error for k in ranks}
