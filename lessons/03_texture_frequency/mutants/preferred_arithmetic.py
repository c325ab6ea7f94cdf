# Mutant: the arithmetic centroid of the frequencies instead of the geometric one. Must fail: preferred_frequency


def preferred_frequency(curve, frequencies):
    peak = curve.amax(dim=1, keepdim=True)
    w = (curve - peak / 2).clamp(min=0)
    centroid = (w * frequencies).sum(dim=1) / w.sum(dim=1)
    return torch.where(peak[:, 0] > 0, centroid, torch.full_like(centroid, float("nan")))  # noqa: F821
