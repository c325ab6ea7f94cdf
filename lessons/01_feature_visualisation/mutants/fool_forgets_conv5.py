# Mutant: copies the unit but leaves conv5 reading the rewired one, so the outputs change. Must fail: fool
import torch


def fool(model, unit, decoy, gain=10.0):
    wide = widen(model, (0, 0, 0, 1, 0))  # noqa: F821 - appended to solutions.py
    n = model.conv4.conv.weight.shape[0]
    with torch.no_grad():
        wide.conv4.conv.weight[n] = model.conv4.conv.weight[unit]
        wide.conv4.conv.bias[n] = model.conv4.conv.bias[unit]
        wide.conv4.conv.weight[unit, decoy] += gain
    return wide
