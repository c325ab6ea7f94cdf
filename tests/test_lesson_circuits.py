"""Lesson 04's checks give the hint they promise for the slips learners really make.

Each check grades only its own exercise, so one submission carries one slip per exercise: a few submissions
(rounds) cover every hint. The mutants in lessons/04_circuits/mutants are tested by test_lessons.py; the
hand-built exercise (a judge, no hints) is tested here for its messages.
"""

from __future__ import annotations

import pytest

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, find_lesson
from course.markers import replace_solution

LESSON = find_lesson("04", REPO_ROOT / "lessons")

STRONGEST = '''w = getattr(model, layer).conv.weight.detach()[unit]
order = {score}.argsort(descending={descending})[:k]
return order, w[order]'''

ECHO = '''a = tuning.shape[-1]
i = tuning.argmax(dim=-1, keepdim=True)
peak = tuning.gather(-1, i).squeeze(-1)
k = {k}
opposite = (i + a // 2 + torch.arange(-k, k + 1)) % a
return tuning.gather(-1, opposite).amax(dim=-1) / {peak}'''

CIRCULANT = '''idx = torch.argsort(orientations % 360)
Wo = {ordered}.double()
n = Wo.shape[0]
i = torch.arange(n)
lag = {lag}
means = torch.zeros(int(lag.max()) + 1, dtype=Wo.dtype).index_add_(0, lag.flatten(), Wo.flatten())
means = means / torch.bincount(lag.flatten()).double()
C = means[lag]
return float(1 - ((Wo - C) ** 2).sum() / {total})'''

RECALL = '''module = {module}
with torch.no_grad():
    seen = {{}}
    handle = module.register_forward_hook(lambda m, inputs, output: seen.__setitem__("act", output))
    try:
        classes = model(images).shape[1]
    finally:
        handle.remove()
    means = seen["act"].mean(dim={dims}, keepdim=True)
    rows = []
    for units in unit_sets:
        values = means[:, units] if mode == "mean" else torch.zeros(1, len(units), 1, 1)

        def replace(m, inputs, output, units=units, values=values):
            output = output.clone()
            output[:, units] = values.to(output).expand(output.shape[0], -1, *output.shape[2:])
            return output

        handle = module.register_forward_hook(replace)
        try:
            pred = model(images).argmax(dim=1)
        finally:
            {remove}
        total = torch.bincount({denominator}.flatten(), minlength=classes).float()
        correct = torch.bincount(labels[pred == labels], minlength=classes).float()
        rows.append(correct / total{clamp})
return torch.stack(rows)'''

PATCH = '''module = getattr(model, layer)
with torch.no_grad():
    seen = {{}}
    handle = module.register_forward_hook(lambda m, inputs, output: seen.__setitem__("act", output))
    model({recorded})
    handle.remove()
    patched = []
    for u in units:
        def replace(m, inputs, output, u=u):
            output = output.clone()
            output[:, u] = seen["act"][:, u]
            return output

        handle = module.register_forward_hook(replace)
        patched.append(model({run}))
        {remove}
return torch.stack(patched)'''

DROP = '''after = {copy}
weight = getattr(after, layer).conv.weight
with torch.no_grad():
    for u in units:
        weight[u, sources] = {edit}
return model, after'''

EXPANDED = '''names = model.layers
first = 0 if start is None else names.index(start) + 1
convs = [getattr(model, name).conv for name in names[first:names.index(end) + 1]]
kernel = convs[-1].weight.detach()[units]
for conv in reversed(convs[:-1]):
    kernel = F.conv_transpose2d(kernel, conv.weight.detach(){flip}, stride={stride})
if start is None:
    kernel = kernel{std}
return kernel'''

