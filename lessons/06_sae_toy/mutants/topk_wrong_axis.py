# Mutant: TopK over the batch axis (k inputs per latent) instead of k latents per input. Must fail: topk_activation
import torch


def topk_activation(pre, k):
    values, idx = torch.relu(pre).topk(k, dim=0)
    return torch.zeros_like(pre).scatter(0, idx, values)
