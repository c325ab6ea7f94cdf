# Mutant: hands degrees straight to sin and cos. Must fail: circular_mean
import torch


def circular_mean(angles, weights):
    return torch.rad2deg(torch.atan2((weights * torch.sin(angles)).sum(-1),
                                     (weights * torch.cos(angles)).sum(-1))) % 360
