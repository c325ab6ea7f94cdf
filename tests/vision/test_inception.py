"""Lucent's InceptionV1 through the zoo, with random weights (offline): layers, input range, no leaked hooks."""

import pytest
import torch

from course import zoo
from course.errors import CourseError
from course.vision import inception
from course.vision.probe import activations, centre_of


@pytest.fixture(scope="module")
def model():
    return zoo.load("inceptionv1", pretrained=False, device="cpu")


def test_layers_and_forward(model):
    assert not model.training and "inceptionv1" in zoo.names()
    names = dict(model.named_modules())
    assert all(layer in names for layer in model.layers) and "mixed3b" in model.layers
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 1008) and torch.allclose(out.sum(1), torch.ones(2), atol=1e-4)  # softmax
    acts = activations(model, x[:1], ["mixed3b"])
    assert acts["mixed3b"].shape == (1, 480, 28, 28)
    assert all(not m._forward_hooks for m in model.modules())  # activations() removed its hooks


def test_takes_unit_range_images(model):
    """The model scales [0, 1] to the [-117, 138] the TensorFlow original was trained on, before conv2d0."""
    seen = {}
    handle = model.conv2d0_pre_relu_conv.register_forward_hook(lambda m, i, o: seen.update({"in": i[0]}))
    try:
        with torch.no_grad():
            model(torch.ones(1, 3, 224, 224))
    finally:
        handle.remove()
    assert seen["in"].max() == pytest.approx(138) and seen["in"][..., 2:-3, 2:-3].min() == pytest.approx(138)


def test_mixed3b_receptive_field_centre(model):
    x, y = centre_of(model, "mixed3b", (224, 224))
    assert abs(x - 112) <= 8 and abs(y - 112) <= 8


def test_pretrained_path(monkeypatch):
    """The real path: weights from torch.hub (here a stand-in state dict), or a clear error when offline."""
    state = inception.CourseInceptionV1(pretrained=False).state_dict()
    state = {k: torch.full_like(v, 0.01) for k, v in state.items()}
    calls = []

    def hub(url, progress=False, map_location=None):
        calls.append(url)
        return state

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", hub)
    model = zoo.load("inceptionv1", device="cpu")
    assert calls == [inception.WEIGHTS_URL]
    w = model.mixed3b_3x3_pre_relu_conv.weight
    assert torch.equal(w, torch.full_like(w, 0.01))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(CourseError, match="pretrained=False"):
        zoo.load("inceptionv1", device="cpu")


def test_does_not_import_lucents_optvis():
    """lucent.optvis picks a device when imported; the zoo's InceptionV1 only needs lucent.modelzoo."""
    import subprocess
    import sys

    code = ("import sys, course.zoo as z; z.load('inceptionv1', pretrained=False, device='cpu'); "
            "print(sorted(m for m in sys.modules if m.startswith('lucent.optvis')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr
