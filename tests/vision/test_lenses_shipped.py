"""Every figure lesson 00's text (lessons/00_three_lenses/README.md) states about the shipped scenenet, recomputed
here with the same functions the lesson and its app page use (course.vision.lenses). Tolerances are a little
wider than the rounding in the text (float sums differ slightly across machines and thread counts), never so
wide that the claim itself could change: each assertion fails if the model or the method changes.

The probe table (24 probes on 384 scenes) and the ablation table (22 passes over 1,024 scenes) take about 20 s
of CPU each, so their exact-figure tests are marked slow (`pytest -m slow`); the default suite checks the
same claims on a quarter of the scenes (`test_*_quick`)."""

from __future__ import annotations

import pytest
import torch

from course import zoo
from course.vision import lenses as L
from course.vision.scenes import CLASSES


def near(value: float, stated: float, tol: float = 0.01) -> bool:
    return abs(value - stated) <= tol


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return zoo.load("scenenet", device="cpu")


@pytest.fixture(scope="module")
def examples(model):
    return L.disc_cells(model)


@pytest.fixture(scope="module")
def attribution(model, examples):
    return L.attribution_figures(model, examples)


@pytest.fixture(scope="module")
def cascade(model, examples):
    return L.cascade_figures(model, examples)


@pytest.fixture(scope="module")
def probes(model):
    return L.probe_figures(model)


@pytest.fixture(scope="module")
def study(model):
    return L.ablation_figures(model)


def test_examples_are_the_stated_disc_cells(model, examples):
    assert len(examples) == 8 and examples.indices[0] == 10_004_096
    with torch.no_grad():
        out = model(examples.images)
    for n, (cls, r, c) in enumerate(examples.targets):
        assert cls == CLASSES.index("disc") and out[n, :, r, c].argmax() == cls


def test_integrated_gradients_completeness_error_falls_with_steps(attribution):
    assert attribution["ig_steps"] == [4, 16, 64]
    assert near(attribution["ig_gap"], 15.9, 0.1)
    trapezoid, gauss = attribution["ig_error"]["riemann_trapezoid"], attribution["ig_error"]["gausslegendre"]
    for got, stated in zip(trapezoid, [10.5, 0.87, 0.19]):
        assert near(got, stated, 0.02 * stated + 0.01), trapezoid
    for got, stated in zip(gauss, [2.93, 0.78, 0.11]):
        assert near(got, stated, 0.02 * stated + 0.01), gauss
    assert all(g < t for g, t in zip(gauss, trapezoid)), "Gauss-Legendre does better at every step count"


def test_maps_concentrate_on_the_outline(attribution):
    assert near(attribution["outline_area"], 0.115, 0.005)
    stated = {"saliency": 0.18, "gradient x input": 0.17, "integrated gradients": 0.23, "occlusion": 0.25}
    for name, share in stated.items():
        assert near(attribution["outline_share"][name], share, 0.006), (name, attribution["outline_share"])
    ratios = [attribution["outline_share"][n] / attribution["outline_area"] for n in stated]
    assert 1.45 <= min(ratios) and max(ratios) <= 2.25  # "1.5 to 2.2 times"


def test_cascade_correlations(cascade):
    assert cascade["steps"] == ["original", "head", "conv5", "conv4", "conv3", "conv2", "conv1"]
    signed = {"saliency": [0.08, 0.03, 0.00, -0.01, 0.00, 0.00],
              "gradient x input": [0.09, 0.03, 0.00, 0.00, 0.00, 0.00],
              "integrated gradients": [0.27, -0.05, 0.01, 0.01, 0.02, -0.01]}
    absolute = {"saliency": [0.51, 0.50, 0.43, 0.36, 0.37, 0.35],
                "gradient x input": [0.51, 0.50, 0.43, 0.36, 0.35, 0.34],
                "integrated gradients": [0.55, 0.47, 0.43, 0.37, 0.37, 0.36]}
    for table, got in ((signed, cascade["signed"]), (absolute, cascade["abs"])):
        for name, row in table.items():
            assert got[name][0] == pytest.approx(1.0)
            for g, s in zip(got[name][1:], row):
                assert near(g, s, 0.011), (name, got[name])
    # the claims in words: the signed maps are gone after the head; the absolute ones keep about 0.35
    assert all(cascade["signed"][n][1] < 0.3 and abs(cascade["signed"][n][-1]) < 0.03 for n in signed)
    assert all(0.32 <= cascade["abs"][n][-1] <= 0.38 for n in absolute)


