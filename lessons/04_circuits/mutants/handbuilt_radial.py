# Mutant: wires the line detectors along the radius instead of the tangent (90 degrees off). Must fail: curve_family_kernels


def curve_family_kernels(line_units, line_orientations, orientations, channels):
    kernels = torch.zeros(len(orientations), channels, 3, 3)  # noqa: F821 - appended to solutions.py
    lines = torch.as_tensor(line_units, dtype=torch.long)  # noqa: F821
    lo = torch.as_tensor(line_orientations, dtype=torch.float32).view(-1, 1, 1)  # noqa: F821
    for k, theta in enumerate(orientations.tolist()):
        distance, tangent = arc_taps(theta, 12.0, 8.0, 120.0)  # noqa: F821
        g = torch.exp(-distance ** 2 / 50.0)  # noqa: F821
        match = torch.cos(torch.deg2rad(2 * (lo - tangent - 90)))  # noqa: F821
        kernels[k, lines] = g * match - 0.3 * (1 - g)
    return kernels
