"""course.vision.curves: each measure against an oracle on made-up tuning curves, the pipeline against the census's
independent stimulus set, and every number lesson 02's text states about the shipped scenenet (the family
table is read from the README itself, so the text can't drift from the model)."""

from __future__ import annotations

import math
import re
import statistics

import numpy as np
import pytest
import torch

from course import zoo
from course.lessons import REPO_ROOT
from course.vision import curves as C
from course.vision import stimuli
from course.vision.probe import Probes, activations

README = REPO_ROOT / "lessons" / "02_curve_detectors" / "README.md"


def angle_between(a, b):
    return abs((a - b + 180) % 360 - 180)


# ------------------------------------------------------------------------------------------ measures, by oracle


def test_arc_batch_is_radius_major_and_matches_curve_one_by_one():
    o, r = torch.tensor([10.0, 100.0, 250.0]), torch.tensor([6.0, 11.0])
    got = C.arc_batch(o, r, light=True, size=(40, 56), centre=(20.5, 17.0), width=1.5)
    assert got.shape == (6, 3, 40, 56)
    for ri, radius in enumerate(r):
        for oi, orientation in enumerate(o):
            one = stimuli.curve(float(orientation), float(radius), size=(40, 56), centre=(20.5, 17.0), width=1.5,
                                contrast=1.0)
            assert torch.equal(got[ri * 3 + oi], one[0])
    dark = C.arc_batch(o, r, size=(40, 56), centre=(20.5, 17.0), width=1.5)
    assert torch.allclose(dark, 1 - got)  # dark arcs on light are the negative of light on dark


def test_circular_mean_matches_the_complex_mean():
    g = torch.Generator().manual_seed(0)
    angles = torch.rand(50, 7, generator=g) * 360
    angles[:10] = (torch.rand(10, 7, generator=g) * 40 - 20) % 360  # clusters across 0
    w = torch.rand(50, 7, generator=g) + 0.1
    z = (w.double().numpy() * np.exp(1j * np.deg2rad(angles.double().numpy()))).sum(-1)
    oracle = torch.tensor(np.rad2deg(np.angle(z)) % 360)
    got = C.circular_mean(angles, w).double()
    assert got.shape == (50,) and ((got >= 0) & (got < 360)).all()
    assert (((got - oracle + 180) % 360) - 180).abs().max() < 1e-3
    assert float(C.circular_mean(torch.tensor([350.0, 10.0]), torch.ones(2))) % 360 == pytest.approx(0, abs=1e-4)


@pytest.mark.parametrize("step", [5.0, 15.0])
def test_preferred_orientation_beats_the_peak_sample(step):
    """Von Mises tuning curves peaking off the grid: the estimate is within half a step, and better than argmax."""
    g = torch.Generator().manual_seed(1)
    mu = torch.rand(40, generator=g) * 360
    theta = torch.arange(0, 360, step)
    tuning = torch.exp(3 * torch.cos(torch.deg2rad(theta[None] - mu[:, None])))
    got = C.preferred_orientation(tuning, step)
    err = angle_between(got, mu)
    naive = angle_between(tuning.argmax(1).float() * step, mu)
    assert err.max() <= step / 2 + 1e-3 and err.mean() < 0.8 * naive.mean()


def test_tuning_width_is_exact_on_a_tent_and_close_on_a_gaussian():
    theta = torch.arange(0, 360, 5.0)
    d = angle_between(theta, 100.0)
    tent = (1 - d / 30).clamp_min(0)  # half maximum at +-15 degrees: FWHM 30, exact under linear interpolation
    gauss = torch.exp(-d**2 / (2 * 20.0**2))  # FWHM = 2 sqrt(2 ln 2) sigma = 47.10
    flat = torch.ones(72)  # never drops: 360
    got = C.tuning_width(torch.stack([tent, gauss, flat, torch.zeros(72)]), 5.0)
    assert got[0] == pytest.approx(30.0, abs=1e-4)
    assert got[1] == pytest.approx(2 * math.sqrt(2 * math.log(2)) * 20, abs=0.5)
    assert got[2] == 360 and got[3] == 360
    wrapped = C.tuning_width(tent.roll(-20)[None], 5.0)  # peak at sample 0: the width goes round the circle
    assert wrapped[0] == pytest.approx(30.0, abs=1e-4)


