"""course.probing: per-cell features (pooled activations and raw pixels, checked against slicing by hand), the
colour types and Hewitt & Liang's control labels, the scene-wise split, and probes that learn what they should:
a linear probe can't memorise labels that are a random function of a 1-D type, an MLP probe can."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course import probing as P
from course.vision.models import NetConfig, SceneNet
from course.vision.probe import activations
from course.vision.scenes import Scenes


def test_cell_features_pool_each_layer_onto_the_label_grid():
    torch.manual_seed(0)
    net = SceneNet(NetConfig(channels=(4, 5, 6, 7, 8))).eval()
    x, _ = Scenes().batch(range(10_400_000, 10_400_003))
    feats = P.cell_features(net, x, ["pixels", "conv1", "conv4"])
    assert list(feats) == ["pixels", "conv1", "conv4"]
    assert feats["pixels"].shape == (3 * 64, 3 * 8 * 8)
    n, r, c = 2, 5, 3  # the row for image 2, cell (5, 3)
    row = n * 64 + r * 8 + c
    torch.testing.assert_close(feats["pixels"][row], x[n, :, 8 * r:8 * r + 8, 8 * c:8 * c + 8].flatten())
    acts = activations(net, x, ["conv1", "conv4"])
    torch.testing.assert_close(feats["conv1"][row], acts["conv1"][n, :, 4 * r:4 * r + 4, 4 * c:4 * c + 4].mean((1, 2)))
    torch.testing.assert_close(feats["conv4"][row], acts["conv4"][n, :, r, c])


def test_colour_types_and_round_task():
    images = torch.zeros(1, 3, 16, 8)
    images[0, 0, :8] = 0.9  # top cell red, bottom cell black
    assert P.colour_types(images, cell=8, bins=4).tolist() == [3 * 16, 0]
    labels = torch.tensor([[[0, 1], [2, 3]], [[4, 0], [1, 4]]])
    task, keep = P.round_task(labels)
    assert keep.tolist() == [False, True, True, True, True, False, True, True]
    assert task.tolist() == [1, 1, 0, 0, 1, 0]


def test_control_labels_one_draw_per_type_from_the_label_distribution():
    g = torch.Generator().manual_seed(0)
    types = torch.randint(0, 2000, (20_000,), generator=g)
    labels = torch.multinomial(torch.tensor([0.7, 0.2, 0.1]), 20_000, replacement=True, generator=g)
    control = P.control_labels(types, labels, n_types=2000, generator=torch.Generator().manual_seed(1))
    for t in range(0, 2000, 97):
        assert control[types == t].unique().numel() <= 1
    table = torch.zeros(2000, dtype=torch.long).scatter_(0, types, control)
    share = torch.bincount(table[types.unique()], minlength=3).double() / types.unique().numel()
    assert torch.allclose(share, torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64), atol=0.04)
    again = P.control_labels(types, labels, n_types=2000, generator=torch.Generator().manual_seed(1))
    assert torch.equal(control, again)


def test_split_is_by_image():
    train, test = P.split(10, 4, 0.3, torch.Generator().manual_seed(0))
    assert len(test) == 3 * 4 and len(train) == 7 * 4
    assert set(train.tolist()).isdisjoint(test.tolist()) and sorted(train.tolist() + test.tolist()) == list(range(40))
    assert {i // 4 for i in train.tolist()}.isdisjoint({i // 4 for i in test.tolist()})


def test_linear_probes_are_more_selective_than_mlp_probes():
    """Hewitt & Liang's finding on a case built for it: the task is linear in the features, the control labels
    are a random function of a type that is one coordinate of the features."""
    g = torch.Generator().manual_seed(0)
    m = 1500
    types = torch.randint(0, 12, (m,), generator=g)
    signal = torch.randn(m, generator=g)
    x = torch.stack([signal, types.float() / 4, torch.randn(m, generator=g)], 1)
    y = (signal > 0).long()
    control = P.control_labels(types, y, generator=torch.Generator().manual_seed(3))
    train, test = torch.arange(1000), torch.arange(1000, m)
    lin = P.probe_layer(x, y, control, train, test, P.ProbeConfig("linear", steps=300, lr=0.05), "toy")
    mlp = P.probe_layer(x, y, control, train, test, P.ProbeConfig("mlp", hidden=64, steps=500, lr=0.03), "toy")
    assert lin.task > 0.97 and mlp.task > 0.95
    assert mlp.control > 0.9 and mlp.control > lin.control + 0.1
    assert lin.selectivity > mlp.selectivity + 0.1
    assert "selectivity" in repr(lin)


def test_probe_layers_reports_every_layer_and_kind():
    torch.manual_seed(0)
    net = SceneNet(NetConfig(channels=(4, 5, 6, 7, 8))).eval()
    x, labels = Scenes().batch(range(10_400_000, 10_400_016))
    task, keep = P.round_task(labels)
    types = P.colour_types(x)[keep]
    seen = []
    report = P.probe_layers(net, x, task, types, ["pixels", "conv3"], keep=keep, cfg=P.ProbeConfig(steps=5),
                            progress=lambda f, text: seen.append(f))
    assert set(report.results) == {"linear", "mlp"} and set(report.results["mlp"]) == {"pixels", "conv3"}
    assert report.cells == int(keep.sum()) and seen[-1] == 1.0
    assert {row["layer"] for row in report.table()} == {"pixels", "conv3"}
    assert F.one_hot(task).shape[0] == report.cells
