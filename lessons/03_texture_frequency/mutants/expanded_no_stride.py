# Mutant: composes the kernels as if every stride were 1. Must fail: expanded_weights


def expanded_weights(weights, strides):
    kernel = weights[-1]
    for w in reversed(weights[:-1]):
        kernel = F.conv_transpose2d(kernel, w)  # noqa: F821 - appended to solutions.py
    return kernel
