# Mutant: updates only H; W keeps its random start. Must fail: nmf


def nmf(X, k, iters=300, seed=0):
    g = torch.Generator().manual_seed(seed)  # noqa: F821 - appended to solutions.py
    m, n = X.shape
    scale = (X.mean() / k).sqrt()
    W = torch.rand(m, k, generator=g, dtype=X.dtype) * scale  # noqa: F821
    H = torch.rand(k, n, generator=g, dtype=X.dtype) * scale  # noqa: F821
    for _ in range(iters):
        H = H * (W.T @ X) / (W.T @ W @ H + 1e-12)
    return W, H
