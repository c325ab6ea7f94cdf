# Exercises for lesson 99: Demo: tensor warm-ups. Fill in each `raise NotImplementedError`, then run `course check 99`.
# (Generated from solutions.py by `course sync`; edit your own copy, made by `course start 99`.)
"""Lesson 99 (demo): tensor warm-ups. Your exercises: fill in each `raise NotImplementedError`."""

import torch
from torch import Tensor, nn


def relu(x: Tensor) -> Tensor:
    """Elementwise max(x, 0)."""
    # Hint: torch.clamp or torch.where
    raise NotImplementedError("relu: your code here")


def normalise(x: Tensor) -> Tensor:
    """Scale each row of x (shape (n, d)) to unit L2 norm."""
    # Hint: x.norm(dim=-1, keepdim=True) keeps the axis you divide by
    raise NotImplementedError("normalise: your code here")


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Softmax along `dim`, stable for large inputs (subtract the max first)."""
    raise NotImplementedError("softmax: your code here")


def cosine_similarity_matrix(a: Tensor, b: Tensor) -> Tensor:
    """(n, d) and (m, d) -> (n, m) cosine similarities."""
    raise NotImplementedError("cosine_similarity_matrix: your code here")


def count_active(x: Tensor, threshold: float) -> int:
    """How many entries of x exceed `threshold` (a Python int)."""
    raise NotImplementedError("count_active: your code here")


def top_k_indices(x: Tensor, k: int) -> Tensor:
    """Indices of the k largest entries of the 1-D tensor x, largest first."""
    raise NotImplementedError("top_k_indices: your code here")


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error, a 0-dimensional tensor."""
    raise NotImplementedError("mse: your code here")


class Affine(nn.Module):
    """y = x W^T + b, with W of shape (d_out, d_in)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(d_out, d_in))
        self.b = nn.Parameter(torch.zeros(d_out))

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError("forward: your code here")


def summary_stats(x: Tensor) -> dict:
    """{"mean": mean of x, "std": unbiased standard deviation of x}, both Python floats."""
    raise NotImplementedError("summary_stats: your code here")


def fit_line(x: Tensor, y: Tensor, steps: int = 500, lr: float = 0.1) -> tuple[float, float]:
    """Fit y ~ w x + b by gradient descent on the MSE; return (w, b) as floats."""
    raise NotImplementedError("fit_line: your code here")
