"""Lesson 03's checks give the hint they promise for the slips learners really make (three per exercise at most).

Each check grades only its own exercise, so one submission can carry one slip per exercise: three submissions
(rounds) cover every hint. The mutants in lessons/03_texture_frequency/mutants are tested by test_lessons.py.
"""

from __future__ import annotations

import pytest

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, find_lesson
from course.markers import replace_solution

LESSON = find_lesson("03", REPO_ROOT / "lessons")

GRATING = '''H, W = size
y = torch.arange(H, dtype=torch.float32) + 0.5 - H / 2
x = torch.arange(W, dtype=torch.float32) + 0.5 - W / 2
t = math.radians(orientation)
along = {along}
return torch.cos(2 * math.pi * frequency * along + {phase})'''

BOUNDARY = '''H, W = fine.shape
y = torch.arange(H, dtype=fine.dtype) + 0.5 - H / 2
x = torch.arange(W, dtype=fine.dtype) + 0.5 - W / 2
t = math.radians(orientation)
along = x[None, :] * math.cos(t) {sign} y[:, None] * math.sin(t)
side = {side}
return {blend}'''

TUNING = '''a, s = len(orientations), len(seeds)
images = stimuli.high_low(orientations.repeat_interleave(s), high=high, low=low, seed=seeds.repeat(a),
                          size=size, centre={centre})
act = activations(model, images, [layer])[layer]
h, w = act.shape[-2:]
return act[:, unit, {where}].reshape(a, s).mean(dim=1)'''

PREFERRED = '''peak = curve.amax(dim=1, keepdim=True)
w = {w}
centroid = {centroid}
return {ret}'''

CLASSIFY = '''b = boundary.{reduce}(dim=2)
a = b.shape[1]
best = b.argmax(dim=1)
peak = b.gather(1, best[:, None])[:, 0]
flipped = b.gather(1, ((best + a // 2) % a)[:, None])[:, 0]
f, c = fine.mean(dim=1), coarse.mean(dim=1)
rival = {rival}
high_low = (peak > 0) & (peak >= floor) & (peak >= ratio * rival)
top, other = torch.maximum(f, c), torch.minimum(f, c)
texture = (top > 0) & (top >= floor) & {texture}
return ["high-low" if h else "texture" if t else "neither" for h, t in zip(high_low.tolist(), texture.tolist())]'''

