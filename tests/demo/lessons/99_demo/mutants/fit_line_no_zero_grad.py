# Mutant: never zeroes the gradients, so they pile up and the fit goes wrong. Must fail: fit_line
import torch


def fit_line(x, y, steps=500, lr=0.1):
    w = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    for _ in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        opt.step()
    return w.item(), b.item()
