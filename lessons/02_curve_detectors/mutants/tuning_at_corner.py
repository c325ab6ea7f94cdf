# Mutant: reads the units at map position (0, 0) instead of the middle, where the stimulus is. Must fail: orientation_tuning
import torch

from course.vision.probe import activations, centre_of


def orientation_tuning(model, layer, units, orientations, radius, light=False, size=(64, 64)):
    centre = centre_of(model, layer, size)
    images = arc_batch(orientations, torch.tensor([float(radius)]), light=light, size=size, centre=centre)  # noqa: F821
    act = activations(model, images, [layer])[layer]
    return act[:, units, 0, 0].T.contiguous()
