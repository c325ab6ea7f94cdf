"""JumpReLU: the custom backward against values computed by hand, the z-gradient against autograd, and the SAE
built on it (threshold per latent, the L0 term, save/load)."""

from __future__ import annotations

import pytest
import torch

from course.sae.jumprelu import JumpReLUConfig, JumpReLUFunction, JumpReLUSAE, StepFunction, jumprelu, rectangle, step

# Two inputs, three latents, bandwidth 0.1 (so rect(...) = 1 where |z - θ| < 0.05).
Z = torch.tensor([[0.30, 0.52, 0.60],
                  [0.48, 0.10, 0.55]])
THETA = torch.tensor([0.50, 0.50, 0.58])
G = torch.tensor([[1.0, 2.0, 3.0],
                  [4.0, 5.0, 6.0]])  # the upstream gradient
EPS = 0.1
# By hand: within ε/2 of θ are z[1,0] = 0.48 (latent 0), z[0,1] = 0.52 (latent 1), z[0,2] = 0.60 and z[1,2] = 0.55
# (latent 2); z[0,0] = 0.30 and z[1,1] = 0.10 are not.
JUMP_OUT = torch.tensor([[0.0, 0.52, 0.60], [0.0, 0.0, 0.0]])
JUMP_DZ = torch.tensor([[0.0, 2.0, 3.0], [0.0, 0.0, 0.0]])  # g where z > θ
JUMP_DTHETA = torch.tensor([-(0.50 / EPS) * 4.0, -(0.50 / EPS) * 2.0, -(0.58 / EPS) * (3.0 + 6.0)])  # -20, -10, -52.2
STEP_OUT = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
STEP_DTHETA = torch.tensor([-(1 / EPS) * 4.0, -(1 / EPS) * 2.0, -(1 / EPS) * 9.0])  # -40, -20, -90


def _grads(fn):
    z = Z.clone().requires_grad_(True)
    th = THETA.clone().requires_grad_(True)
    out = fn.apply(z, th, EPS)
    out.backward(G)
    return out.detach(), z.grad, th.grad


def test_rectangle_kernel():
    u = torch.tensor([-0.7, -0.5, -0.49, 0.0, 0.49, 0.5, 0.7])
    assert rectangle(u).tolist() == [0, 0, 1, 1, 1, 0, 0]


def test_jumprelu_forward_and_backward_by_hand():
    out, dz, dtheta = _grads(JumpReLUFunction)
    assert torch.allclose(out, JUMP_OUT)
    assert torch.allclose(dz, JUMP_DZ)
    assert torch.allclose(dtheta, JUMP_DTHETA, atol=1e-5)
    assert dtheta.tolist() == pytest.approx([-20.0, -10.0, -52.2], abs=1e-4)


def test_step_forward_and_backward_by_hand():
    out, dz, dtheta = _grads(StepFunction)
    assert torch.equal(out, STEP_OUT)
    assert torch.equal(dz, torch.zeros_like(Z))  # no gradient for z through the step
    assert dtheta.tolist() == pytest.approx(STEP_DTHETA.tolist(), abs=1e-4)


def test_z_gradient_matches_autograd_of_the_masked_identity():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20, 7, generator=g, requires_grad=True)
    th = torch.rand(7, generator=g)
    up = torch.randn(20, 7, generator=g)
    jumprelu(z, th, 0.05).backward(up)
    z2 = z.detach().clone().requires_grad_(True)
    (z2 * (z2 > th).float()).backward(up)
    assert torch.allclose(z.grad, z2.grad)


def test_scalar_threshold_gets_a_scalar_gradient():
    th = torch.tensor(0.51, requires_grad=True)
    step(Z, th, EPS).sum().backward()
    # within 0.05 of 0.51: 0.52, 0.48 and 0.55 (not 0.60, 0.30, 0.10)
    assert th.grad.shape == () and th.grad.item() == pytest.approx(-(1 / EPS) * 3, abs=1e-4)


def test_threshold_gradient_is_a_finite_difference_of_the_smoothed_loss():
    """The rectangle kernel is the derivative of a ramp: the pseudo-gradient of Σ H(z - θ) equals the exact
    derivative of Σ clamp((z - θ)/ε + 1/2, 0, 1), a smoothed step, for θ away from the kernel's edges."""
    g = torch.Generator().manual_seed(1)
    z = torch.rand(500, 4, generator=g)
    th = torch.full((4,), 0.4, requires_grad=True)
    step(z, th, 0.1).sum().backward()
    smooth = lambda t: ((z - t) / 0.1 + 0.5).clamp(0, 1).sum(0)  # noqa: E731
    h = 1e-4
    fd = (smooth(th.detach() + h) - smooth(th.detach() - h)) / (2 * h)
    assert torch.allclose(th.grad, fd, atol=0.5)


def test_sae_threshold_l0_and_round_trip():
    sae = JumpReLUSAE(JumpReLUConfig(d_in=6, d_sae=10, init_threshold=0.2, bandwidth=0.05, l0_coefficient=0.1),
                      generator=torch.Generator().manual_seed(0))
    assert isinstance(sae.threshold, torch.nn.Parameter) and sae.threshold.shape == (10,)
    assert "threshold" in dict(sae.named_parameters()) and repr(sae).startswith("JumpReLUSAE(d_in=6, d_sae=10")
    x = torch.randn(32, 6)
    pre = sae.pre_acts(x)
    acts = sae.activate(pre)
    assert torch.equal(acts, torch.relu(pre) * (torch.relu(pre) > 0.2))
    loss = sae.extra_loss(x, pre, acts, fraction=1.0)
    assert loss.item() == pytest.approx(0.1 * (torch.relu(pre) > 0.2).float().sum(-1).mean().item())
    loss.backward()
    assert sae.threshold.grad is not None and (sae.threshold.grad <= 0).all()  # the L0 term only pushes θ up
    assert sae.extra_loss(x, pre, acts, fraction=0.0).item() == 0.0  # warm-up starts at zero
    again = JumpReLUSAE.from_state(sae.config_dict(), sae.state_dict())
    assert torch.equal(again.encode(x), sae.eval().encode(x))
    with pytest.raises(ValueError):
        JumpReLUConfig(d_in=6, d_sae=10, bandwidth=0.0)
