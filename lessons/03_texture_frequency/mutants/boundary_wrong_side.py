# Mutant: puts the fine texture on the side the orientation points away from. Must fail: boundary


def boundary(fine, coarse, orientation, position=0.0):
    H, W = fine.shape
    y = torch.arange(H, dtype=fine.dtype) + 0.5 - H / 2  # noqa: F821 - appended to solutions.py
    x = torch.arange(W, dtype=fine.dtype) + 0.5 - W / 2  # noqa: F821
    t = math.radians(orientation)  # noqa: F821
    along = x[None, :] * math.cos(t) - y[:, None] * math.sin(t)  # noqa: F821
    side = (along - position + 0.5).clamp(0, 1)
    return side * coarse + (1 - side) * fine