ROUNDS = [
    {  # round 1
        "grating": (GRATING.format(along="x[None, :] * math.cos(t) + y[:, None] * math.sin(t)",
                                   phase="math.radians(phase)"), "mirrored: y points down"),
        "frequency_tuning": ("return responses.amax(dim=2).mean(dim=2)", "Average over phase first"),
        "preferred_frequency": (PREFERRED.format(w="(curve - peak / 2).clamp(min=0)",
                                                 centroid="(w * frequencies).sum(dim=1) / w.sum(dim=1)",
                                                 ret="torch.where(peak[:, 0] > 0, centroid, centroid * float('nan'))"),
                                "arithmetic mean of the frequencies"),
        "boundary": (BOUNDARY.format(sign="-", side="(along - position + 0.5).clamp(0, 1)",
                                     blend="side * coarse + (1 - side) * fine"), "wrong side"),
        "boundary_tuning": (TUNING.format(centre="centre", where="0, 0"), "Right unit, wrong place"),
        "response_map": ("act = activations(model, image[None], [layer])[layer][:, unit:unit + 1]\n"
                         "return F.interpolate(act, size=image.shape[-2:], mode='bilinear')[0, 0]",
                         "Repeat each value over its whole cell"),
        "expanded_weights": ("kernel = weights[-1]\nfor w in reversed(weights[:-1]):\n"
                             "    kernel = F.conv_transpose2d(kernel, w)\nreturn kernel", "The strides are missing"),
        "nmf": ("W = torch.rand(X.shape[0], k)\nH = torch.rand(k, X.shape[1])\nfor _ in range(iters):\n"
                "    R = W @ H - X\n    H = H - 0.01 * W.T @ R\n    W = W - 0.01 * R @ H.T\nreturn W, H",
                "Negative entries"),
        "classify_units": (CLASSIFY.format(reduce="mean", rival="torch.maximum(f, c)",
                                           texture="(top >= ratio * other) & (top >= ratio * blank)"),
                           "turned 180 degrees"),
    },
    {  # round 2
        "grating": (GRATING.format(along="y[:, None] * math.cos(t) - x[None, :] * math.sin(t)",
                                   phase="math.radians(phase)"), "x and y are swapped"),
        "frequency_tuning": ("return responses.mean(dim=(2, 3))", "mean over orientations too"),
        "preferred_frequency": (PREFERRED.format(w="curve", centroid="(w * frequencies.log()).sum(dim=1) / w.sum(dim=1)",
                                                 ret="torch.where(peak[:, 0] > 0, centroid.exp(), centroid * float('nan'))"),
                                "Subtract half the peak"),
        "boundary": (BOUNDARY.format(sign="-", side="(along - position >= 0).float()",
                                     blend="side * fine + (1 - side) * coarse"), "one-pixel ramp"),
        "boundary_tuning": (TUNING.format(centre="None", where="h // 2, w // 2"), "Centre the stimuli"),
        "response_map": ("return activations(model, image[None], [layer])[layer][0, unit]",
                         "Return the map at the image's size"),
        "expanded_weights": ("kernel = weights[-1]\nfor w, s in zip(reversed(weights[:-1]), reversed(strides[1:])):\n"
                             "    kernel = F.conv_transpose2d(kernel, w, stride=s)\nreturn kernel",
                             "shifted by one layer"),
        "classify_units": (CLASSIFY.format(reduce="amax", rival="torch.stack([f, c, flipped]).amax(dim=0)",
                                           texture="(top >= ratio * other) & (top >= ratio * blank)"),
                           "Average the boundary responses over the seeds"),
    },
    {  # round 3
        "grating": (GRATING.format(along="x[None, :] * math.cos(t) - y[:, None] * math.sin(t)", phase="phase"),
                    "The phase is in degrees"),
        "preferred_frequency": (PREFERRED.format(w="(curve - peak / 2).clamp(min=0)",
                                                 centroid="(w * frequencies.log()).sum(dim=1) / w.sum(dim=1).clamp(min=1e-9)",
                                                 ret="centroid.exp()"), "return NaN"),
        "boundary": (BOUNDARY.format(sign="+", side="(along - position + 0.5).clamp(0, 1)",
                                     blend="side * fine + (1 - side) * coarse"), "mirrored"),
        "expanded_weights": ("kernel = weights[-1]\nfor w, s in zip(reversed(weights[:-1]), reversed(strides[:-1])):\n"
                             "    kernel = F.conv_transpose2d(kernel, w, stride=s)\nreturn kernel.transpose(0, 1)",
                             "channel axes are swapped"),
        "classify_units": (CLASSIFY.format(reduce="mean", rival="torch.stack([f, c, flipped]).amax(dim=0)",
                                           texture="(top >= ratio * blank)"), "texture units answer both"),
    },
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slips")
    subs = []
    for i, slips in enumerate(ROUNDS):
        path = folder / f"round{i + 1}.py"
        source = LESSON.solutions_path.read_text()
        for fn, (body, _) in slips.items():
            source = replace_solution(source, fn, body)
        path.write_text(source)
        subs.append(path)
    with Grader(LESSON, seed=7) as grader:
        return grader.grade_many(subs, jobs=2)


@pytest.mark.parametrize("round_", range(len(ROUNDS)))
def test_each_slip_gets_its_hint(graded, round_):
    result = graded[round_]
    for fn, (_, hint) in ROUNDS[round_].items():
        checks = [c for c in result.checks if c.exercise == fn]
        assert checks and all(not c.passed for c in checks), (fn, [(c.status, c.message) for c in checks])
        assert any(hint in c.hint or hint in c.message for c in checks), (fn, [(c.message, c.hint) for c in checks])
    untouched = [c for c in result.checks if c.exercise not in ROUNDS[round_]]
    assert all(c.passed for c in untouched), [(c.title, c.message) for c in untouched if not c.passed]
