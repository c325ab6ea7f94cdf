"""course.vision.circuits (ablation): the hook zeroes exactly the chosen channels after the ReLU (checked against a
forward pass written out by hand), never outlives its block (normal exit, an exception in the block, an error
inside the hook), per-class recall equals the training recipe's own evaluation, random controls are what
they say."""

from __future__ import annotations

import pytest
import torch

from course import zoo
from course.errors import UsageError
from course.ui.resources import hooks_left
from course.vision import circuits as C
from course.vision.models import NetConfig, SceneNet
from course.vision.scenes import Scenes
from course.vision.train import evaluate


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return SceneNet(NetConfig(channels=(4, 5, 6, 7, 8))).eval()


def by_hand(model, x, layer, units, value=None):
    """SceneNet's forward pass written out, with `units` of `layer` replaced after its ReLU."""
    h = (x - model.mean) / model.std
    for name in model.layers:
        h = getattr(model, name)(h)
        if name == layer:
            h = h.clone()
            h[:, units] = 0 if value is None else value[units].view(1, -1, 1, 1)
    return model.head(h)


def test_ablate_zeroes_exactly_the_chosen_units(net):
    x = torch.rand(2, 3, 32, 48)
    with C.ablate(net, {"conv3": [1, 4]}) as m, torch.no_grad():
        assert m is net
        out = net(x)
    torch.testing.assert_close(out, by_hand(net, x, "conv3", [1, 4]))
    with torch.no_grad():
        assert not torch.allclose(out, net(x))  # it did something, and it is gone
    assert hooks_left(net) == []
    values = torch.arange(7.0)
    torch.testing.assert_close(C.ablated(net, x, {"conv4": [0, 6]}, mode="value", values={"conv4": values}),
                               by_hand(net, x, "conv4", [0, 6], values))
    torch.testing.assert_close(C.ablated(net, x, {"conv4": []}), net(x).detach())
    assert hooks_left(net) == []


def test_hooks_never_outlive_the_call(net):
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(RuntimeError, match="inside"):
        with C.ablate(net, {"conv2": [0], "conv5": [1]}):
            raise RuntimeError("an error inside the block")
    assert hooks_left(net) == []
    with pytest.raises(UsageError, match="can't ablate"):
        C.ablated(net, x, {"conv2": [99]})  # the hook itself raises
    assert hooks_left(net) == []
    with pytest.raises(UsageError, match="no layers named"):
        C.ablated(net, x, {"conv9": [0]})
    with pytest.raises(UsageError, match="mode"):
        C.ablated(net, x, {"conv2": [0]}, mode="half")
    with pytest.raises(UsageError, match="needs `values`"):
        C.ablated(net, x, {"conv2": [0]}, mode="mean")
    assert hooks_left(net) == []


def test_class_recall_equals_the_recipes_evaluation():
    model = zoo.load("scenenet", device="cpu")
    want = evaluate(model, Scenes(), 64, "cpu")
    recall = C.class_recall(model, Scenes(), n=64)
    got = C.class_recall(model, C.held_out(64, batch=40))
    torch.testing.assert_close(recall, got)
    for i, name in enumerate(C.CLASSES):
        assert round(float(recall[i]), 4) == want[f"recall_{name}"]
    everything = C.class_recall(model, C.held_out(64), units={"conv4": list(range(128))})
    assert everything[1] < recall[1]  # no conv4 at all: no discs
    assert hooks_left(model) == []


def test_random_unit_sets():
    sets = C.random_unit_sets(20, 5, 4, torch.Generator().manual_seed(0), exclude=[0, 1, 2])
    assert len(sets) == 4 and all(len(s) == len(set(s)) == 5 and s == sorted(s) for s in sets)
    assert all(not {0, 1, 2} & set(s) for s in sets) and len({tuple(s) for s in sets}) > 1
    assert sets == C.random_unit_sets(20, 5, 4, torch.Generator().manual_seed(0), exclude=[0, 1, 2])
    with pytest.raises(UsageError, match="can't draw"):
        C.random_unit_sets(10, 8, 1, exclude=[0, 1, 2])


def test_ablation_study_bookkeeping(net):
    data = (torch.rand(6, 3, 32, 32), torch.randint(0, 5, (6, 4, 4)))
    seen = []
    study = C.ablation_study(net, "conv4", [1, 2], data, controls=3, progress=lambda f, t: seen.append(f))
    assert study.controls.shape == (3, 5) and len(study.control_sets) == 3 and seen[-1] == 1.0
    assert all(len(s) == 2 and not {1, 2} & set(s) for s in study.control_sets)
    torch.testing.assert_close(study.controls[0], C.class_recall(net, data, units={"conv4": study.control_sets[0]}))
    assert 0 <= study.rank("disc") <= 3 and study.drop(1) == pytest.approx(float(study.clean[1] - study.ablated[1]))
    assert "conv4, 2 units" in repr(study)
