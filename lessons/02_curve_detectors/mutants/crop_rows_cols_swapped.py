# Mutant: uses the column for y and the row for x. Must fail: crop_patches
import torch


def crop_patches(images, where, stride, size):
    padded = torch.nn.functional.pad(images, (size, size, size, size), value=0.5)
    out = []
    for scene, row, col in where.tolist():
        top = stride * col + stride // 2 - size // 2 + size
        left = stride * row + stride // 2 - size // 2 + size
        out.append(padded[scene, :, top:top + size, left:left + size])
    return torch.stack(out)
