# Mutant: reads the unit at the corner of the feature map instead of its middle. Must fail: boundary_tuning


def boundary_tuning(model, layer, unit, orientations, seeds, centre, size=64, high=0.25, low=0.03):
    a, s = len(orientations), len(seeds)
    images = stimuli.high_low(orientations.repeat_interleave(s), high=high, low=low, seed=seeds.repeat(a),  # noqa: F821
                              size=size, centre=centre)
    act = activations(model, images, [layer])[layer]  # noqa: F821
    return act[:, unit, 0, 0].reshape(a, s).mean(dim=1)
