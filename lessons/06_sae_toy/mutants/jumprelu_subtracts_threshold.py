# Mutant: JumpReLU returns z - θ above the threshold (a shifted ReLU, which shrinks). Must fail: jumprelu_forward


def _forward(ctx, z, threshold, bandwidth):
    ctx.save_for_backward(z, threshold)
    ctx.bandwidth = bandwidth
    return (z - threshold) * (z > threshold)


JumpReLU.forward = staticmethod(_forward)  # noqa: F821 - appended to solutions.py
