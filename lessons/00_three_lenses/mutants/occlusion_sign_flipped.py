# Mutant: occluded minus clean (the sign flipped). Must fail: occlusion
import torch


def occlusion(model, x, target, size=8, value=0.5):
    n, _, h, w = x.shape
    out = torch.zeros(n, h // size, w // size)
    with torch.no_grad():
        clean = logit(model, x, target)  # noqa: F821 - appended to solutions.py
        for i in range(h // size):
            for j in range(w // size):
                hidden = x.clone()
                hidden[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size] = value
                out[:, i, j] = logit(model, hidden, target) - clean  # noqa: F821
    return out
