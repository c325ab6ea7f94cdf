# Mutant: ranks the input kernels by their signed sum instead of their L2 norm. Must fail: strongest_inputs


def strongest_inputs(model, layer, unit, k):
    w = getattr(model, layer).conv.weight.detach()[unit]
    order = w.flatten(1).sum(dim=1).argsort(descending=True)[:k]
    return order, w[order]
