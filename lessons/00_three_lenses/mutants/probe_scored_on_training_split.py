# Mutant: reports the probe's accuracy on its own training cells. Must fail: train_probe
import torch
import torch.nn.functional as F


def train_probe(probe, x_train, y_train, x_test, y_test, steps=200, lr=0.02):
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(probe(x_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        accuracy = (probe(x_train).argmax(1) == y_train).float().mean().item()
    return probe, accuracy
