# Mutant: averages the angles as plain numbers (the arithmetic mean). Must fail: circular_mean, preferred_orientation


def circular_mean(angles, weights):
    return (weights * angles).sum(-1) / weights.sum(-1)
