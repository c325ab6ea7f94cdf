# Mutant: uses the step function's pseudo-gradient (no factor θ) for JumpReLU's threshold. Must fail: jumprelu_grads


def _backward(ctx, grad_output):
    z, threshold = ctx.saved_tensors
    eps = ctx.bandwidth
    rect = ((z - threshold) / eps).abs() < 0.5
    return (z > threshold) * grad_output, (-(1.0 / eps) * rect * grad_output).sum(0), None


JumpReLU.backward = staticmethod(_backward)  # noqa: F821 - appended to solutions.py
