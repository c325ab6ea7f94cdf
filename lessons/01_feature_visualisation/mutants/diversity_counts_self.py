# Mutant: compares every image with itself too (keeps the diagonal). Must fail: diversity
import torch


def diversity(activations):
    flat = activations.flatten(2)
    grams = flat @ flat.transpose(1, 2)
    grams = grams / grams.flatten(1).norm(dim=1)[:, None, None]
    return -torch.einsum("icd,jcd->ij", grams, grams).sum() / activations.shape[0]
