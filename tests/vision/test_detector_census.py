"""The census on a model built by hand, whose detectors we know, so every test of the census can be seen to fail."""

import math

import pytest
import torch
from torch import nn

from course.vision import stimuli as S
from course.vision.census import measure, summary, widest_gap
from course.vision.probe import Probes

CURVES = [0.0, 45.0, 100.0, 200.0, 300.0]  # orientations of the hand-made curve detectors
EDGES = [30.0, 210.0]  # light side of the hand-made edge detectors
HIGH_LOW = [0.0, 135.0]  # fine side of the hand-made high-low detectors
K = 17  # kernel size of the hand-made first layer
PROBES = Probes(radii=(7.0, 8.0, 9.5))  # radii near the templates' 8 px (a template is one arc, not a circuit)


def ink(img):  # dark strokes on white -> 1 on the stroke
    return 1 - img[:, 0]


class HandMade(nn.Module):
    """conv1: curve templates (arc minus its tangent line), edge detectors, a blob, and two rectified high-pass
    filters; conv2: high-low detectors (high-pass energy on one side minus the other side)."""

    def __init__(self):
        super().__init__()
        n1 = len(CURVES) + len(EDGES) + 1 + 2
        self.conv1 = nn.Sequential(nn.Conv2d(6, n1, K, padding=K // 2), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(n1, len(HIGH_LOW), 15, padding=7), nn.ReLU())
        w1 = torch.zeros(n1, 6, K, K)
        c = (K / 2, K / 2)
        for u, t in enumerate(CURVES):  # on the "ink" channels (3..5, which see 1 - x)
            arc = ink(S.curve(t, 8, size=K, centre=c))[0]
            # straight lines near the arc's tangent inhibit: a band 10 px wide, 2 px inside the tangent
            band = ink(S.line(t + 90, position=-2, width=10, size=K, centre=c))[0]
            w1[u, 3:] = (arc - 0.7 * (band - arc).clamp(0, 1)) / 3
        for v, t in enumerate(EDGES):  # on the image channels: light side towards t
            x, y = S.coords(K)
            u = len(CURVES) + v
            w1[u, :3] = torch.sign(x * math.cos(math.radians(t)) - y * math.sin(math.radians(t)))[0] / 3 / K
        w1[len(CURVES) + len(EDGES), :3] = 1 / (3 * K * K)  # a blob: likes light images, tuned to nothing
        lap = torch.zeros(K, K)
        lap[c[0].__int__() - 1: int(c[0]) + 2, int(c[1]) - 1: int(c[1]) + 2] = -1 / 8
        lap[int(c[0]), int(c[1])] = 1
        hp = len(CURVES) + len(EDGES) + 1
        w1[hp, :3], w1[hp + 1, :3] = lap / 3, -lap / 3
        w2 = torch.zeros(len(HIGH_LOW), n1, 15, 15)
        for u, t in enumerate(HIGH_LOW):
            x, y = S.coords(15)
            side = torch.sign(x * math.cos(math.radians(t)) - y * math.sin(math.radians(t)))[0]
            w2[u, hp:hp + 2] = side / 100
        with torch.no_grad():
            self.conv1[0].weight.copy_(w1)
            self.conv1[0].bias.zero_()
            self.conv2[0].weight.copy_(w2)
            self.conv2[0].bias.zero_()

    def forward(self, x):
        return self.conv2(self.conv1(torch.cat([x, 1 - x], 1)))


@pytest.fixture(scope="module")
def record():
    return measure(HandMade().eval(), ["conv1", "conv2"], (48, 48), PROBES)


def angle_between(a, b):
    return abs((a - b + 180) % 360 - 180)


def test_finds_the_hand_made_curve_detectors(record):
    found = {u["unit"]: u for u in record["layers"]["conv1"]["curve"]}
    assert sorted(found) == list(range(len(CURVES)))  # the curve templates, and nothing else
    for unit, t in enumerate(CURVES):
        assert angle_between(found[unit]["orientation"], t) <= 8, (unit, found[unit])
        assert found[unit]["polarity"] == "dark" and found[unit]["ratio"] is None or found[unit]["ratio"] >= 2
        assert len(found[unit]["radii"]) >= 2 and found[unit]["radius"] in PROBES.radii
    assert record["layers"]["conv2"]["curve"] == []


def test_finds_edges_and_high_low(record):
    edges = {u["unit"]: u for u in record["layers"]["conv1"]["edge"]}
    for v, t in enumerate(EDGES):
        unit = len(CURVES) + v
        assert edges[unit]["kind"] == "edge" and angle_between(edges[unit]["orientation"], t) <= 8
    assert len(CURVES) + len(EDGES) not in edges  # the blob is not tuned
    hl = {u["unit"]: u for u in record["layers"]["conv2"]["high_low"]}
    assert sorted(hl) == list(range(len(HIGH_LOW)))
    for unit, t in enumerate(HIGH_LOW):
        assert angle_between(hl[unit]["orientation"], t) <= 8 and hl[unit]["ratio"] is None or hl[unit]["ratio"] >= 2
    assert record["layers"]["conv1"]["high_low"] == []  # rectified high-pass filters respond to uniform texture


def test_record_layout_and_summary(record):
    assert record["input_size"] == [48, 48] and set(record["layers"]) == {"conv1", "conv2"}
    assert record["centres"]["conv1"] == [24.5, 24.5]
    s = summary(record)
    assert s["curve_layer"] == "conv1" and s["curve_detectors"] == len(CURVES) and s["high_low_detectors"] == 2
    assert s["curve_widest_gap"] == pytest.approx(100, abs=8)  # 100 -> 200 (and 200 -> 300)


def test_widest_gap():
    assert widest_gap([]) == 360 and widest_gap([10]) == 360
    assert widest_gap([0, 90, 180, 270]) == 90 and widest_gap([350, 10, 100]) == 250