ARC = '''t = math.radians(orientation)
ux, uy = math.cos(t), {uy}
cx, cy = -radius * ux, -radius * uy
distance = torch.full((size, size), math.inf)
tangent = torch.zeros(size, size)
half = size // 2
for i in range(size):
    for j in range(size):
        qx, qy = (j - half) * spacing - cx, (i - half) * spacing - cy
        angle = math.degrees(math.atan2(abs(qx * uy - qy * ux), qx * ux + qy * uy))
        if angle <= {limit}:
            distance[i, j] = abs(math.hypot(qx, qy) - radius)
            tangent[i, j] = (math.degrees(math.atan2(-qy, qx)){turn}) % 180
return distance, tangent'''

ROUNDS = [
    {  # round 1: the mutants' slips, each with its hint
        "strongest_inputs": (STRONGEST.format(score="w.flatten(1).sum(dim=1)", descending=True), "by their sum"),
        "echo_ratio": (ECHO.format(k=0, peak="peak.clamp_min(1e-12)"), "only the single sample"),
        "circulant_score": (CIRCULANT.format(ordered="W", lag="(i[None, :] - i[:, None]) % n",
                                             total="((Wo - Wo.mean()) ** 2).sum()"), "in the order it came"),
        "ablated_recall": (RECALL.format(module="getattr(model, layer).conv", dims="(0, 2, 3)", remove="handle.remove()",
                                         denominator="labels", clamp=".clamp_min(1)"), "before the ReLU"),
        "patch_each": (PATCH.format(recorded="source", run="x", remove="pass"), "a hook was left on"),
        "drop_negative": (DROP.format(copy="model", edit="weight[u, sources].clamp(min=0)"), "edited it in place"),
        "expanded_weights": (EXPANDED.format(flip=".flip(-1, -2)", stride="conv.stride", std=" / model.std.view(1, -1, 1, 1)"),
                             "mirrored"),
        "arc_taps": (ARC.format(uy="math.sin(t)", limit="span / 2", turn=" + 90"), "y points down"),
    },
    {  # round 2
        "strongest_inputs": (STRONGEST.format(score="w.flatten(1).abs().amax(dim=1)", descending=True),
                             "largest single weight"),
        "echo_ratio": (ECHO.format(k="int(window)", peak="peak.clamp_min(1e-12)"), "`window` is in degrees"),
        "circulant_score": (CIRCULANT.format(ordered="W[idx]", lag="(i[None, :] - i[:, None]) % n",
                                             total="((Wo - Wo.mean()) ** 2).sum()"), "Order the columns too"),
        "ablated_recall": (RECALL.format(module="getattr(model, layer)", dims="0", remove="handle.remove()",
                                         denominator="labels", clamp=".clamp_min(1)"), "One number per unit"),
        "patch_each": (PATCH.format(recorded="x", run="source", remove="handle.remove()"), "x and source are swapped"),
        "drop_negative": (DROP.format(copy="copy.deepcopy(model)", edit="weight[u, sources].clamp(max=0)"),
                          "removed the positive weights"),
        "expanded_weights": (EXPANDED.format(flip="", stride="conv.stride", std=""), "fold the model's normalisation"),
        "arc_taps": (ARC.format(uy="-math.sin(t)", limit="span / 2", turn=""), "the radius's direction"),
    },
    {  # round 3
        "strongest_inputs": (STRONGEST.format(score="w.flatten(1).norm(dim=1)", descending=False), "weakest come first"),
        "echo_ratio": (ECHO.format(k="int(window // step)", peak="peak"), "never responds has peak 0"),
        "circulant_score": (CIRCULANT.format(ordered="W[idx][:, idx]", lag="i[None, :] - i[:, None] + n - 1",
                                             total="((Wo - Wo.mean()) ** 2).sum()"), "The diagonals wrap round"),
        "ablated_recall": (RECALL.format(module="getattr(model, layer)", dims="(0, 2, 3)", remove="handle.remove()",
                                         denominator="pred", clamp=".clamp_min(1)"), "That is precision"),
        "drop_negative": (DROP.format(copy="copy.deepcopy(model)", edit="0"), "Only the negative weights go"),
        "expanded_weights": (EXPANDED.format(flip="", stride="1", std=" / model.std.view(1, -1, 1, 1)"),
                             "The strides are missing"),
        "arc_taps": (ARC.format(uy="-math.sin(t)", limit="span", turn=" + 90"), "span / 2 degrees either side"),
    },
    {  # round 4
        "circulant_score": (CIRCULANT.format(ordered="W[idx][:, idx]", lag="(i[None, :] - i[:, None]) % n",
                                             total="(Wo ** 2).sum()"), "about W's mean"),
        "ablated_recall": (RECALL.format(module="getattr(model, layer)", dims="(0, 2, 3)", remove="pass",
                                         denominator="labels", clamp=".clamp_min(1)"), "a hook was left on"),
    },
    {  # round 5
        "ablated_recall": (RECALL.format(module="getattr(model, layer)", dims="(0, 2, 3)", remove="handle.remove()",
                                         denominator="labels", clamp=""), "has no labelled cell"),
    },
]


