"""course.attribution against captum, the oracle, on the same inputs, value by value: saliency, gradient x input,
SmoothGrad (three kinds, same noise), integrated gradients (every integration rule, with captum's convergence
delta as the completeness error) and occlusion (windows that overhang the edge, tensor baselines), on the
shipped scenenet, a small random CNN and a plain classifier, with int, (class, row, col), per-example and
function targets. Plus the properties that need no oracle: completeness is exact for a linear model, the
error falls with steps, the model is left without gradients or hooks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course import attribution as A
from course import zoo
from course.errors import UsageError
from course.vision.models import NetConfig, SceneNet
from course.vision.scenes import Scenes

captum_attr = pytest.importorskip("captum.attr")
pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")


@pytest.fixture(scope="module")
def scenenet():
    return zoo.load("scenenet", device="cpu")


@pytest.fixture(scope="module")
def small_cnn():
    torch.manual_seed(0)
    return SceneNet(NetConfig(channels=(5, 6, 7, 8, 9))).eval()


@pytest.fixture(scope="module")
def images():
    x, _ = Scenes().batch(range(10_300_000, 10_300_003))
    return x[:, :, 8:56, :]  # 48 x 64: not square, so a swapped axis would show


@pytest.fixture(scope="module")
def baseline(images):
    g = torch.Generator().manual_seed(1)
    return (0.4 + 0.1 * torch.randn(images.shape, generator=g)).clamp(0, 1)


def close(a, b, rtol=1e-5, atol=1e-6):
    torch.testing.assert_close(a, b, rtol=rtol, atol=atol)


TARGETS = [(1, 2, 3), [(1, 2, 3), (4, 0, 7), (0, 5, 0)]]


@pytest.mark.parametrize("which", ["scenenet", "small_cnn"])
@pytest.mark.parametrize("target", TARGETS, ids=["cell", "per-example"])
def test_saliency_and_gradient_x_input_match_captum(which, target, images, request):
    model = request.getfixturevalue(which)
    close(A.saliency(model, images, target), captum_attr.Saliency(model).attribute(images, target=target))
    close(A.saliency(model, images, target, absolute=False),
          captum_attr.Saliency(model).attribute(images, target=target, abs=False))
    close(A.gradient_x_input(model, images, target),
          captum_attr.InputXGradient(model).attribute(images, target=target))
    assert all(p.grad is None for p in model.parameters()), "attribution must not leave gradients on the model"


@pytest.mark.parametrize("kind", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_smoothgrad_matches_captum_noise_tunnel(kind, scenenet, images):
    target = [(1, 2, 3), (2, 1, 1), (3, 4, 6)]
    torch.manual_seed(7)
    ours = A.smoothgrad(scenenet, images, target, samples=5, sigma=0.1, kind=kind, batch=4)
    torch.manual_seed(7)
    theirs = captum_attr.NoiseTunnel(captum_attr.Saliency(scenenet)).attribute(
        images, nt_type=kind, nt_samples=5, stdevs=0.1, target=target)
    close(ours, theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", A.RULES)
def test_integrated_gradients_matches_captum_every_rule(method, scenenet, images, baseline):
    ours = A.integrated_gradients(scenenet, images, (1, 2, 3), baseline=baseline, steps=9, method=method, batch=7)
    theirs, delta = captum_attr.IntegratedGradients(scenenet).attribute(
        images, baselines=baseline, target=(1, 2, 3), n_steps=9, method=method, return_convergence_delta=True)
    if method == "riemann_trapezoid":  # captum's weights sum to 1 - 1/n = 8/9; the trapezoid rule's to 1
        delta = delta.float() + theirs.flatten(1).sum(1) / 8  # our sum is 9/8 of captum's, the gap the same
        theirs = theirs * 9 / 8
    close(ours.attributions, theirs, rtol=1e-4, atol=1e-6)
    close(ours.error, delta.float(), rtol=1e-3, atol=1e-4)


def test_integrated_gradients_per_example_targets_and_black_baseline(small_cnn, images):
    target = [(1, 2, 3), (4, 0, 7), (0, 5, 0)]
    attr, error = A.integrated_gradients(small_cnn, images, target, steps=6, method="riemann_left", batch=5)
    theirs, delta = captum_attr.IntegratedGradients(small_cnn).attribute(
        images, target=target, n_steps=6, method="riemann_left", internal_batch_size=5,
        return_convergence_delta=True)
    close(attr, theirs, rtol=1e-4, atol=1e-7)
    close(error, delta.float(), rtol=1e-3, atol=1e-5)


def test_completeness_is_exact_for_a_linear_model_and_error_falls_with_steps(scenenet, images):
    linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 48 * 64, 4))
    r = A.integrated_gradients(linear, images, 2, steps=2, method="riemann_trapezoid")
    assert r.error.abs().max() < 1e-4  # a constant gradient: any rule is exact
    errors = A.error_by_steps(scenenet, images[:2], (1, 2, 3), [4, 32, 128], methods=("gausslegendre",))
    assert errors["gausslegendre"][-1] < errors["gausslegendre"][0]
    assert "completeness error" in repr(r)


@pytest.mark.parametrize("method", A.RULES)
def test_rules_weights_sum_to_one(method):
    alphas, weights = A.rule(method, 7)
    assert len(alphas) == len(weights) == 7 and abs(float(weights.sum()) - 1) < 1e-9
    assert 0 <= float(alphas.min()) and float(alphas.max()) <= 1


@pytest.mark.parametrize("window,stride,tensor_baseline", [(8, 4, False), ((6, 10), (5, 7), True), (16, 16, True)])
def test_occlusion_matches_captum(window, stride, tensor_baseline, scenenet, images, baseline):
    """Overlapping windows, windows the edge cuts off (48 - 6 is not a multiple of 5), tensor baselines."""
    wh, ww = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    target = [(1, 2, 3), (4, 0, 7), (0, 5, 0)]
    base = baseline if tensor_baseline else 0.5
    ours = A.occlusion(scenenet, images, target, window=window, stride=stride, baseline=base, batch=13)
    theirs = captum_attr.Occlusion(scenenet).attribute(images, sliding_window_shapes=(3, wh, ww),
                                                       strides=(3, sh, sw), baselines=base, target=target)
    close(ours, theirs, rtol=1e-4, atol=2e-6)


def test_function_target_explains_any_output(scenenet, images):
    """A target function: here the summed disc logit over all cells (captum: wrap the model)."""
    total_disc = lambda out: out[:, 1].sum((1, 2))  # noqa: E731
    wrapped = lambda x: scenenet(x)[:, 1].sum((1, 2))  # noqa: E731
    close(A.saliency(scenenet, images, total_disc), captum_attr.Saliency(wrapped).attribute(images))
    ours = A.integrated_gradients(scenenet, images, total_disc, steps=5)
    close(ours.attributions, captum_attr.IntegratedGradients(wrapped).attribute(images, n_steps=5), rtol=1e-4,
          atol=1e-6)


def test_plain_classifier_int_target():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(5, 6)
    close(A.gradient_x_input(mlp, x, 2), captum_attr.InputXGradient(mlp).attribute(x, target=2))


def test_bad_targets_say_what_to_do(scenenet, images):
    with pytest.raises(UsageError, match="one number per example"):
        A.saliency(scenenet, images, 1)  # a class alone picks a whole map from scenenet's output
    with pytest.raises(UsageError, match="one per example"):
        A.saliency(scenenet, images, [(1, 2, 3)])
    with pytest.raises(UsageError, match="method must be one of"):
        A.integrated_gradients(scenenet, images, (1, 2, 3), method="simpson")
    with pytest.raises(UsageError, match="larger than the input"):
        A.occlusion(scenenet, images, (1, 2, 3), window=80)


def test_support_is_the_receptive_field(scenenet):
    x = torch.rand(1, 3, 64, 64)
    mask = A.support(scenenet, x, (1, 0, 0))[0]
    rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
    assert rows.min() == 0 and cols.min() == 0  # a corner cell's field is cut by the image's edge
    assert 20 <= int(rows.max()) <= 40 and 20 <= int(cols.max()) <= 40  # ~54 px field centred on (4, 4)
    assert A.to_map(torch.ones(2, 3, 4, 5)).shape == (2, 4, 5)
