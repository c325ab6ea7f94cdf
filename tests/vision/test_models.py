"""SceneNet: shapes, layer names lucent can use, normalisation inside, receptive fields centred on the label cells."""

import pytest
import torch

from course.vision.models import NetConfig, SceneNet
from course.vision.probe import centre_of


def test_shapes_names_and_repr():
    model = SceneNet()
    x = torch.rand(2, 3, 64, 64)
    assert model(x).shape == (2, 5, 8, 8) and model(torch.rand(1, 3, 96, 80)).shape == (1, 5, 12, 10)
    feats = model.features(x)
    assert list(feats) == model.layers == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert [f.shape[1] for f in feats.values()] == list(model.config.channels)
    assert all((f >= 0).all() for f in feats.values())  # each convN ends with its ReLU
    assert set(model.layers) <= {n for n, _ in model.named_modules()}
    assert "conv1 4x4/2->16" in repr(model) and "params" in repr(model)
    assert NetConfig.from_json(model.config.to_json()) == model.config


def test_normalises_inside():
    model = SceneNet(NetConfig(mean=(0.2, 0.4, 0.6), std=(0.5, 0.5, 0.5)))
    x = torch.rand(1, 3, 64, 64)
    seen = {}
    handle = model.conv1.conv.register_forward_hook(lambda m, i, o: seen.update({"in": i[0]}))
    model(x)
    handle.remove()
    expected = (x - torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)) / 0.5
    assert torch.allclose(seen["in"], expected)


def test_output_cells_look_at_the_labelled_points():
    """Output cell (i, j) is centred on pixel point (8j + 4, 8i + 4), the point whose class the scenes label."""
    model = SceneNet()
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    model(x)[:, :, 3, 4].sum().backward()  # a cell whose receptive field (54 px) lies inside the image
    g = x.grad.abs().sum((0, 1))
    rows, cols = torch.nonzero(g.amax(1) > 0).flatten(), torch.nonzero(g.amax(0) > 0).flatten()
    assert (float(rows[0] + rows[-1] + 1) / 2, float(cols[0] + cols[-1] + 1) / 2) == (3 * 8 + 4, 4 * 8 + 4)
    assert centre_of(model, "conv5", (64, 64)) == pytest.approx((36.0, 36.0))
