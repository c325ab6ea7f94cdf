# Mutant: divides the colour matrix by its largest column norm twice. Must fail: to_valid_rgb
import torch


def to_valid_rgb(image, decorrelate=True):
    if decorrelate:
        norm = COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()  # noqa: F821 - appended to solutions.py
        matrix = COLOR_CORRELATION_SVD_SQRT / norm / norm  # noqa: F821
        image = torch.einsum("ij,bjhw->bihw", matrix, image)
    return torch.sigmoid(image)
