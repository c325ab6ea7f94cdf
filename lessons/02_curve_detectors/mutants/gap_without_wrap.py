# Mutant: forgets the gap that wraps from the largest orientation back round to the smallest. Must fail: widest_gap


def widest_gap(orientations):
    ors = sorted(float(o) % 360 for o in orientations)
    if len(ors) < 2:
        return 360.0
    return max(b - a for a, b in zip(ors, ors[1:]))
