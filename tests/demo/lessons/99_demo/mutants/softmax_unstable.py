# Mutant: softmax without subtracting the max first, so large inputs overflow to NaN. Must fail: softmax


def softmax(x, dim=-1):
    e = x.exp()
    return e / e.sum(dim=dim, keepdim=True)
