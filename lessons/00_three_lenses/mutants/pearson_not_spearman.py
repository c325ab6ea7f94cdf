# Mutant: the Pearson correlation of the values, without ranking them. Must fail: spearman
import torch


def spearman(a, b):
    out = []
    for p, q in zip(a.flatten(1).double(), b.flatten(1).double()):
        p, q = p - p.mean(), q - q.mean()
        out.append((p * q).sum() / (p.norm() * q.norm()))
    return torch.stack(out)
