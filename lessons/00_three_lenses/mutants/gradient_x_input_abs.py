# Mutant: takes the absolute value of the gradient before multiplying by the input. Must fail: gradient_x_input
import torch


def gradient_x_input(model, x, target):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(logit(model, x, target).sum(), x)  # noqa: F821 - appended to solutions.py
    return x.detach() * grad.abs()
