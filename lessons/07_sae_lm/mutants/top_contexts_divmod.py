# Mutant: turns flat indices into (window, position) by the number of windows instead of the window length. Must fail: top_contexts
import torch


def top_contexts(acts, tokens, k=10, left=4, right=2):
    n_windows, n_ctx = acts.shape
    flat = acts.flatten()
    k = min(k, int((flat > 0).sum()))
    values, idx = flat.topk(k)
    windows, positions = idx // n_windows, idx % n_windows
    offsets = torch.arange(-left, right + 1)
    where = positions[:, None] + offsets[None, :]
    inside = (where >= 0) & (where < n_ctx)
    context = tokens[windows.clamp(max=n_windows - 1)[:, None], where.clamp(0, n_ctx - 1)]
    context = torch.where(inside, context, torch.full_like(context, -1))
    return {"values": values, "windows": windows, "positions": positions, "context": context}
