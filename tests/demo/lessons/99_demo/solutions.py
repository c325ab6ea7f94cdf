"""Lesson 99 (demo): tensor warm-ups. Reference solutions."""

import torch
from torch import Tensor, nn


def relu(x: Tensor) -> Tensor:
    """Elementwise max(x, 0)."""
    # BEGIN SOLUTION hint: torch.clamp or torch.where
    return x.clamp(min=0)
    # END SOLUTION


def normalise(x: Tensor) -> Tensor:
    """Scale each row of x (shape (n, d)) to unit L2 norm."""
    # BEGIN SOLUTION hint: x.norm(dim=-1, keepdim=True) keeps the axis you divide by
    return x / x.norm(dim=-1, keepdim=True)
    # END SOLUTION


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Softmax along `dim`, stable for large inputs (subtract the max first)."""
    # BEGIN SOLUTION
    z = x - x.amax(dim=dim, keepdim=True)
    e = z.exp()
    return e / e.sum(dim=dim, keepdim=True)
    # END SOLUTION


def cosine_similarity_matrix(a: Tensor, b: Tensor) -> Tensor:
    """(n, d) and (m, d) -> (n, m) cosine similarities."""
    # BEGIN SOLUTION
    return normalise(a) @ normalise(b).T
    # END SOLUTION


def count_active(x: Tensor, threshold: float) -> int:
    """How many entries of x exceed `threshold` (a Python int)."""
    # BEGIN SOLUTION
    return int((x > threshold).sum().item())
    # END SOLUTION


def top_k_indices(x: Tensor, k: int) -> Tensor:
    """Indices of the k largest entries of the 1-D tensor x, largest first."""
    # BEGIN SOLUTION
    return x.topk(k).indices
    # END SOLUTION


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error, a 0-dimensional tensor."""
    # BEGIN SOLUTION
    return ((pred - target) ** 2).mean()
    # END SOLUTION


class Affine(nn.Module):
    """y = x W^T + b, with W of shape (d_out, d_in)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(d_out, d_in))
        self.b = nn.Parameter(torch.zeros(d_out))

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION
        return x @ self.W.T + self.b
        # END SOLUTION


def summary_stats(x: Tensor) -> dict:
    """{"mean": mean of x, "std": unbiased standard deviation of x}, both Python floats."""
    # BEGIN SOLUTION
    return {"mean": x.mean().item(), "std": x.std().item()}
    # END SOLUTION


def fit_line(x: Tensor, y: Tensor, steps: int = 500, lr: float = 0.1) -> tuple[float, float]:
    """Fit y ~ w x + b by gradient descent on the MSE; return (w, b) as floats."""
    # BEGIN SOLUTION
    w = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = mse(w * x + b, y)
        loss.backward()
        opt.step()
    return w.item(), b.item()
    # END SOLUTION