@pytest.mark.slow
def test_probe_accuracies_and_selectivity(probes):
    layers = ["pixels", "conv1", "conv2", "conv3", "conv4", "conv5"]
    stated = {
        "linear": {"task": [0.53, 0.53, 0.53, 0.60, 0.84, 0.92], "control": [0.57, 0.55, 0.56, 0.55, 0.54, 0.55],
                   "selectivity": [-0.04, -0.03, -0.03, 0.05, 0.30, 0.37]},
        "mlp": {"task": [0.50, 0.52, 0.56, 0.64, 0.82, 0.91], "control": [0.70, 0.51, 0.50, 0.49, 0.51, 0.52],
                "selectivity": [-0.20, 0.02, 0.06, 0.14, 0.31, 0.38]},
    }
    for kind, rows in stated.items():
        for i, layer in enumerate(layers):
            r = probes.results[kind][layer]
            got = {"task": r.task, "control": r.control, "selectivity": r.selectivity}
            for what, values in rows.items():
                assert near(got[what], values[i], 0.011), (kind, layer, what, got)


@pytest.mark.slow
def test_probe_task_is_balanced(probes):
    assert near(probes.positive, 0.497, 0.001)  # "about half are round (49.7%)"


@pytest.mark.slow
def test_curve_family_ablation_against_random_controls(study):
    assert study.units == [0, 19, 22, 24, 27, 41, 48, 68, 71, 74, 93, 98, 101, 110, 116]
    assert study.controls.shape == (20, 5)
    assert all(not set(s) & set(study.units) and len(s) == 15 for s in study.control_sets)
    stated = {  # class: intact, ablated, random mean, random lowest, random sets hurting as much or more
        "disc": (0.875, 0.763, 0.858, 0.823, 0), "ellipse": (0.813, 0.769, 0.787, 0.691, 6),
        "square": (0.873, 0.833, 0.848, 0.817, 6), "triangle": (0.865, 0.893, 0.834, 0.758, 20),
        "background": (0.992, 0.992, 0.990, 0.984, 18),
    }
    for cls, (clean, ablated, mean, lowest, rank) in stated.items():
        i = CLASSES.index(cls)
        assert near(float(study.clean[i]), clean, 0.0015), cls
        assert near(float(study.ablated[i]), ablated, 0.0015), cls
        assert near(float(study.controls[:, i].mean()), mean, 0.0015), cls
        assert near(float(study.controls[:, i].min()), lowest, 0.0015), cls
        assert study.rank(cls) == rank, cls
    assert near(study.drop("disc"), 0.112, 0.002)
    assert near(float(study.control_drops("disc").mean()), 0.017, 0.002)
    assert near(float(study.control_drops("disc").max()), 0.052, 0.002)
    assert study.drop("disc") > 6 * float(study.control_drops("disc").mean())
    assert study.drop("disc") > 2 * float(study.control_drops("disc").max())


def test_probe_claims_quick(model):
    """The probe section's claims on 128 scenes: "round?" is at chance in the pixels and conv2, plain in conv5;
    an MLP on the pixels learns the random colour labels, a linear probe doesn't."""
    from course import probing as P
    from course.vision.scenes import Scenes

    images, labels = Scenes().batch(range(L.EXAMPLES_START, L.EXAMPLES_START + 128))
    task, keep = P.round_task(labels)
    types = P.colour_types(images)[keep]
    g = torch.Generator().manual_seed(0)
    train_all, test_all = P.split(128, 64, 0.25, g)
    position = torch.full((128 * 64,), -1, dtype=torch.long)
    position[keep] = torch.arange(int(keep.sum()))
    train, test = position[train_all], position[test_all]
    train, test = train[train >= 0], test[test >= 0]
    control = P.control_labels(types, task, generator=g)
    feats = {k: v[keep] for k, v in P.cell_features(model, images, ["pixels", "conv2", "conv5"]).items()}
    linear = {k: P.probe_layer(feats[k], task, control, train, test, L.PROBE_CONFIG, k) for k in feats}
    mlp = P.probe_layer(feats["pixels"], task, control, train, test, P.ProbeConfig("mlp", steps=200, lr=0.02))
    assert linear["pixels"].task < 0.58 and linear["conv2"].task < 0.6 and linear["conv5"].task > 0.85
    assert linear["conv5"].selectivity > 0.3 and linear["pixels"].selectivity < 0.05
    assert mlp.control > 0.65 and mlp.control > linear["pixels"].control + 0.08 and mlp.selectivity < -0.1


def test_curve_family_ablation_quick(model):
    """The ablation's claims on 256 scenes and 5 random sets: discs fall by about 0.11, more than any random set
    costs them; triangles gain."""
    from course.vision import circuits as C

    family = [0, 19, 22, 24, 27, 41, 48, 68, 71, 74, 93, 98, 101, 110, 116]
    study = C.ablation_study(model, "conv4", family, C.held_out(256), controls=5, seed=0)
    assert 0.08 < study.drop("disc") < 0.14 and study.rank("disc") == 0
    assert study.drop("disc") > 2 * float(study.control_drops("disc").max())
    assert study.drop("triangle") < 0 and abs(study.drop("background")) < 0.01
