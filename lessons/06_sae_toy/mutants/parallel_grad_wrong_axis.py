# Mutant: the parallel component is computed over the wrong axis (per column). Must fail: remove_parallel_grad


def remove_parallel_grad(W_dec, grad):
    return grad - (grad * W_dec).sum(dim=0, keepdim=True) * W_dec
