"""Every number lesson 03's text (lessons/03_texture_frequency/README.md) states about the shipped scenenet,
recomputed here on the shipped weights: preferred frequencies per layer, texture units, the high-low family
(which units, how many per layer, orientations, conv4:45's tuning), where they fire in scenes, and the NMF of
their expanded weights. Tolerances are a little wider than the figures' rounding, never wide enough to hide a
change of story."""

from __future__ import annotations

import math

import pytest
import torch

from course import zoo
from course.lessons import REPO_ROOT, find_lesson
from course.vision import expanded
from course.vision import frequency as fq
from course.vision import highlow as hl
from course.vision.census import widest_gap
from course.vision.nmf import error_by_rank
from course.vision.scenes import Scenes, regions

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
SCENES = list(range(10_000_000, 10_000_064))  # held-out scenes, as the text says (64 of them)


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return zoo.load("scenenet", device="cpu")


@pytest.fixture(scope="module")
def record(kinds):
    """The census's high-low records: `classify_layer` runs the census's own test on the census's own stimuli
    (tests/vision/test_scenenet_shipped.py checks `course census scenenet` itself)."""
    return {"layers": {layer: {"units": len(k["kinds"]), "high_low": k["high_low"]} for layer, k in kinds.items()}}


@pytest.fixture(scope="module")
def boundary(model):
    """(C, A, R) seed-averaged boundary responses of conv2..conv5."""
    return {layer: fq.boundary_sweep(model, layer).responses.mean(dim=3) for layer in LAYERS[1:]}


@pytest.fixture(scope="module")
def preferred(model):
    out = {}
    for layer in LAYERS:
        g = fq.grating_sweep(model, layer)
        out[layer] = fq.preferred_frequency(fq.frequency_tuning(g.responses), g.axes["frequency"])
    return out


@pytest.fixture(scope="module")
def kinds(model):
    out = {}
    for layer in LAYERS:
        c = fq.classify_layer(model, layer)
        tex = fq.texture_sweep(model, layer)
        c["texture_preferred"] = fq.preferred_frequency(tex.responses.mean(dim=2), tex.axes["frequency"])
        out[layer] = c
    return out


@pytest.fixture(scope="module")
def factors(model, record):
    return hl.factorise(model, record)


def test_sweep_settings_as_the_text_says():
    c = fq.SweepConfig()
    assert len(c.frequencies) == 12 and c.frequencies[0] == pytest.approx(0.02) and c.frequencies[-1] == pytest.approx(0.5)
    assert len(c.orientations) == 12 and len(c.phases) == 4 and c.high == 0.25
    # receptive fields in the table: 4, 10, 22, 38, 54 px
    kernels, strides = (4, 4, 4, 3, 3), (2, 2, 2, 1, 1)
    sizes = [expanded.receptive_field(kernels[:i], strides[:i])[0][0] for i in range(1, 6)]
    assert sizes == [4, 10, 22, 38, 54]


def test_preferred_frequency_falls_with_depth(preferred):
    medians = {layer: float(p[~p.isnan()].quantile(0.5)) for layer, p in preferred.items()}
    for layer, want in {"conv1": 0.30, "conv2": 0.18, "conv3": 0.11, "conv4": 0.12, "conv5": 0.09}.items():
        assert medians[layer] == pytest.approx(want, abs=0.006), (layer, medians[layer])
    assert float(preferred["conv1"].min()) > 0.17 and preferred["conv1"].numel() == 16
    c2 = preferred["conv2"]
    assert round(float(c2.min()), 2) == 0.03 and round(float(c2.max()), 2) == 0.32
    assert [int(preferred[layer].isnan().sum()) for layer in ("conv1", "conv2", "conv3", "conv4", "conv5")] == [0, 0, 2, 5, 20]


def test_texture_units(kinds):
    want = {"conv1": (4, 4, 0), "conv2": (7, 7, 0), "conv3": (1, 1, 0), "conv4": (12, 2, 10), "conv5": (25, 8, 17)}
    for layer, (n, fine, coarse) in want.items():
        units = [u for u, k in enumerate(kinds[layer]["kinds"]) if k == "texture"]
        pref = kinds[layer]["texture_preferred"][units]
        assert (len(units), int((pref > 0.15).sum()), int((pref < 0.07).sum())) == (n, fine, coarse), layer


def test_high_low_family_per_layer(record, kinds):
    counts = {layer: len(record["layers"][layer]["high_low"]) for layer in LAYERS}
    assert counts == {"conv1": 0, "conv2": 10, "conv3": 7, "conv4": 24, "conv5": 16}
    units = {layer: record["layers"][layer]["units"] for layer in LAYERS}
    shares = [round(100 * counts[layer] / units[layer], 1) for layer in LAYERS]
    assert shares == [0.0, 31.2, 10.9, 18.8, 12.5]  # the text rounds to 0, 31, 11, 19, 12.5 %
    for layer in LAYERS:  # the kinds agree with the census's records
        ours = [u for u, k in enumerate(kinds[layer]["kinds"]) if k == "high-low"]
        assert ours == sorted(d["unit"] for d in record["layers"][layer]["high_low"]), layer
    orientations = [d["orientation"] for layer in LAYERS for d in record["layers"][layer]["high_low"]]
    assert round(widest_gap(orientations)) == 28
    assert round(widest_gap([d["orientation"] for d in record["layers"]["conv4"]["high_low"]])) == 50


