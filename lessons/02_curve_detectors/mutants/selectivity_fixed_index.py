# Mutant: takes length index 0 as the endless lines whatever `lengths` says. Must fail: selectivity
import torch


def selectivity(curves, lines, lengths):
    best = curves.flatten(1).amax(1)
    line = lines[:, :, 0].flatten(1).amax(1)
    segment = lines[:, :, 1:].flatten(1).amax(1)
    return torch.stack([best / line, best / segment], 1)
