# Mutant: composes the kernels with F.conv2d (a cross-correlation) without flipping the earlier kernel. Must fail: expanded_weights


def expanded_weights(model, start, end, units):
    names = model.layers
    first = 0 if start is None else names.index(start) + 1
    convs = [getattr(model, name).conv for name in names[first:names.index(end) + 1]]
    kernel = convs[-1].weight.detach()[units]
    for conv in reversed(convs[:-1]):
        w = conv.weight.detach()
        s, k = conv.stride[0], w.shape[-1]
        dilated = torch.zeros(*kernel.shape[:2], (kernel.shape[2] - 1) * s + 1,  # noqa: F821
                              (kernel.shape[3] - 1) * s + 1)
        dilated[:, :, ::s, ::s] = kernel
        kernel = F.conv2d(dilated, w.transpose(0, 1), padding=k - 1)  # noqa: F821 - should be w.transpose(0, 1).flip(-1, -2)
    if start is None:
        kernel = kernel / model.std.view(1, -1, 1, 1)
    return kernel
