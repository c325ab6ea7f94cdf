# Mutant: light=False draws light arcs on dark (the contrast's sign flipped). Must fail: arc_batch, orientation_tuning
from course.vision import stimuli


def arc_batch(orientations, radii, *, light=False, size=(64, 64), centre=None, width=2.0):
    n_o, n_r = len(orientations), len(radii)
    return stimuli.curve(orientations.repeat(n_r), radii.repeat_interleave(n_o), size=size, span=120.0,
                         width=width, contrast=-1.0 if light else 1.0, centre=centre)
