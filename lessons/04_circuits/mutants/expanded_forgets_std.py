# Mutant: expands back to the pixels without folding in the model's input normalisation (1 / std). Must fail: expanded_weights


def expanded_weights(model, start, end, units):
    names = model.layers
    first = 0 if start is None else names.index(start) + 1
    convs = [getattr(model, name).conv for name in names[first:names.index(end) + 1]]
    kernel = convs[-1].weight.detach()[units]
    for conv in reversed(convs[:-1]):
        kernel = F.conv_transpose2d(kernel, conv.weight.detach(), stride=conv.stride)  # noqa: F821
    return kernel
