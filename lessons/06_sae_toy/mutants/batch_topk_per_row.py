# Mutant: BatchTopK that is really TopK (exactly k per input). Must fail: batch_topk_activation
import torch


def batch_topk_activation(pre, k):
    values, idx = torch.relu(pre).topk(k, dim=-1)
    return torch.zeros_like(pre).scatter(-1, idx, values)
