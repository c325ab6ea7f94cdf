"""Expanded weights: composing kernels (conv_transpose2d) equals autograd through the linearised stack on 200
random stacks (rectangular kernels, per-axis strides and padding), and the composite convolution equals the
stack itself on interior outputs; SceneNet helpers and input checks."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course.errors import CourseError
from course.vision import expanded
from course.vision.models import NetConfig, SceneNet


def _random_stack(rng: random.Random) -> list[nn.Conv2d]:
    n = rng.randint(1, 4)
    ch = [rng.randint(1, 4) for _ in range(n + 1)]
    convs = []
    for i in range(n):
        k = (rng.randint(1, 5), rng.randint(1, 5))
        s = (rng.randint(1, 3), rng.randint(1, 3))
        p = (rng.randint(0, 3), rng.randint(0, 3))
        convs.append(nn.Conv2d(ch[i], ch[i + 1], k, stride=s, padding=p).double())
    return convs


def test_compose_equals_autograd_on_200_random_stacks():
    rng = random.Random(0)
    torch.manual_seed(0)
    for _ in range(200):
        convs = _random_stack(rng)
        a = expanded.compose([c.weight.detach() for c in convs], [c.stride for c in convs])
        b = expanded.by_autograd(convs)
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-12, rtol=0)
        (kh, kw), _ = expanded.receptive_field([c.kernel_size for c in convs], [c.stride for c in convs])
        assert a.shape[2:] == (kh, kw)


def test_the_composite_is_the_stack():
    """Away from the borders, one conv with the expanded kernel (stride = product of strides) is the stack."""
    torch.manual_seed(1)
    convs = [nn.Conv2d(3, 5, (3, 4), stride=2, padding=1), nn.Conv2d(5, 4, (2, 3), stride=(1, 2)),
             nn.Conv2d(4, 6, 3, stride=2, padding=(2, 0))]
    convs = [c.double() for c in convs]
    x = torch.randn(2, 3, 70, 90, dtype=torch.float64)
    stacked = expanded.linear_stack(convs, x)
    kernel = expanded.compose([c.weight.detach() for c in convs], [c.stride for c in convs])
    _, stride = expanded.receptive_field([c.kernel_size for c in convs], [c.stride for c in convs])
    pad = [sum(c.padding[a] * j for c, j in zip(convs, _jumps(convs, a))) for a in range(2)]
    direct = F.conv2d(F.pad(x, (pad[1], pad[1], pad[0], pad[0])), kernel, stride=stride)
    h, w = min(stacked.shape[2], direct.shape[2]), min(stacked.shape[3], direct.shape[3])
    # interior positions only: 2 from every border (padding differs there)
    assert torch.allclose(stacked[:, :, 2:h - 2, 2:w - 2], direct[:, :, 2:h - 2, 2:w - 2], atol=1e-10)


def _jumps(convs, axis):
    out, j = [], 1
    for c in convs:
        out.append(j)
        j *= c.stride[axis]
    return out


def test_one_layer_is_its_weight_and_scenenet_helpers():
    torch.manual_seed(2)
    model = SceneNet(NetConfig(channels=(4, 6, 8), kernels=(4, 4, 3), strides=(2, 2, 1)))
    w3 = model.conv3.conv.weight
    assert torch.equal(expanded.expanded_weights(model, "conv2", "conv3"), w3.detach())
    e = expanded.expanded_weights(model, "conv1", "conv3")
    assert e.shape == (8, 4, 4 + 2 * 2, 4 + 2 * 2)
    to_input = expanded.expanded_weights(model, None, "conv2")
    assert to_input.shape == (6, 3, 10, 10)
    pix = expanded.to_pixels(model, to_input)
    assert torch.allclose(pix, to_input / 0.25)
    assert [c for c in expanded.convs_between(model, "conv1", "conv3")] == [model.conv2.conv, model.conv3.conv]
    with pytest.raises(CourseError, match="must come after"):
        expanded.convs_between(model, "conv3", "conv2")
    with pytest.raises(CourseError, match="layers must be among"):
        expanded.convs_between(model, "conv1", "conv9")


def test_bad_stacks_say_what_is_wrong():
    with pytest.raises(CourseError, match="one stride per weight"):
        expanded.compose([torch.randn(2, 3, 3, 3)], [1, 2])
    with pytest.raises(CourseError, match="takes 4 channels but layer 0 makes 2"):
        expanded.compose([torch.randn(2, 3, 3, 3), torch.randn(5, 4, 3, 3)], [1, 1])


def test_split_signs():
    k = torch.tensor([[[[1.0, -2.0], [0.0, 3.0]]]])
    s = expanded.split_signs(k)
    assert s.shape == (2, 1, 1, 2, 2) and (s >= 0).all() and torch.equal(s[0] - s[1], k)
