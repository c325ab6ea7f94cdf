# Mutant: calls any two represented features superposition, whatever their signs. Must fail: classify_phase
import torch


def classify_phase(W, threshold=0.5):
    w = W.reshape(-1, 2)
    on = w.abs() > threshold
    phase = torch.full((w.shape[0],), 3, dtype=torch.long)
    phase[on[:, 0] & ~on[:, 1]] = 0
    phase[~on[:, 0] & on[:, 1]] = 1
    phase[on[:, 0] & on[:, 1]] = 2
    return phase