def test_reference_classification_matches_the_census(kinds, record):
    solutions = find_lesson("03", REPO_ROOT / "lessons").load_solutions()
    for layer in LAYERS:
        r, floor = kinds[layer]["responses"], kinds[layer]["floor"]
        got = solutions.classify_units(r["high_low"].transpose(1, 2), r["high"], r["low"], r["blank"][:, 1], floor)
        assert got == kinds[layer]["kinds"], layer


def test_running_example_conv4_45(model, record, boundary):
    d = next(d for d in record["layers"]["conv4"]["high_low"] if d["unit"] == 45)
    assert d["ratio"] == pytest.approx(26.7, abs=0.06) and d["orientation"] == pytest.approx(202, abs=0.5)
    b = boundary["conv4"][45]  # (A, R)
    ratios = fq.SweepConfig().ratios
    at8 = b[:, ratios.index(8.0)] / b[:, ratios.index(8.0)].max()
    angles = torch.tensor(fq.SweepConfig().boundary_orientations)
    answered = angles[at8 > 0.05]
    assert answered.min() == 105 and answered.max() == 240 and len(answered) == 10
    silent = [a % 360 for a in range(285, 360 + 91, 15)]
    assert all(float(at8[angles == a]) == 0.0 for a in silent)  # exactly zero from 285 round to 90
    turned = fq.boundary_response(model, "conv4", d["orientation"] - 180, 8.0, seeds=fq.SweepConfig().seeds)
    assert float(turned[45]) == 0.0  # its own boundary turned 180 (22 degrees), off the sweep's grid
    by_ratio = b.amax(dim=0) / b.max()
    assert by_ratio.tolist() == pytest.approx([0.08, 0.12, 0.73, 0.95, 1.00], abs=0.006)


def test_the_family_wants_a_big_jump(record, boundary):
    below, above, n = 0, 0, 0
    ratios = fq.SweepConfig().ratios
    for layer in ("conv2", "conv3", "conv4", "conv5"):
        b = boundary[layer].amax(dim=1)  # (C, R): the best orientation at each ratio
        for d in record["layers"][layer]["high_low"]:
            r = b[d["unit"]] / b[d["unit"]].max()
            n += 1
            below += bool(r[ratios.index(2.0)] < 0.5)
            above += bool(r[ratios.index(8.0)] > 0.8)
    assert (n, below, above) == (57, 51, 57)


def test_where_they_fire_in_scenes(model, record):
    scenes = Scenes()
    edges = fq.texture_edges(scenes, SCENES)
    images = scenes.batch(SCENES)[0]
    assert float((regions(scenes, SCENES) == 0).float().mean()) == pytest.approx(0.83, abs=0.006)
    want = {"conv2": (9, 10, 1.5), "conv3": (5, 7, 4.1), "conv4": (23, 24, 5.2), "conv5": (15, 16, 4.6)}
    for layer, (more, n, median) in want.items():
        maps = fq.layer_maps(model, layer, images)
        ratios = torch.tensor([fq.side_ratio(maps[:, d["unit"]], edges, d["orientation"])
                               for d in record["layers"][layer]["high_low"]])
        assert (int((ratios > 1).sum()), len(ratios)) == (more, n), layer
        assert float(ratios.quantile(0.5)) == pytest.approx(median, abs=0.06), layer
        if layer == "conv4":
            u45 = [d["unit"] for d in record["layers"][layer]["high_low"]].index(45)
            assert float(ratios[u45]) == pytest.approx(19.7, abs=0.06)


def test_expanded_weights_to_conv2(model):
    E = expanded.expanded_weights(model, "conv2", "conv4")
    assert tuple(E.shape) == (128, 32, 8, 8)


def test_hf_and_lf_factors(factors):
    f = factors
    assert sum(u.weights.shape[-1] ** 2 * 2 for u in f.units) == 3296 and f.H.shape == (2, 32)
    assert f.error == pytest.approx(0.626, abs=0.0006) and 1 - f.error**2 == pytest.approx(0.61, abs=0.006)
    assert float(f.preferred[f.hf]) == pytest.approx(0.22, abs=0.006)
    assert float(f.preferred[f.lf]) == pytest.approx(0.076, abs=0.0006)
    t = f.tuning / f.tuning.amax(dim=1, keepdim=True)
    assert float(f.frequencies[0]) == pytest.approx(0.02) and float(t[f.hf, 0]) == pytest.approx(0.03, abs=0.006)
    assert int(t[f.lf].argmax()) == 0 and float(t[f.lf, -1]) == pytest.approx(0.63, abs=0.006)
    assert [len(f.passing(layer)) for layer in ("conv3", "conv4")] == [6, 23] and len(f.passing()) == 29
    assert len(f.units) == 31


def test_factor_count_and_conv5(model, record, factors):
    X = torch.cat([hl.rows(u.weights.double()) for u in factors.units])
    errors = {**error_by_rank(X, ranks=(1, 3, 4), iters=factors.config.iters), 2: factors.error}
    assert [round(errors[k], 3) for k in (1, 2, 3, 4)] == pytest.approx([0.720, 0.626, 0.565, 0.514], abs=0.0011)
    conv5 = [hl.project(model, "conv5", d["unit"], factors, d["orientation"])
             for d in record["layers"]["conv5"]["high_low"]]
    assert sum(u.side > 0 for u in conv5) == 12 and len(conv5) == 16
    assert all(math.isfinite(u.side) for u in conv5)
