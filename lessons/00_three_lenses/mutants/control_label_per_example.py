# Mutant: draws a control label for every example instead of one per type. Must fail: control_labels
import torch


def control_labels(types, labels, n_types, seed=0):
    g = torch.Generator().manual_seed(seed)
    counts = torch.bincount(labels).double()
    return torch.multinomial(counts / counts.sum(), len(types), replacement=True, generator=g)
