# Mutant: takes each orientation's best seed instead of the mean over seeds. Must fail: classify_units


def classify_units(boundary, fine, coarse, blank, floor=0.0, ratio=2.0):
    b = boundary.amax(dim=2)
    a = b.shape[1]
    best = b.argmax(dim=1)
    peak = b.gather(1, best[:, None])[:, 0]
    flipped = b.gather(1, ((best + a // 2) % a)[:, None])[:, 0]
    f, c = fine.mean(dim=1), coarse.mean(dim=1)
    rival = torch.stack([f, c, flipped]).amax(dim=0)  # noqa: F821 - appended to solutions.py
    high_low = (peak > 0) & (peak >= floor) & (peak >= ratio * rival)
    top, other = torch.maximum(f, c), torch.minimum(f, c)  # noqa: F821
    texture = (top > 0) & (top >= floor) & (top >= ratio * other) & (top >= ratio * blank)
    return ["high-low" if h else "texture" if t else "neither" for h, t in zip(high_low.tolist(), texture.tolist())]
