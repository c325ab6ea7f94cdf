"""course.vision.editing: every edit is a copy; only the named weights change, and exactly as stated."""

from __future__ import annotations

import pytest
import torch

from course.errors import UsageError
from course.vision import editing
from course.vision.models import NetConfig, SceneNet


@pytest.fixture
def net():
    torch.manual_seed(5)
    model = SceneNet(NetConfig(channels=(4, 6, 8, 10, 12))).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.5)
    return model


def test_drop_negative_on_a_copy(net):
    before = {k: v.clone() for k, v in net.state_dict().items()}
    edited = editing.drop_negative(net, "conv4", [2, 7], [0, 3, 5])
    assert edited is not net and not editing.same_weights(net, edited)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items()), "the original changed"
    w0, w1 = net.conv4.conv.weight, edited.conv4.conv.weight
    changed = ~torch.isclose(w0, w1)
    mask = torch.zeros_like(changed)
    for u in (2, 7):
        mask[u, [0, 3, 5]] = True
    assert not changed[~mask].any(), "weights outside units x sources changed"
    assert torch.equal(w1[mask], w0[mask].clamp(min=0)) and bool((w0[mask] < 0).any())
    assert torch.equal(edited.conv4.conv.bias, net.conv4.conv.bias) and not edited.training
    for name, p in edited.state_dict().items():
        if not name.startswith("conv4.conv.weight"):
            assert torch.equal(p, before[name])


def test_drop_negative_from_every_source(net):
    edited = editing.drop_negative(net, "conv3", [1])
    assert bool((edited.conv3.conv.weight[1] >= 0).all())
    assert torch.equal(edited.conv3.conv.weight[0], net.conv3.conv.weight[0])
    with pytest.raises(UsageError, match="units must be between"):
        editing.drop_negative(net, "conv3", [8])


def test_substitute_and_same_weights(net):
    k = torch.randn(2, 8, 3, 3)
    b = torch.tensor([0.5, -0.25])
    new = editing.substitute(net, "conv4", [4, 1], k, b)
    assert torch.equal(new.conv4.conv.weight[[4, 1]], k) and torch.equal(new.conv4.conv.bias[[4, 1]], b)
    assert not editing.same_weights(net, new)
    assert editing.same_weights(net, editing.substitute(net, "conv4", [4], net.conv4.conv.weight[[4]].detach(),
                                                        net.conv4.conv.bias[[4]].detach()))
    with pytest.raises(UsageError, match="needs kernels of shape"):
        editing.substitute(net, "conv4", [4, 1], k[:, :4], b)
