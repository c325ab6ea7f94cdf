"""Scenes: deterministic by index, labels agree with the pictures, textures are fine on shapes and coarse behind."""

import math
from dataclasses import replace

import pytest
import torch

from course.vision.scenes import CLASSES, SceneConfig, Scenes, signed_distance


def test_deterministic_by_index_whatever_the_batch():
    scenes = Scenes()
    x, y = scenes.batch([5, 6, 7])
    x2, y2 = scenes.batch([7, 100, 5])
    assert torch.equal(x[0], x2[2]) and torch.equal(x[2], x2[0]) and torch.equal(y[0], y2[2])
    one, label = scenes[6]
    assert torch.equal(one, x[1]) and torch.equal(label, y[1])
    assert not torch.equal(x[0], x[1])
    other = Scenes(replace(scenes.config, seed=1))
    assert not torch.equal(other[5][0], one)


def test_shapes_ranges_and_repr():
    scenes = Scenes(length=50)
    x, y = scenes.batch(range(32))
    assert x.shape == (32, 3, 64, 64) and y.shape == (32, 8, 8) and y.dtype == torch.long
    assert 0 <= x.min() and x.max() <= 1
    assert set(y.unique().tolist()) <= set(range(len(CLASSES))) and len(y.unique()) == len(CLASSES)
    assert len(scenes) == 50 and "disc, ellipse, triangle, square" in repr(scenes)
    with pytest.raises(ValueError, match="multiple"):
        Scenes(SceneConfig(size=60, stride=8))


def test_signed_distance_of_each_kind():
    coord = torch.tensor([0.0, 5.0, 10.0, 20.0])  # points (x, y) on this grid; the shape sits at (10, 10)
    one = lambda kind, angle=0.0, aspect=1.0: {k: torch.tensor([[v]]) for k, v in dict(  # noqa: E731
        kind=kind, x=10.0, y=10.0, radius=5.0, angle=angle, aspect=aspect).items()}
    disc = signed_distance(one(1), coord)[0, 0]  # (4, 4): rows are y, columns x
    assert disc[2, 2] == pytest.approx(-5) and disc[2, 3] == pytest.approx(5) and disc[1, 2] == pytest.approx(0)
    # a square of the same area as the disc: side 5 sqrt(pi), so its edges are 4.43 px from the centre; at angle 0
    # a corner points along +x, so at 45 degrees the edges face the axes
    square = signed_distance(one(4, angle=math.pi / 4), coord)[0, 0]
    half = 5 * math.sqrt(math.pi) / 2
    assert square[2, 3] == pytest.approx(10 - half, abs=1e-4) and square[2, 2] == pytest.approx(-half, abs=1e-4)
    # an ellipse is long along its angle (0: along x)
    ell = signed_distance(one(2, aspect=0.25), coord)[0, 0]
    assert ell[2, 1] < 0 < ell[1, 2]  # (5, 10) is inside, (10, 5) outside
    tri = signed_distance(one(3, angle=math.pi / 2), coord)[0, 0]
    assert tri[2, 2] < 0 and tri[2, 3] > 0


def test_labels_match_the_shapes():
    scenes = Scenes(SceneConfig(outline=0.0))
    x, y = scenes.batch(range(64))
    # on uniform-ish backgrounds, labelled cells of shapes show fine texture more often than background cells
    patches = x.unfold(2, 8, 8).unfold(3, 8, 8)  # (N, 3, 8, 8, 8, 8)
    rough = (patches[..., 1:] - patches[..., :-1]).abs().mean((1, 4, 5))  # (N, 8, 8)
    assert rough[y > 0].median() > 3 * rough[y == 0].median()
    # background cells are a majority but not overwhelming; every kind of shape appears
    share = torch.bincount(y.flatten(), minlength=5).float() / y.numel()
    assert 0.4 < share[0] < 0.9 and (share[1:] > 0.02).all()


def test_device_and_speed_are_reasonable():
    import time

    scenes = Scenes()
    start = time.perf_counter()
    x, _ = scenes.batch(range(128), device="cpu")
    assert x.device.type == "cpu"
    assert time.perf_counter() - start < 10  # about 0.3 s on 2 cores; this only catches a pathological slowdown


def test_dataset_examples_find_the_strongest_scenes():
    from course.vision.examples import patch, top_examples
    from course.vision.models import SceneNet

    torch.manual_seed(0)
    model = SceneNet().eval()
    scenes = Scenes()
    best = top_examples(model, "conv2", 3, scenes, n=48, k=4, start=0, batch=16)
    assert len(best) == 4 and best[0].activation >= best[-1].activation and len({e.index for e in best}) == 4
    x, _ = scenes.batch([best[0].index])
    with torch.no_grad():
        act = model.features(x)["conv2"][0, 3]
    assert act.max().item() == pytest.approx(best[0].activation, rel=1e-5)
    assert act[best[0].row, best[0].col].item() == pytest.approx(best[0].activation, rel=1e-5)
    crop = patch(scenes, best[0], stride=4, size=10)
    assert crop.shape == (3, 10, 10)