RADIAL = """kernels = torch.zeros(len(orientations), channels, 3, 3)
lines = torch.as_tensor(line_units, dtype=torch.long)
lo = torch.as_tensor(line_orientations, dtype=torch.float32).view(-1, 1, 1)
for k, theta in enumerate(orientations.tolist()):
    distance, tangent = arc_taps(theta, 12.0, 8.0, 120.0)
    g = torch.exp(-distance ** 2 / 50.0)
    kernels[k, lines] = g * torch.cos(torch.deg2rad(2 * (lo - tangent - 90))) - 0.3 * (1 - g)
return kernels"""
JUDGED = {"radial": RADIAL, "shape": "return torch.zeros(3, channels, 3, 3) + 1.0"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The rounds of slips, then two hand-built families the judge must turn down, in one grader."""
    folder = tmp_path_factory.mktemp("slips")
    subs = []
    for i, slips in enumerate(ROUNDS):
        source = LESSON.solutions_path.read_text()
        for fn, (body, _) in slips.items():
            source = replace_solution(source, fn, body)
        path = folder / f"round{i + 1}.py"
        path.write_text(source)
        subs.append(path)
    for name, body in JUDGED.items():
        path = folder / f"{name}.py"
        path.write_text(replace_solution(LESSON.solutions_path.read_text(), "curve_family_kernels", body))
        subs.append(path)
    return Grader(LESSON, seed=7).grade_many(subs, jobs=2)


@pytest.mark.parametrize("round_", range(len(ROUNDS)))
def test_each_slip_gets_its_hint(graded, round_):
    result = graded[round_]
    for fn, (_, hint) in ROUNDS[round_].items():
        failed = [c for c in result.checks if c.exercise == fn and not c.passed]
        assert failed, (fn, "the slip passed every check")
        assert any(hint in (c.hint or "") or hint in (c.message or "") for c in failed), (
            fn, [(c.title, c.message, c.hint) for c in failed])
    # curve_family_kernels calls the learner's own arc_taps, so a slip there reaches it too
    touched = set(ROUNDS[round_]) | ({"curve_family_kernels"} if "arc_taps" in ROUNDS[round_] else set())
    untouched = [c for c in result.checks if c.exercise not in touched]
    assert all(c.passed for c in untouched), [(c.title, c.message) for c in untouched if not c.passed]


def test_the_hand_built_judge_says_what_went_wrong(graded):
    radial, wrong_shape = graded[len(ROUNDS):]
    check = next(c for c in radial.checks if c.exercise == "curve_family_kernels")
    assert not check.passed and check.points == 0
    assert "Is the peak in the right place?" in check.message and "needs >= 0.75" in check.message
    assert all(c.passed for c in radial.checks if c.exercise != "curve_family_kernels")
    check = next(c for c in wrong_shape.checks if c.exercise == "curve_family_kernels")
    assert not check.passed and "expected kernels of shape (15, 64, 3, 3)" in check.message
