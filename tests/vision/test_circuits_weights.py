"""Lesson 04's additions to course.vision.circuits: direct weights, activation patching, running the rest of a
SceneNet from a cached layer. Oracles: the conv weight itself, a hand-written forward pass, class_recall."""

from __future__ import annotations

import pytest
import torch

from course.errors import UsageError
from course.vision import circuits
from course.vision.models import NetConfig, SceneNet


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(3)
    model = SceneNet(NetConfig(channels=(4, 6, 8, 10, 12))).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.5)
    return model


def test_direct_weights_are_the_strongest_kernels(net):
    channels, kernels = circuits.direct_weights(net, "conv4", 7, k=3)
    w = net.conv4.conv.weight.detach()[7]  # (8, 3, 3)
    norms = w.flatten(1).norm(dim=1)
    assert channels == norms.argsort(descending=True)[:3].tolist()
    assert norms[channels[0]] >= norms[channels[1]] >= norms[channels[2]]
    assert torch.equal(kernels, w[channels]) and kernels.shape == (3, 3, 3)
    with pytest.raises(UsageError, match="no layer named"):
        circuits.direct_weights(net, "conv9", 0)


def test_patch_writes_the_source_and_leaves_no_hook(net):
    g = torch.Generator().manual_seed(0)
    x, source = torch.rand(2, 3, 40, 56, generator=g), torch.rand(2, 3, 40, 56, generator=g)
    src = circuits.layer_output(net, source, "conv3")
    with circuits.patch(net, "conv3", [1, 5], src), torch.no_grad():
        got = net(x)
    # oracle: the forward pass by hand, conv3's channels 1 and 5 replaced
    with torch.no_grad():
        h = (x - net.mean) / net.std
        h = net.conv3(net.conv2(net.conv1(h)))
        h[:, [1, 5]] = src[:, [1, 5]]
        want = net.head(net.conv5(net.conv4(h)))
    assert torch.allclose(got, want, atol=1e-6)
    assert all(not m._forward_hooks for m in net.modules())
    with pytest.raises(RuntimeError), circuits.patch(net, "conv3", [0], src):
        raise RuntimeError("inside the block")
    assert all(not m._forward_hooks for m in net.modules())


def test_restore_each_is_the_family_less_one(net):
    x = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(1))
    family = [0, 3, 4]
    out = circuits.restore_each(net, x, "conv4", family)
    assert out.shape == (3, 2, 5, 4, 6)
    for k, u in enumerate(family):
        assert torch.allclose(out[k], circuits.ablated(net, x, {"conv4": [v for v in family if v != u]}))
    assert all(not m._forward_hooks for m in net.modules())


def test_recall_from_matches_class_recall(net):
    from course.vision.scenes import Scenes

    images, labels = Scenes().batch(range(10_000_000, 10_000_040))
    acts = circuits.layer_output(net, images, "conv4")
    for units in ([], [1, 2, 8]):
        want = circuits.class_recall(net, (images, labels), units={"conv4": units})
        assert torch.allclose(circuits.recall_from(net, "conv4", acts, labels, units, batch=16), want)
    with torch.no_grad():
        assert torch.allclose(circuits.forward_from(net, "conv4", acts), net(images), atol=1e-5)
