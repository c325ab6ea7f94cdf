# Mutant: scores the family in the order it came instead of ordering it by orientation first. Must fail: circulant_score


def circulant_score(W, orientations):
    Wo = W.double()
    n = Wo.shape[0]
    i = torch.arange(n)  # noqa: F821 - appended to solutions.py
    lag = (i[None, :] - i[:, None]) % n
    means = torch.zeros(n, dtype=Wo.dtype).index_add_(0, lag.flatten(), Wo.flatten()) / n  # noqa: F821
    C = means[lag]
    return float(1 - ((Wo - C) ** 2).sum() / ((Wo - Wo.mean()) ** 2).sum())
