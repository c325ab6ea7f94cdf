"""Lesson 02's checks: each hint the checks promise appears for the slip it names (the mutants' slips, and a few
more written here), computed as the grader computes it: fresh inputs from a seed, the learner's output and the
reference's reduced to plain data, the check's comparison failing, then the first hint that matches.

The sandboxed grading of solutions, exercises and mutants is tests/test_lessons.py's; this runs the slips
in-process, so it is quick enough to try several seeds."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import torch

from course.grading import codec
from course.grading.compare import compare
from course.lessons import find_lesson

LESSON = find_lesson("02")

# (mutant file or an inline slip, exercise, words the hint must contain)
SLIPS = [
    ("circular_mean_arithmetic.py", "circular_mean", "arithmetic mean of the angles"),
    ("circular_mean_arithmetic.py", "preferred_orientation", "arithmetic mean of the three angles"),
    ("degrees_as_radians.py", "circular_mean", "Degrees and radians"),
    ("wrong_polarity.py", "arc_batch", "wrong polarity"),
    ("wrong_polarity.py", "orientation_tuning", "other polarity"),
    ("tuning_at_corner.py", "orientation_tuning", "wrong place in the map"),
    ("gap_without_wrap.py", "widest_gap", "wraps round 0"),
    ("echo_single_sample.py", "echo_ratio", "exactly the opposite sample"),
    ("fwhm_no_interpolation.py", "tuning_width", "whole multiples of the step"),
    ("selectivity_fixed_index.py", "selectivity", "length index 0"),
    ("examples_not_one_per_scene.py", "top_examples", "Some scene appears twice"),
    ("crop_rows_cols_swapped.py", "crop_patches", "Rows are y"),
    ("family_one_radius.py", "find_family", "only one radius"),
    ("family_not_tuned.py", "find_family", "not tuned"),
    ("""
def arc_batch(orientations, radii, *, light=False, size=(64, 64), centre=None, width=2.0):
    from course.vision import stimuli
    return stimuli.curve(orientations.repeat_interleave(len(radii)), radii.repeat(len(orientations)), size=size,
                         width=width, contrast=1.0 if light else -1.0, centre=centre)
""", "arc_batch", "orientation-major"),
    ("""
def widest_gap(orientations):
    o = [float(x) % 360 for x in orientations]
    return max(abs(b - a) for a, b in zip(o, o[1:]))
""", "widest_gap", "Sort the orientations"),
    ("""
def echo_ratio(tuning, step, window=45.0):
    a = tuning.shape[-1]
    i = tuning.argmax(-1, keepdim=True)
    k = int(window // step)
    idx = (i + a // 4 + torch.arange(-k, k + 1)) % a
    return tuning.gather(-1, idx).amax(-1) / tuning.gather(-1, i).squeeze(-1).clamp_min(1e-12)
""", "echo_ratio", "180 degrees from the peak"),
    ("""
def echo_ratio(tuning, step, window=45.0):
    a = tuning.shape[-1]
    i = tuning.argmax(-1, keepdim=True)
    k = int(window // step)
    idx = (i + a // 2 + torch.arange(-k, k + 1)) % a
    return tuning.gather(-1, idx).amax(-1) / tuning.gather(-1, i).squeeze(-1)
""", "echo_ratio", "not NaN"),
    ("""
def preferred_orientation(tuning, step):
    return tuning.argmax(-1).float() * step
""", "preferred_orientation", "peak sample's orientation"),
    ("""
_tw = tuning_width
def tuning_width(tuning, step):
    return _tw(tuning - tuning.min(-1, keepdim=True).values, step)
""", "tuning_width", "half the peak response itself"),
    ("""
_sel = selectivity
def selectivity(curves, lines, lengths):
    return 1 / _sel(curves, lines, lengths)
""", "selectivity", "line over curve"),
    ("""
_sel = selectivity
def selectivity(curves, lines, lengths):
    return _sel(curves, lines, lengths).flip(1)
""", "selectivity", "columns are swapped"),
    ("""
def top_examples(acts, k):
    h = acts.shape[-2]
    best, flat = acts.flatten(1).max(1)
    values, scenes = best.topk(k)
    return values, torch.stack([scenes, flat[scenes] // h, flat[scenes] % h], 1)
""", "top_examples", "Rows and columns are mixed up"),
]


def _module(source: str, tmp_path, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"slip_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checks():
    torch.set_num_threads(1)
    return {c.exercise: c for c in reversed(LESSON.load_checks())}  # an exercise's first check


def _hint(check, module, seed: int) -> tuple[str, str]:
    """(why the check fails, the hint shown) for `module`'s answer, as the grader decides them."""
    solutions = sys.modules[f"course_lessons.l{LESSON.id}.solutions"]
    skeleton, tensors = codec.encode(check.inputs(torch.Generator().manual_seed(seed)))
    skeleton = json.loads(json.dumps(skeleton))
    plain = codec.decode(skeleton, tensors)

    def call(mod):
        kwargs = codec.materialise(codec.decode(skeleton, {k: v.clone() for k, v in tensors.items()}, build=True), mod)
        return codec.roundtrip(getattr(mod, check.exercise)(**kwargs))

    expected, got = call(solutions), call(module)
    if check.judge is not None:
        verdict = check.judge(got, plain, expected)
        failure = "" if verdict.passed else verdict.message
    else:
        failure = compare(expected, got, check.tol, check.check_dtype) or ""
    hint = next((h.say for h in check.hints if failure and h.when(got, expected, plain)), "")
    return failure, hint


@pytest.mark.parametrize("slip,exercise,words", SLIPS, ids=[f"{e}-{i}" for i, (_, e, _) in enumerate(SLIPS)])
@pytest.mark.parametrize("seed", [1, 2024])
def test_the_promised_hint_appears(slip, exercise, words, seed, checks, tmp_path):
    if slip.endswith(".py"):
        source = LESSON.mutant_source(LESSON.mutants_dir / slip)
    else:
        source = LESSON.solutions_path.read_text() + "\n" + slip
    failure, hint = _hint(checks[exercise], _module(source, tmp_path, exercise), seed)
    assert failure, f"{slip[:40]!r} passed {exercise} with seed {seed}"
    assert words in hint, (failure, hint)


def test_the_reference_passes_and_shows_no_hint(checks, tmp_path):
    module = _module(LESSON.solutions_path.read_text(), tmp_path, "reference")
    for exercise in ("circular_mean", "tuning_width", "find_family", "top_examples"):
        assert _hint(checks[exercise], module, 5) == ("", "")


def test_widest_gap_of_no_family(checks, tmp_path):
    """The second widest_gap check: no orientations, or one, leave the whole circle (360)."""
    edge = next(c for c in LESSON.load_checks() if c.title.startswith("3b."))
    source = LESSON.solutions_path.read_text() + """
def widest_gap(orientations):
    ors = sorted(float(o) % 360 for o in orientations)
    return max([b - a for a, b in zip(ors, ors[1:])] + [ors[0] + 360 - ors[-1]])
"""
    module = _module(source, tmp_path, "no_guard")
    for seed in (1, 2, 3, 4):
        try:
            failure, hint = _hint(edge, module, seed)
        except (ValueError, IndexError):  # the empty list: max() of nothing, as the grader would report
            continue
        assert failure == "" and hint == ""  # one orientation: 360 either way
    reference = _module(LESSON.solutions_path.read_text(), tmp_path, "reference_edge")
    assert all(_hint(edge, reference, seed) == ("", "") for seed in (1, 2, 3, 4))
