# Mutant: shifts with torch.roll, so pixels wrap round instead of zeros coming in. Must fail: jitter
import torch


def jitter(images, dx, dy):
    return torch.roll(images, shifts=(dy, dx), dims=(-2, -1))
