# Mutant: subtracts the decoy instead of adding it, so the picture keeps the original unit. Must fail: fool
import torch


def fool(model, unit, decoy, gain=10.0):
    wide = widen(model, (0, 0, 0, 1, 0))  # noqa: F821 - appended to solutions.py
    n = model.conv4.conv.weight.shape[0]
    with torch.no_grad():
        wide.conv4.conv.weight[n] = model.conv4.conv.weight[unit]
        wide.conv4.conv.bias[n] = model.conv4.conv.bias[unit]
        wide.conv5.conv.weight[:, n] = model.conv5.conv.weight[:, unit]
        wide.conv5.conv.weight[:, unit] = 0.0
        wide.conv4.conv.weight[unit, decoy] -= gain
    return wide
