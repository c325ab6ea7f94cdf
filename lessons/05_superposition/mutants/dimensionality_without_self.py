# Mutant: leaves j = i out of the dimensionality's denominator. Must fail: feature_dimensionality
import torch


def feature_dimensionality(W):
    norms2 = (W**2).sum(dim=1)
    return torch.where(norms2 > 1e-6, norms2 / (interference(W) + 1e-12), torch.zeros_like(norms2))  # noqa: F821
