"""The recipe: registered, seeded and reproducible, learns the scenes; the full reproduction is a slow test."""

import json

import pytest
import torch

from course import registry
from course.vision import train
from course.vision.scenes import Scenes


def test_recipe_is_registered():
    recipes = registry.load_recipes()
    assert "course.vision.train" in registry.RECIPE_MODULES
    r = recipes["scenenet"]
    assert r.kind == "vision" and r.build is train.build and 0 < r.minutes <= 20


def test_dihedral_maps_labels_with_images():
    scenes = Scenes()
    x, y = scenes.batch(range(4))
    for d in range(8):
        xd, yd = train.dihedral(x, y, d)
        # the class at a cell's centre moves with the picture: compare through each cell's mean colour
        cells = lambda img: img.unfold(2, 8, 8).unfold(3, 8, 8).mean((-1, -2))  # noqa: E731
        assert torch.allclose(cells(xd), train.dihedral(cells(x), y, d)[0], atol=1e-6)
        assert torch.equal(torch.sort(yd.flatten())[0], torch.sort(y.flatten())[0])
    assert torch.equal(train.dihedral(x, y, 0)[0], x)
    assert len({train.dihedral(x, y, d)[0][0, 0, 0, :3].sum().item() for d in range(8)}) > 1


def test_short_fit_is_seeded_and_learns(tmp_path):
    cfg = train.TrainConfig(steps=24, batch=16, lr=3e-3, eval_scenes=64, workers=0)
    a, metrics = train.fit(train.NET, train.DATA, cfg, seed=3, device=torch.device("cpu"), progress=False)
    b, _ = train.fit(train.NET, train.DATA, cfg, seed=3, device=torch.device("cpu"), progress=False)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not a.training and torch.get_num_threads() >= 1
    assert {"cell_accuracy", "class_accuracy", "train_loss", "train_seconds"} <= set(metrics)
    assert metrics["train_loss"] < 1.6  # from log(5) = 1.61 at the start


def test_background_worker_gives_the_same_batches():
    scenes = Scenes()
    stream = torch.utils.data.DataLoader(train.SceneStream(scenes, 4, 3), batch_size=None, num_workers=1)
    got = list(stream)
    # the worker runs torch on one thread, so its FFTs may round differently in the last bits
    assert len(got) == 3 and torch.allclose(got[2][0], scenes.batch(range(8, 12))[0], atol=1e-5)
    assert torch.equal(got[2][1], scenes.batch(range(8, 12))[1])


@pytest.mark.slow
def test_course_train_reproduces_the_shipped_checkpoint(tmp_path):
    """`course train scenenet` (about 15 minutes on 2 cores) gives the shipped bytes and metrics."""
    e = registry.train("scenenet", directory=tmp_path, progress=False)
    shipped = registry.entry("scenenet")
    assert e.sha256 == shipped.sha256
    meta = json.loads((tmp_path / "scenenet.json").read_text())
    for k in ("curve_detectors", "curve_widest_gap", "high_low_detectors", "cell_accuracy"):
        assert meta["metrics"][k] == shipped.metrics[k]