def test_echo_ratio_finds_the_bump_opposite_the_peak():
    theta = torch.arange(0, 360, 5.0)
    main = torch.exp(-angle_between(theta, 40.0) ** 2 / 200)
    echo = 0.3 * torch.exp(-angle_between(theta, 40.0 + 180 + 20) ** 2 / 50)  # 20 degrees off the opposite
    t = torch.stack([main + echo, main, torch.zeros(72)])
    got = C.echo_ratio(t, 5.0)
    assert got[0] == pytest.approx(0.3, abs=0.01) and got[1] < 1e-6 and got[2] == 0
    assert C.echo_ratio(t, 5.0, window=10.0)[0] < 0.05  # a narrow window misses a bump 20 degrees off


def test_selectivity_reads_lengths_and_gives_inf_for_silent_lines():
    curves = torch.tensor([[1.0, 6.0], [4.0, 2.0]])  # (U, ...)
    lines = torch.zeros(2, 2, 3, 1, 4)  # (U, polarity, length, position, orientation)
    lines[0, 1, 1, 0, 2] = 2.0  # the endless line (lengths[1] == 0)
    lines[0, 0, 2, 0, 0] = 3.0  # a segment
    got = C.selectivity(curves, lines, [8.0, 0.0, 16.0])
    assert torch.allclose(got[0], torch.tensor([3.0, 2.0])) and torch.isinf(got[1]).all()


def test_widest_gap_and_radius_tolerance():
    assert C.widest_gap([]) == 360 and C.widest_gap([725]) == 360
    assert C.widest_gap([-30, 30, 100]) == pytest.approx(230)  # -30 is 330: gaps 70, 230, 60
    assert C.radius_tolerance(torch.tensor([0.1, 0.6, 1.0, 0.7, 0.4, 0.9]), [2, 4, 6, 8, 10, 12]) == (4.0, 8.0)


def test_curve_tests_and_find_family_on_made_up_units():
    """A clean curve detector passes; one tuned too broadly, one that likes a line, and one that holds at a single
    radius each fail exactly one test."""
    a, step, radii = 24, 15.0, (8.0, 12.0, 16.0)
    bump = torch.exp(-angle_between(torch.arange(a) * step, 90.0) ** 2 / (2 * 15.0**2))
    good = torch.zeros(2, 3, a)
    good[0] = bump
    broad = good.clone()
    broad[0, 1] = 1.2 * torch.exp(-angle_between(torch.arange(a) * step, 90.0) ** 2 / (2 * 60.0**2))  # the peak
    one_radius = torch.zeros(2, 3, a)
    one_radius[0, 1] = bump
    curves = torch.stack([good, broad, good, one_radius])
    lines = torch.zeros(4, 5)
    lines[2, 3] = 0.6  # answers a line more than half as well as the arc
    assert C.find_family(curves, lines, radii, step, 0.05) == [0]
    rec = C.curve_tests(good, lines[0], radii, step, 0.05, unit=7)
    assert rec["unit"] == 7 and rec["polarity"] == "dark" and rec["radius"] == 8.0 and rec["ratio"] is None
    assert rec["orientation"] == pytest.approx(90.0, abs=0.1) and rec["radii"] == [8.0, 12.0, 16.0]


# ------------------------------------------------------------------------------------------ the shipped model


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return zoo.load("scenenet", device="cpu")


@pytest.fixture(scope="module")
def family(model):
    return C.measure_family(model, "conv4")


@pytest.fixture(scope="module")
def record():
    from course.vision.census import census

    return census("scenenet")


@pytest.fixture(scope="module")
def examples(model):
    from course.vision.scenes import Scenes

    scenes = Scenes()
    values, where = C.dataset_examples(model, "conv4", scenes, n=1024, k=9)
    return scenes, values, where


def test_orientation_tuning_matches_the_census_stimulus_set(model):
    """The lesson's pipeline (arc_batch, centre_of, responses) against the census's StimulusSet, built separately."""
    r, _ = C.census_responses(model, "conv4")
    units = [27, 93, 5, 120]
    got = C.orientation_tuning(model, "conv4", units, stimuli.angles(15.0), 12.0, light=False)
    assert got.shape == (4, 24)
    assert torch.allclose(got, r["curve"][units, 0, 1], rtol=1e-4, atol=1e-5)  # dark, radius 12


def test_orientation_tuning_reads_the_middle_of_a_non_square_map(model):
    size = (48, 80)
    got = C.orientation_tuning(model, "conv3", [3, 19], torch.tensor([0.0, 120.0]), 9.0, light=True, size=size)
    centre = C.centre_of(model, "conv3", size)
    act = activations(model, C.arc_batch([0.0, 120.0], [9.0], light=True, size=size, centre=centre), ["conv3"])["conv3"]
    assert act.shape[-2:] == (6, 10)
    assert torch.allclose(got, act[:, [3, 19], 3, 5].T)


