# Mutant: plain gradient steps instead of multiplicative updates (factors go negative). Must fail: nmf


def nmf(X, k, iters=300, seed=0):
    g = torch.Generator().manual_seed(seed)  # noqa: F821 - appended to solutions.py
    m, n = X.shape
    W = torch.rand(m, k, generator=g, dtype=X.dtype)  # noqa: F821
    H = torch.rand(k, n, generator=g, dtype=X.dtype)  # noqa: F821
    for _ in range(iters):
        R = W @ H - X
        H = H - 0.01 * W.T @ R
        W = W - 0.01 * R @ H.T
    return W, H
