# Mutant: one label per type, but drawn uniformly over the classes rather than from the task's distribution. Must fail: control_labels
import torch


def control_labels(types, labels, n_types, seed=0):
    g = torch.Generator().manual_seed(seed)
    table = torch.randint(0, int(labels.max()) + 1, (n_types,), generator=g)
    return table[types]
