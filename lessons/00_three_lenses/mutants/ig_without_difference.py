# Mutant: IG without the (x - baseline) factor (the averaged gradient alone). Must fail: integrated_gradients
import torch


def integrated_gradients(model, x, target, baseline, steps=32):
    total = torch.zeros_like(x)
    for k in range(steps):
        point = (baseline + (k + 0.5) / steps * (x - baseline)).requires_grad_(True)
        (grad,) = torch.autograd.grad(logit(model, point, target).sum(), point)  # noqa: F821 - appended to solutions.py
        total += grad
    attributions = total / steps
    with torch.no_grad():
        gap = logit(model, x, target) - logit(model, baseline, target)  # noqa: F821
    return attributions, attributions.flatten(1).sum(1) - gap
