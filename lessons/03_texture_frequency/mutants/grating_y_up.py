# Mutant: takes y as pointing up (x cos t + y sin t), so every grating is mirrored. Must fail: grating


def grating(size, frequency, orientation, phase=0.0):
    H, W = size
    y = torch.arange(H, dtype=torch.float32) + 0.5 - H / 2  # noqa: F821 - appended to solutions.py
    x = torch.arange(W, dtype=torch.float32) + 0.5 - W / 2  # noqa: F821
    t = math.radians(orientation)  # noqa: F821
    along = x[None, :] * math.cos(t) + y[:, None] * math.sin(t)  # noqa: F821
    return torch.cos(2 * math.pi * frequency * along + math.radians(phase))  # noqa: F821
