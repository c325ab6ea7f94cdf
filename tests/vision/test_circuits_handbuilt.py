"""course.vision.handbuilt: the arc geometry against a densely sampled arc, the rule's rotation behaviour,
calibration recovering a known gain and bias, tuning correlation against numpy's corrcoef."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course.vision import handbuilt as hb


def sampled_arc(orientation: float, rule: hb.CurveRule, n: int = 20001) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (n, 2) of the arc in (x, y-down) pixels from its midpoint, and the tangent (degrees mod 180) at each."""
    t = math.radians(orientation)
    ux, uy = math.cos(t), -math.sin(t)
    centre = torch.tensor([-rule.radius * ux, -rule.radius * uy], dtype=torch.float64)
    mid = math.atan2(uy, ux)
    phi = mid + torch.linspace(-1, 1, n, dtype=torch.float64) * math.radians(rule.span / 2)
    points = centre + rule.radius * torch.stack([phi.cos(), phi.sin()], 1)
    tangent = (torch.rad2deg(torch.atan2(-phi.sin(), phi.cos())) + 90) % 180  # y down: flip the sign of y
    return points, tangent


@pytest.mark.parametrize("orientation", [0.0, 37.0, 90.0, 141.0, 222.0, 301.0])
def test_arc_geometry_against_a_sampled_arc(orientation):
    rule = hb.CurveRule(radius=12.0, span=120.0, spacing=8.0)
    dist, tangent = hb.arc_geometry(orientation, rule, size=5)
    points, tangents = sampled_arc(orientation, rule)
    for i in range(5):
        for j in range(5):
            tap = torch.tensor([(j - 2) * 8.0, (i - 2) * 8.0], dtype=torch.float64)
            d = (points - tap).norm(dim=1)
            k = int(d.argmin())
            if math.isfinite(float(dist[i, j])):
                assert abs(float(dist[i, j]) - float(d[k])) < 1e-3
                diff = (float(tangent[i, j]) - float(tangents[k]) + 90) % 180 - 90
                assert abs(diff) < 0.05
            else:  # beyond the ends: the nearest arc point is an end point
                assert k in (0, len(points) - 1)
    assert float(dist[2, 2]) == pytest.approx(0.0, abs=1e-9)
    assert float(tangent[2, 2]) == pytest.approx((orientation + 90) % 180, abs=1e-6)


def test_curve_kernel_turns_with_the_orientation():
    lines = list(range(0, 24, 2))
    lo = torch.arange(12, dtype=torch.float32) * 15
    k0 = hb.curve_kernel(lines, lo, 0.0, 24)
    k90 = hb.curve_kernel(lines, (lo + 90) % 180, 90.0, 24)  # every line turned by 90 too
    # turning the picture 90 degrees counter-clockwise (y down) takes tap (i, j) to (2 - j, i)
    assert torch.allclose(torch.rot90(k0, 1, (1, 2)), k90, atol=1e-5)
    assert torch.equal(k0[1::2], torch.zeros(12, 3, 3))  # channels that are not line detectors get nothing
    tangent = lines[int(torch.tensor([abs((o - 90 + 90) % 180 - 90) for o in lo.tolist()]).argmin())]
    across = lines[int(torch.tensor([abs((o + 90) % 180 - 90) for o in lo.tolist()]).argmin())]
    assert float(k0[tangent, 1, 1]) == pytest.approx(1.0) and float(k0[across, 1, 1]) == pytest.approx(-1.0)


def test_calibrate_recovers_gain_and_bias():
    g = torch.Generator().manual_seed(0)
    lin = torch.randn(4000, generator=g, dtype=torch.float64)
    learned = (2.5 * lin - 0.8).clamp(min=0)
    gain, bias = hb.calibrate(lin, learned)
    assert gain == pytest.approx(2.5, rel=1e-3) and bias == pytest.approx(-0.8, abs=2e-3)
    assert hb.calibrate(lin, torch.zeros(4000)) == (0.0, 0.0)


def test_tuning_correlation_is_pearson():
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(6, 72, generator=g, dtype=torch.float64), torch.rand(6, 72, generator=g, dtype=torch.float64)
    want = [np.corrcoef(x.numpy(), y.numpy())[0, 1] for x, y in zip(a, b)]
    assert torch.allclose(hb.tuning_correlation(a, b), torch.tensor(want, dtype=torch.float64), atol=1e-12)
    assert float(hb.tuning_correlation(torch.zeros(72), b[0])) == 0.0


def test_recovered():
    clean, ablated = torch.tensor([0.9, 0.8, 0.5]), torch.tensor([0.9, 0.6, 0.7])
    r = hb.recovered(clean, ablated, torch.tensor([0.9, 0.7, 0.6]))
    assert math.isnan(float(r[0])) and float(r[1]) == pytest.approx(0.5) and float(r[2]) == pytest.approx(0.5)
