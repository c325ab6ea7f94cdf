# Mutant: saliency of the softmax probability instead of the logit. Must fail: saliency
import torch


def saliency(model, x, target):
    cls, row, col = target
    x = x.clone().requires_grad_(True)
    prob = torch.softmax(model(x), dim=1)[:, cls, row, col]
    (grad,) = torch.autograd.grad(prob.sum(), x)
    return grad.abs()
