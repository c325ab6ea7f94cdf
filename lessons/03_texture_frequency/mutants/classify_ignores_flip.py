# Mutant: never compares the boundary with itself turned 180 degrees. Must fail: classify_units


def classify_units(boundary, fine, coarse, blank, floor=0.0, ratio=2.0):
    b = boundary.mean(dim=2)
    peak = b.amax(dim=1)
    f, c = fine.mean(dim=1), coarse.mean(dim=1)
    rival = torch.maximum(f, c)  # noqa: F821 - appended to solutions.py
    high_low = (peak > 0) & (peak >= floor) & (peak >= ratio * rival)
    top, other = torch.maximum(f, c), torch.minimum(f, c)  # noqa: F821
    texture = (top > 0) & (top >= floor) & (top >= ratio * other) & (top >= ratio * blank)
    return ["high-low" if h else "texture" if t else "neither" for h, t in zip(high_low.tolist(), texture.tolist())]