def test_dataset_examples_match_the_examples_module(model):
    from course.vision.examples import top_examples
    from course.vision.scenes import Scenes

    values, where = C.dataset_examples(model, "conv4", Scenes(), n=96, k=4, batch=40)
    for unit in (27, 41):
        ref = top_examples(model, "conv4", unit, Scenes(), n=96, k=4)
        assert where[unit].tolist() == [[e.index, e.row, e.col] for e in ref]
        assert torch.allclose(values[unit], torch.tensor([e.activation for e in ref]))


def _table() -> dict[int, dict]:
    """The family table in the lesson's README: {unit: row}."""
    rows = {}
    for line in README.read_text().splitlines():
        m = re.match(r"\| (\d+) \| ([\d.]+) \| ([\d.]+) \| (dark|light) r(\d+) \| ([\d.]+) \| ([\d.]+) \| "
                     r"(\S+) \| (\S+) \| (\d+)-(\d+) \|$", line)
        if m:
            g = m.groups()
            ratio = lambda s: math.inf if s == "none" else float(s.rstrip("x"))  # noqa: E731
            rows[int(g[0])] = {"orientation": float(g[1]), "census": float(g[2]), "polarity": g[3],
                               "radius": float(g[4]), "fwhm": float(g[5]), "echo": float(g[6]),
                               "line": ratio(g[7]), "segment": ratio(g[8]), "radii": (float(g[9]), float(g[10]))}
    return rows


def test_the_lessons_family_table_is_the_models(family):
    table = _table()
    assert len(table) == 15 and sorted(table) == sorted(m.unit for m in family.members)
    for m in family.members:
        row = table[m.unit]
        assert angle_between(m.orientation, row["orientation"]) <= 1.0, (m.unit, m.orientation, row)
        assert m.census_orientation == pytest.approx(row["census"], abs=0.15)
        assert (m.polarity, m.radius) == (row["polarity"], row["radius"])
        assert m.fwhm == pytest.approx(row["fwhm"], abs=1.0)
        assert m.echo == pytest.approx(row["echo"], abs=0.01)
        for got, said in ((m.line_ratio, row["line"]), (m.segment_ratio, row["segment"])):
            assert (math.isinf(got) and math.isinf(said)) or got == pytest.approx(said, rel=0.02, abs=0.15), m
        assert m.radius_range == row["radii"]


def test_the_lessons_other_figures(family, model):
    text = README.read_text()
    ms = family.members
    assert family.units == 128 and len(ms) == 15 and "**15 of 128 units**" in text
    fw = [m.fwhm for m in ms]
    assert min(fw) == pytest.approx(15.7, abs=0.5) and max(fw) == pytest.approx(47.6, abs=0.5)
    assert statistics.median(fw) == pytest.approx(31.8, abs=0.5)
    assert "**15.7° to 47.6°**" in text and "**31.8°**" in text
    # selectivity: conv4:93, the silent-to-lines units, and the least selective pair
    m93 = family.member(93)
    assert m93.line_ratio == pytest.approx(725.5, rel=0.02) and m93.segment_ratio == pytest.approx(46.7, rel=0.02)
    assert {m.unit for m in ms if math.isinf(m.line_ratio) and math.isinf(m.segment_ratio)} == {19, 71, 74}
    least = sorted(ms, key=lambda m: min(m.line_ratio, m.segment_ratio))
    assert {m.unit for m in least[:2]} == {110, 22}
    assert all(min(m.line_ratio, m.segment_ratio) >= 2.25 for m in ms)
    assert min(least[0].line_ratio, least[0].segment_ratio) == pytest.approx(2.3, abs=0.05)
    # radius tolerance over 4-32 px
    assert family.sweep.radius_range[0] == 4 and family.sweep.radius_range[-1] == 32
    factors = [m.radius_range[1] / m.radius_range[0] for m in ms]
    assert statistics.median(factors) == pytest.approx(2.0, abs=0.01)
    assert {m.unit for m in ms if m.radius_range[1] == 32} == {48, 110, 22, 68}
    assert min(m.radius_range[0] for m in ms) == 6
    # the circle: widest gap 63.0 from 328.8 round to 31.8, then 47.4 from 89.7 to 137.1
    ors = sorted(m.orientation for m in ms)
    assert family.widest_gap == pytest.approx(63.0, abs=1.0)
    assert ors[0] == pytest.approx(31.8, abs=1) and ors[-1] == pytest.approx(328.8, abs=1)
    gaps = sorted([b - a for a, b in zip(ors, ors[1:])], reverse=True)
    assert gaps[0] == pytest.approx(47.4, abs=1.0) and gaps[0] < family.widest_gap
    # the echo: none
    assert all(m.echo < 0.005 for m in ms) and family.median_echo < 0.005
    # conv4 sees 38 x 38 pixels: the support of the middle unit's input gradient
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    from course.vision.probe import hooked

    with hooked(model, ["conv4"]) as store:
        model(x)
        store["conv4"][:, :, 4, 4].sum().backward()
    seen = x.grad.abs().sum((0, 1)) > 0
    assert int(seen.any(1).sum()) == 38 and int(seen.any(0).sum()) == 38
    assert "38 x 38" in text


