"""Lesson 02 §1, the family's feature visualisations: `arc_orientation` against arcs drawn at known orientations,
and every number the README's §1 states, measured on the shipped scenenet with the page's own render
(`course.ui.curves._featurevis`: 256 steps, 64 px, seed 0; ~20 s on one core). The stated figures are read back
from the README, so text and model can't drift apart."""

from __future__ import annotations

import re
import statistics

import pytest
import torch

from course import zoo
from course.lessons import REPO_ROOT
from course.ui import curves as U
from course.vision import curves as C
from course.vision import stimuli

README = REPO_ROOT / "lessons" / "02_curve_detectors" / "README.md"


def angle_between(a, b):
    return abs((a - b + 180) % 360 - 180)


def section_1() -> str:
    text = README.read_text()
    return re.sub(r"\s+", " ", text[text.index("## 1. Feature visualisation"):text.index("## 2.")])


# ------------------------------------------------------------------------------------------ the reading, by oracle


def test_arc_orientation_reads_arcs_drawn_at_known_orientations():
    """Every orientation on the 15-degree grid, the family's three radii, either polarity, anywhere in the picture
    (even with a 16 px arc near the border): read back exactly."""
    orientations = torch.arange(0.0, 360.0, 15.0)
    images, radii, truth = [], [], []
    for j, o in enumerate(orientations.tolist()):
        for k, radius in enumerate((8.0, 12.0, 16.0)):
            centre = (20.0 + j, 40.0 - k * 6)  # (x, y) off the middle
            images.append(stimuli.curve(o, radius, size=64, contrast=(-1.0, 1.0)[(j + k) % 2], centre=centre)[0])
            radii.append(radius)
            truth.append(o)
    got = C.arc_orientation(torch.stack(images), radii)
    assert got.tolist() == truth


def test_arc_orientation_reads_a_texture_of_arcs_and_its_rotation():
    """Several arcs facing 60 degrees on a grey, noisy ground read 60; a texture's reading is not its opposite."""
    g = torch.Generator().manual_seed(0)
    ground = 0.5 + 0.05 * torch.randn(1, 3, 64, 64, generator=g)
    arcs = sum(stimuli.curve(60.0, 8.0, size=64, centre=(r, c), contrast=-1.0) - 1
               for r in (16, 48) for c in (16, 48))
    texture = (ground + 0.5 * arcs).clamp(0, 1)
    assert C.arc_orientation(texture, [8.0]).tolist() == [60.0]
    flipped = texture.flip(-2).flip(-1)  # rotated 180 degrees: the arcs now face 240
    assert C.arc_orientation(flipped, [8.0]).tolist() == [240.0]


# ------------------------------------------------------------------------------------------ the README's §1, measured


@pytest.fixture(scope="module")
def rendered():
    torch.set_num_threads(1)
    fam = U._family(U.MODEL, U.LAYER)
    members = fam["members"]
    units = tuple(m["unit"] for m in members)
    rec = U._featurevis(U.MODEL, U.LAYER, units, tuple(float(m["radius"]) for m in members), U.FV_STEPS, U.FV_SIZE)
    model = zoo.load(U.MODEL, device="cpu")
    with torch.no_grad():
        act = model.features(rec["images"])[U.LAYER][:, list(units)]  # (image, unit, h, w)
    best_arc = torch.stack([fam["tuning"][u].max() for u in units])
    return {"members": members, "units": units, "rec": rec, "act": act, "best_arc": best_arc}


def test_the_page_renders_the_stated_recipe():
    assert (U.FV_STEPS, U.FV_SIZE) == (256, 64)
    s = section_1()
    assert "256 steps" in s and "64 px" in s and "seed 0" in s


def test_each_picture_drives_its_own_unit_more_than_any_other_members_picture(rendered):
    assert rendered["act"].shape[-2:] == (8, 8) and "conv4's 8 x 8 map" in section_1()
    mean = rendered["act"].mean((-2, -1))  # (image, unit): what the render maximises
    n = len(mean)
    own = mean.diagonal()
    others = mean.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf")).amax(0)  # best other picture, per unit
    margin = float((own / others).min())
    stated = float(re.search(r"by at least \*\*([\d.]+)x\*\*", section_1()).group(1))
    assert n == 15 and margin >= stated, f"smallest margin {margin:.2f}x"


def test_pictures_versus_the_best_arc(rendered):
    d = torch.arange(len(rendered["units"]))
    peak = rendered["act"].flatten(2).amax(-1)[d, d]  # each unit's best position in its own picture
    ratio = dict(zip(rendered["units"], (peak / rendered["best_arc"]).tolist()))
    s = section_1()
    median = float(re.search(r"median of \*\*([\d.]+)x\*\*", s).group(1))
    top_unit, top = re.search(r"\(conv4:(\d+) \*\*([\d.]+)x\*\*\)", s).groups()
    below = [int(u) for u in re.findall(r"conv4:(\d+)", s[s.index("(conv4:" + top_unit):s.index("stay below")])][1:]
    lo, hi = map(float, re.search(r"below their best arc \(\*\*([\d.]+)-([\d.]+)x\*\*\)", s).groups())
    assert statistics.median(ratio.values()) == pytest.approx(median, abs=0.1)
    assert max(ratio, key=ratio.get) == int(top_unit) and ratio[int(top_unit)] == pytest.approx(float(top), abs=0.15)
    assert sorted(u for u, r in ratio.items() if r < 1) == sorted(below) and len(below) == 3
    assert all(lo - 0.05 <= ratio[u] <= hi + 0.05 for u in below), {u: round(ratio[u], 2) for u in below}


def facing_count(members, found) -> int:
    return sum(angle_between(float(f), m["orientation"]) <= 35 for m, f in zip(members, found))


def test_the_arcs_in_a_third_to_a_half_of_the_pictures_face_the_units_way(rendered):
    stated = int(re.search(r"the arcs in \*\*(\d+)\*\* of the fifteen pictures face within 35°", section_1()).group(1))
    assert facing_count(rendered["members"], rendered["rec"]["found"]) == stated
    opposite = sum(angle_between(float(f), m["orientation"]) >= 180 - 35
                   for m, f in zip(rendered["members"], rendered["rec"]["found"]))
    assert opposite >= 3 and "Several others read nearly the opposite way" in section_1()
    assert 15 * 70 / 360 < stated < 15 / 2  # above chance (2.9), short of "every time"


@pytest.mark.slow
def test_other_seeds_read_fewer(rendered):
    """The stated counts with seeds 1 and 2 (two more 20 s renders at the page's settings)."""
    from course.vision.featurevis import render

    members = rendered["members"]
    stated = int(re.search(r"rendered with seeds 1 and 2 instead, \*\*(\d+)\*\* each", section_1()).group(1))
    model = zoo.load(U.MODEL, device="cpu")
    for seed in (1, 2):
        images = render(model, U.LAYER, list(rendered["units"]), steps=U.FV_STEPS, size=U.FV_SIZE, seed=seed)
        assert facing_count(members, C.arc_orientation(images, [m["radius"] for m in members])) == stated, seed
