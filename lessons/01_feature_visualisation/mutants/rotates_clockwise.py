# Mutant: forgets that y points down, so positive angles turn the picture clockwise. Must fail: scale_rotate
import math

import torch
import torch.nn.functional as F


def scale_rotate(images, scale, angle):
    B, C, H, W = images.shape
    a, b = (W - 1) / 2, (H - 1) / 2
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    theta = torch.tensor([[cos / scale, sin * b / (a * scale), 0.0],
                          [-sin * a / (b * scale), cos / scale, 0.0]])
    grid = F.affine_grid(theta.expand(B, 2, 3), [B, C, H, W], align_corners=True)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
