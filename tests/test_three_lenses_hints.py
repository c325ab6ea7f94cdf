"""Lesson 00's checks promise hints for the slips learners make: each slip, graded, must lose its points and show
its hint. Slips in different exercises share a submission (each exercise is graded on its own), so four
submissions carry them all."""

from __future__ import annotations

import pytest

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, find_lesson
from course.markers import replace_solution

SLIPS = {
    # name: (submission, function, wrong body, words the message or hint must contain)
    "softmax instead of the logit": (0, "saliency", """
        cls, row, col = target
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(torch.softmax(model(x), 1)[:, cls, row, col].sum(), x)
        return grad.abs()
        """, "softmax"),
    "saliency without the absolute value": (1, "saliency", """
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(logit(model, x, target).sum(), x)
        return grad
        """, "absolute value"),
    "saliency summed over channels": (2, "saliency", """
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(logit(model, x, target).sum(), x)
        return grad.abs().sum(1)
        """, "don't sum the channels"),
    "gradient x input with |gradient|": (0, "gradient_x_input", """
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(logit(model, x, target).sum(), x)
        return (x.detach() * grad).abs()
        """, "keeps its sign"),
    "IG without (x - baseline)": (0, "integrated_gradients", """
        total = torch.zeros_like(x)
        for k in range(steps):
            point = (baseline + (k + 0.5) / steps * (x - baseline)).requires_grad_(True)
            total += torch.autograd.grad(logit(model, point, target).sum(), point)[0]
        attributions = total / steps
        gap = logit(model, x, target).detach() - logit(model, baseline, target).detach()
        return attributions, attributions.flatten(1).sum(1) - gap
        """, "(x - baseline), not by nothing"),
    "IG error with its sign flipped": (1, "integrated_gradients", """
        total = torch.zeros_like(x)
        for k in range(steps):
            point = (baseline + (k + 0.5) / steps * (x - baseline)).requires_grad_(True)
            total += torch.autograd.grad(logit(model, point, target).sum(), point)[0]
        attributions = (x - baseline) * total / steps
        gap = logit(model, x, target).detach() - logit(model, baseline, target).detach()
        return attributions, gap - attributions.flatten(1).sum(1)
        """, "sign is flipped"),
    "IG times x": (2, "integrated_gradients", """
        total = torch.zeros_like(x)
        for k in range(steps):
            point = (baseline + (k + 0.5) / steps * (x - baseline)).requires_grad_(True)
            total += torch.autograd.grad(logit(model, point, target).sum(), point)[0]
        attributions = x * total / steps
        gap = logit(model, x, target).detach() - logit(model, baseline, target).detach()
        return attributions, attributions.flatten(1).sum(1) - gap
        """, "not by x"),
    "IG by the left Riemann rule": (3, "integrated_gradients", """
        total = torch.zeros_like(x)
        for k in range(steps):
            point = (baseline + k / steps * (x - baseline)).requires_grad_(True)
            total += torch.autograd.grad(logit(model, point, target).sum(), point)[0]
        attributions = (x - baseline) * total / steps
        gap = logit(model, x, target).detach() - logit(model, baseline, target).detach()
        return attributions, attributions.flatten(1).sum(1) - gap
        """, "midpoint rule"),
    "occlusion the wrong way round": (0, "occlusion", """
        n, _, h, w = x.shape
        out = torch.zeros(n, h // size, w // size)
        with torch.no_grad():
            for i in range(h // size):
                for j in range(w // size):
                    hidden = x.clone()
                    hidden[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size] = value
                    out[:, i, j] = logit(model, hidden, target) - logit(model, x, target)
        return out
        """, "logit(x) - logit(occluded)"),
    "Pearson instead of Spearman": (0, "spearman", """
        a, b = a.flatten(1).double(), b.flatten(1).double()
        a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
        return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))
        """, "rank them first"),
    "ties ranked by position": (1, "spearman", """
        ra, rb = a.flatten(1).argsort(1).argsort(1).double(), b.flatten(1).argsort(1).argsort(1).double()
        ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
        return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1))
        """, "average rank"),
    "probe scored on its training cells": (0, "train_probe", """
        opt = torch.optim.Adam(probe.parameters(), lr=lr)
        for _ in range(steps):
            loss = F.cross_entropy(probe(x_train), y_train)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return probe, (probe(x_train).argmax(1) == y_train).float().mean().item()
        """, "training cells"),
    "probe never trained": (1, "train_probe", """
        return probe, (probe(x_test).argmax(1) == y_test).float().mean().item()
        """, "the reference training reaches"),
    "a control label per example": (0, "control_labels", """
        g = torch.Generator().manual_seed(seed)
        counts = torch.bincount(labels).double()
        return torch.multinomial(counts / counts.sum(), len(types), replacement=True, generator=g)
        """, "function of the type alone"),
    "control labels drawn uniformly": (1, "control_labels", """
        g = torch.Generator().manual_seed(seed)
        return torch.randint(0, int(labels.max()) + 1, (n_types,), generator=g)[types]
        """, "looks uniform"),
    "selectivity the wrong way round": (0, "selectivity", """
        return {layer: control[layer] - task[layer] for layer in task}
        """, "minus control"),
    "a hook left on": (0, "ablate_each", """
        module = dict(model.named_modules())[layer]
        outs = []
        with torch.no_grad():
            for units in unit_sets:
                chosen = torch.tensor(units, dtype=torch.long)
                module.register_forward_hook(lambda m, i, o, chosen=chosen: o.index_fill(1, chosen, 0.0))
                outs.append(model(x))
            outs.append(model(x))
        return torch.stack(outs)
        """, "hook is still zeroing"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    lesson = find_lesson("00", REPO_ROOT / "lessons")
    folder = tmp_path_factory.mktemp("slips")
    sources: dict[int, str] = {}
    for number, function, body, _ in SLIPS.values():
        sources[number] = replace_solution(sources.get(number, lesson.solutions_path.read_text()), function, body)
    paths = []
    for number, text in sorted(sources.items()):
        paths.append(folder / f"slips{number}.py")
        paths[-1].write_text(text)
    wanted = {function for _, function, _, _ in SLIPS.values()}
    with Grader(lesson, seed=5) as grader:
        grader.checks = [c for c in grader.checks if c.exercise in wanted]
        results = grader.grade_many(paths, jobs=2)
    return dict(zip(sorted(sources), results))


@pytest.mark.parametrize("slip", list(SLIPS))
def test_promised_hint_appears(slip, graded):
    number, function, _, words = SLIPS[slip]
    checks = [c for c in graded[number].checks if c.exercise == function]
    failed = [c for c in checks if not c.passed]
    assert failed, f"the slip {slip!r} passed every check of {function}"
    assert any(words in c.message + " " + c.hint for c in failed), [(c.title, c.message, c.hint) for c in failed]
