"""course.vision.frequency on a small random SceneNet (fast) and on hand-made tuning curves: sweeps read the
middle unit as `respond` does on the same stimuli, tuning and preferred frequency do what their docstrings say,
a boundary turned 180 degrees is the boundary with its sides swapped, response maps (coarse and pixel by pixel)
agree with the feature map, the kinds agree with the census, and texture edges point into the texture."""

from __future__ import annotations

import math

import pytest
import torch

from course.vision import frequency as fq
from course.vision import stimuli
from course.vision.census import measure
from course.vision.models import NetConfig, SceneNet
from course.vision.probe import activations, centre_of
from course.vision.scenes import Scenes, regions

SMALL = fq.SweepConfig(size=40, frequencies=(0.05, 0.1, 0.2, 0.4), orientations=(0.0, 45.0, 90.0, 135.0),
                       phases=(0.0, 180.0), seeds=(1, 2), boundary_orientations=tuple(range(0, 360, 45)),
                       ratios=(1.0, 4.0))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    m = SceneNet(NetConfig(channels=(6, 8, 10), kernels=(4, 4, 4), strides=(2, 2, 2)))
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                p.uniform_(0.0, 0.2)
    return m.eval()


def test_grating_sweep_reads_the_middle_unit(model):
    s = fq.grating_sweep(model, "conv2", SMALL)
    assert s.responses.shape == (8, 4, 4, 2) and "frequency 4" in repr(s)
    centre = centre_of(model, "conv2", (40, 40))
    x = stimuli.grating(0.2, 45.0, phase=180.0, size=40, centre=centre)
    act = activations(model, x, ["conv2"])["conv2"]
    h, w = act.shape[-2:]
    assert torch.allclose(s.responses[:, 2, 1, 1], act[0, :, h // 2, w // 2], atol=1e-6)
    assert torch.equal(fq.layer_output(model, "conv2", x), act)  # the truncated forward is the model's


def test_texture_and_boundary_sweeps(model):
    t = fq.texture_sweep(model, "conv3", SMALL)
    assert t.responses.shape == (10, 4, 2)
    b = fq.boundary_sweep(model, "conv3", SMALL)
    assert b.responses.shape == (10, 8, 2, 2)
    # orientation + 180 is the same boundary with the sides swapped: fine where coarse was
    a = stimuli.high_low(30.0, high=0.25, low=0.05, seed=3)
    flipped = stimuli.high_low(210.0, high=0.25, low=0.05, seed=3)
    assert not torch.allclose(a, flipped)
    assert torch.allclose(fq.boundary_response(model, "conv3", 30.0, 5.0, seeds=(3,), size=64),
                          fq.respond(model, "conv3", stimuli.high_low(30.0, high=0.25, low=0.05, seed=3,
                                                                       centre=centre_of(model, "conv3", (64, 64))))[0])


def test_frequency_tuning_is_mean_over_phase_then_best_orientation():
    r = torch.rand(3, 5, 4, 6)
    want = torch.stack([torch.stack([max(r[u, f, a].mean() for a in range(4)) for f in range(5)]) for u in range(3)])
    assert torch.allclose(fq.frequency_tuning(r), want)
    assert not torch.allclose(fq.frequency_tuning(r), r.amax(2).mean(2))


def test_preferred_frequency():
    f = torch.logspace(math.log10(0.02), math.log10(0.5), 25)
    centre = torch.tensor([0.05, 0.12, 0.3])
    curve = torch.exp(-(f.log()[None] - centre.log()[:, None]) ** 2 / 0.3)
    got = fq.preferred_frequency(curve, f)
    assert torch.allclose(got, centre, rtol=0.03)
    # a broad floor does not drag the centroid; a dead unit has none
    floored = torch.cat([curve[:1] + 0.45, torch.zeros(1, 25)])
    got = fq.preferred_frequency(floored, f)
    assert got[0] == pytest.approx(0.05, rel=0.05) and math.isnan(got[1])


def test_response_maps(model):
    image = Scenes()[5][0][:, :40, :56]  # (3, 40, 56)
    act = activations(model, image[None], ["conv3"])["conv3"][0, 2]  # (5, 7), stride 8
    coarse = fq.response_map(model, "conv3", 2, image)
    assert coarse.shape == (40, 56) and torch.equal(coarse[::8, ::8], act) and torch.equal(coarse[7::8, 7::8], act)
    fine = fq.response_map(model, "conv3", 2, image, fine=True)
    assert fine.shape == (40, 56)
    # unit (i, j) is centred on pixel 8i + 4: the shift that leaves the image in place lands on row 8i + 3
    assert torch.allclose(fine[3::8, 3::8], act, atol=1e-6)
    assert not torch.allclose(fine[4::8, 4::8], act)
    maps = fq.layer_maps(model, "conv3", image[None])
    assert maps.shape == (1, 10, 40, 56) and torch.equal(maps[0, 2], coarse)


def test_kinds_agree_with_the_census(model):
    record = measure(model, ["conv2", "conv3"], (64, 64))
    for layer in ("conv2", "conv3"):
        got = fq.classify_layer(model, layer)
        high_low = [u for u, k in enumerate(got["kinds"]) if k == "high-low"]
        assert high_low == sorted(d["unit"] for d in record["layers"][layer]["high_low"])
        assert set(got["kinds"]) <= {"high-low", "texture", "neither"} and got["floor"] > 0


def test_texture_test():
    fine = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.01, 0.01]])
    coarse = torch.tensor([[0.2, 0.2], [0.6, 0.6], [0.1, 0.1], [0.0, 0.0], [0.0, 0.0]])
    blank = torch.tensor([0.1, 0.1, 0.7, 0.0, 0.0])
    assert fq.texture_test(fine, coarse, blank, floor=0.05).tolist() == [True, False, False, False, False]


def test_texture_edges_point_into_the_texture():
    scenes, idx = Scenes(), list(range(20))
    r = regions(scenes, idx)
    assert r.shape == (20, 64, 64) and set(r.unique().tolist()) <= {0, 1, 2}
    edges = fq.texture_edges(scenes, idx)
    assert 0.02 < edges.band.float().mean() < 0.4 and "on an edge" in repr(edges)
    n, ys, xs = torch.nonzero(edges.band, as_tuple=True)
    t = torch.deg2rad(edges.direction[n, ys, xs])
    step = lambda sign: (n, (ys - sign * 3 * torch.sin(t)).round().long().clamp(0, 63),  # noqa: E731
                         (xs + sign * 3 * torch.cos(t)).round().long().clamp(0, 63))
    ahead, behind = (r[step(1)] == 1).float().mean(), (r[step(-1)] == 1).float().mean()
    assert ahead > 0.8 and behind < 0.3  # 3 px along the direction is texture; 3 px against it is not
    # side_ratio: a map that is 1 where the texture lies the unit's way and 0 elsewhere
    m = torch.zeros(20, 64, 64)
    off = ((edges.direction - 90 + 180) % 360 - 180).abs()
    m[edges.band & (off < 45)] = 1.0
    m[edges.band & (off > 135)] = 0.25
    assert fq.side_ratio(m, edges, 90.0) == pytest.approx(4.0)