def test_census_and_lesson_claims_agree(family, record):
    """The census JSON (`course census scenenet --json`) and the lesson's measurements tell one story."""
    from course import registry

    conv4 = {u["unit"]: u for u in record["layers"]["conv4"]["curve"]}
    assert sorted(conv4) == sorted(m.unit for m in family.members) == sorted(_table())
    for m in family.members:
        assert m.census_orientation == conv4[m.unit]["orientation"]
        assert (m.polarity, m.radius) == (conv4[m.unit]["polarity"], conv4[m.unit]["radius"])
        assert angle_between(m.orientation, conv4[m.unit]["orientation"]) <= 9.0  # "agrees within 9°"
    s = record["summary"]
    assert s["curve_layer"] == "conv4" and s["curve_detectors"] == 15
    assert registry.entry("scenenet").metrics["curve_detectors"] == 15
    assert round(s["curve_widest_gap"]) == 60 and abs(s["curve_widest_gap"] - family.widest_gap) < 5
    text = README.read_text()
    assert "(the census, on its\ncoarser sweep, says 60°)" in text or "says 60°" in text
    p = Probes()
    assert len(stimuli.angles(p.step)) == 24 and len(p.radii) == 3 and C.MIN_RESPONSE == 0.05


def test_the_lessons_dataset_example_figures(examples):
    scenes, values, where = examples
    text = README.read_text()
    fam = [27, 116, 0, 101, 48, 110, 19, 22, 98, 71, 24, 41, 93, 74, 68]
    kinds = {u: C.example_shapes(scenes, where[u]) for u in fam}
    flat = [k for u in fam for k in kinds[u]]
    assert len(flat) == 135
    round_rim = sum(k is not None and ("disc" in k or "ellipse" in k) for k in flat)
    outlined = sum(k is not None and k.startswith("outlined") for k in flat)
    assert (round_rim, outlined) == (106, 103)
    g = torch.Generator().manual_seed(0)
    rand = torch.stack([torch.randint(10_000_000, 10_001_024, (300,), generator=g),
                        torch.randint(8, (300,), generator=g), torch.randint(8, (300,), generator=g)], 1)
    base = C.example_shapes(scenes, rand)
    assert sum(k is not None and ("disc" in k or "ellipse" in k) for k in base) == 66
    assert sum(k is not None and k.startswith("outlined") for k in base) == 63
    assert kinds[41].count("outlined ellipse") == 8 and kinds[98].count("outlined disc") == 7
    assert kinds[0].count("outlined square") == 4 and kinds[22].count("outlined square") == 4
    for said in ("**106**", "**103**", "**66**", "**63**", "in **8** of its", "in **7**", "in **4** of their"):
        assert said in text


def test_the_repo_readme_quotes_the_same_figures(family):
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index("## Lesson 02: curve detectors"):text.index("## Layout and dependencies")]
    fw = [m.fwhm for m in family.members]
    ratios = [min(m.line_ratio, m.segment_ratio) for m in family.members]
    finite = [max(r for r in (m.line_ratio, m.segment_ratio) if not math.isinf(r)) for m in family.members
              if not (math.isinf(m.line_ratio) and math.isinf(m.segment_ratio))]
    for said in (f"{len(family.members)} of {family.units} units",
                 f"{min(fw):.1f}-{max(fw):.1f}° (median {statistics.median(fw):.1f}°)", f"{family.widest_gap:.1f}°",
                 f"{min(ratios):.1f}x (least selective) to {max(finite):.1f}x", f"{family.median_echo:.2f} (all 15)"):
        assert said in section, said
