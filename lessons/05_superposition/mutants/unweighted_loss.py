# Mutant: the loss ignores the importance. Must fail: importance_loss


def importance_loss(out, batch, importance):
    return ((batch - out) ** 2).mean(dim=(0, 2)).sum()
