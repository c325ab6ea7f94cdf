"""Lesson 05 promises hints for the slips learners make (its README and the course README name them): each
promised slip, graded, must show its hint. Only the slipped exercise's checks run, to keep this quick."""

from __future__ import annotations

import pytest

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, find_lesson
from course.markers import replace_solution

SLIPS = {
    # exercise: (function, wrong body, words the message or hint must contain)
    "missing ReLU": ("ToyModel.forward", "forward", """
        h = torch.einsum("bif,ihf->bih", features, self.W)
        return torch.einsum("bih,ihf->bif", h, self.W) + self.b_final
        """, "ReLU"),
    "sum where a mean belongs": ("importance_loss", "importance_loss", """
        return (importance * (batch - out) ** 2).mean(dim=0).sum()
        """, "summed over the features"),
    "unweighted loss": ("importance_loss", "importance_loss", """
        return ((batch - out) ** 2).mean(dim=(0, 2)).sum()
        """, "unweighted"),
    "rows normalised, not columns": ("interference", "interference", """
        unit = W / W.norm(dim=2, keepdim=True).clamp(min=1e-8)
        overlap = torch.einsum("nhi,nhj->nij", unit, W) ** 2
        return overlap.sum(-1) - torch.diagonal(overlap, dim1=-2, dim2=-1)
        """, "normalise along the hidden axis"),
    "W W^T where W^T W belongs": ("interference", "interference", """
        unit = W / W.norm(dim=1, keepdim=True).clamp(min=1e-8)
        overlap = torch.einsum("nhi,nji->nhj", unit, W) ** 2
        return overlap.sum(-1) - torch.diagonal(overlap, dim1=-2, dim2=-1)
        """, "W Wᵀ where Wᵀ W belongs"),
    "j = i left out": ("feature_dimensionality", "feature_dimensionality", """
        norms2 = (W**2).sum(dim=1)
        unit = W / W.norm(dim=1, keepdim=True).clamp(min=1e-8)
        o = torch.einsum("nhi,nhj->nij", unit, W) ** 2
        denom = o.sum(-1) - torch.diagonal(o, dim1=-2, dim2=-1)
        return torch.where(norms2 > 1e-6, norms2 / denom.clamp(min=1e-12), torch.zeros_like(norms2))
        """, "including j = i"),
    "same-sign pair called superposition": ("classify_phase", "classify_phase", """
        w = W.reshape(-1, 2)
        on = w.abs() > threshold
        phase = torch.full((w.shape[0],), 3, dtype=torch.long)
        phase[on[:, 0] & ~on[:, 1]] = 0
        phase[~on[:, 0] & on[:, 1]] = 1
        phase[on[:, 0] & on[:, 1]] = 2
        return phase
        """, "same sign"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every slip graded once, by one grader running only the checks of the slipped exercises."""
    lesson = find_lesson("05", REPO_ROOT / "lessons")
    folder = tmp_path_factory.mktemp("slips")
    paths = []
    for i, (exercise, function, body, _) in enumerate(SLIPS.values()):
        paths.append(folder / f"slip{i}.py")
        paths[-1].write_text(replace_solution(lesson.solutions_path.read_text(), function, body))
    wanted = {exercise for exercise, *_ in SLIPS.values()}
    with Grader(lesson, seed=11) as grader:
        grader.checks = [c for c in grader.checks if c.exercise in wanted]
        results = grader.grade_many(paths, jobs=2)
    return dict(zip(SLIPS, results))


@pytest.mark.parametrize("slip", list(SLIPS))
def test_promised_hint_appears(slip, graded):
    exercise, _, _, words = SLIPS[slip]
    (check,) = [c for c in graded[slip].checks if c.exercise == exercise]
    assert not check.passed, f"the slip {slip!r} passed"
    assert words in check.message + " " + check.hint, (check.message, check.hint)
