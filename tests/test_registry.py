"""Checkpoint registry: recipes train with a seed, files carry a sha256, tampering is caught and explained."""

import json

import pytest
import torch

from course import registry
from course.errors import CourseError, UsageError


@pytest.fixture
def tiny_recipe():
    @registry.recipe("tiny-test", kind="vision", description="a 2x2 linear layer", seed=5)
    def build(seed, device, progress):
        torch.manual_seed(seed)
        lin = torch.nn.Linear(2, 2)
        return registry.Trained(lin.state_dict(), {"d": 2}, {"accuracy": 0.5})

    yield "tiny-test"
    registry.RECIPES.pop("tiny-test")


def test_train_save_load(tiny_recipe, tmp_path):
    e = registry.train(tiny_recipe, directory=tmp_path, progress=False)
    assert e.size_bytes == (tmp_path / "tiny-test.safetensors").stat().st_size
    assert e.metrics == {"accuracy": 0.5, "seed": 5} and e.kind == "vision"
    meta = json.loads((tmp_path / "tiny-test.json").read_text())
    assert {"name", "kind", "size_bytes", "sha256", "metrics"} <= set(meta)
    state, entry = registry.load_state("tiny-test", tmp_path)
    torch.manual_seed(5)
    assert torch.equal(state["weight"], torch.nn.Linear(2, 2).weight.detach())
    # the same seed gives the same bytes
    assert registry.train(tiny_recipe, directory=tmp_path / "again", progress=False).sha256 == e.sha256


def test_tampered_or_missing_weights_say_how_to_rebuild(tiny_recipe, tmp_path):
    registry.train(tiny_recipe, directory=tmp_path, progress=False)
    path = tmp_path / "tiny-test.safetensors"
    path.write_bytes(path.read_bytes()[:-4] + b"oops")
    with pytest.raises(CourseError, match="course train tiny-test"):
        registry.load_state("tiny-test", tmp_path)
    path.unlink()
    with pytest.raises(CourseError, match="missing"):
        registry.load_state("tiny-test", tmp_path)


def test_unknown_names(tmp_path):
    with pytest.raises(UsageError, match="No checkpoint named"):
        registry.load_state("nope", tmp_path)
    with pytest.raises(UsageError, match="No recipe named"):
        registry.train("nope", directory=tmp_path)


def test_damaged_metadata(tmp_path):
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CourseError, match="damaged"):
        registry.entries(tmp_path)


def test_shipped_checkpoints_verify():
    for e in registry.entries():
        state, _ = registry.load_state(e.name)
        assert state and e.kind in registry.KINDS


def test_describe_puts_the_headline_figures_first():
    from course.registry import describe

    assert describe({"seed": 0, "tokens_per_second": 9000, "val_loss": 3.34, "note": "x", "ok": True}, 2) == \
        "val_loss=3.34, seed=0"
