"""course.grading.mutate: automatic mutants of the solution blocks, and whether a lesson's checks catch them."""

from __future__ import annotations

import shutil

from course.cli import main
from course.grading import mutate
from course.lessons import find_lesson

SOURCE = '''
import torch


def helper(x):
    return x * 2  # outside any solution block: never mutated


def f(x, y):
    """Doc."""
    # BEGIN SOLUTION hint: something
    z = torch.einsum("ij,jk->ik", x, y) + 1.5
    if z.sum() > 0:
        z = z.relu()
    return z.mean(dim=0, keepdim=True)
    # END SOLUTION


class Model:
    def forward(self, x):
        # BEGIN SOLUTION
        return -x.T
        # END SOLUTION
'''


def test_mutants_stay_inside_solution_blocks_and_compile():
    ms = mutate.generate(SOURCE)
    inside = mutate.solution_lines(SOURCE)
    assert ms and all(m.line in inside for m in ms)
    assert {m.owner for m in ms} == {"f", "Model.forward"}
    kinds = {m.kind for m in ms}
    assert {"operator", "comparison", "constant", "axis", "method", "statement", "return"} <= kinds
    for m in ms:
        compile(m.source, "m", "exec")
        assert m.source != SOURCE
        assert "x * 2" in m.source  # the helper is untouched
    described = "\n".join(m.describe() for m in ms)
    assert "z.mean(dim=0, keepdim=True)  ->  (z.sum(dim=0, keepdim=True))" in described
    assert "ij,jk->ki" in described  # einsum output axes reversed
    assert "1.5  ->  (3.0)" in described and "keepdim=False" in described
    assert "(x.T)" in described and "-x.T  ->  (x.T)" in described
    assert len({m.source for m in ms}) == len(ms)  # no duplicates


def test_weak_checks_leave_survivors_and_the_report_says_so(tmp_path, monkeypatch):
    """The demo's relu check compares values: its mutants die. A shape-only judge lets them live."""
    lessons = tmp_path / "lessons"
    shutil.copytree(find_lesson("99").path.parent, lessons)
    monkeypatch.setenv("COURSE_LESSONS_DIR", str(lessons))
    strong = mutate.run(find_lesson("99"), exercise="relu", jobs=1)
    assert strong and all(not m.survived for m in strong), mutate.report(strong)

    checks = lessons / "99_demo" / "checks.py"
    checks.write_text(checks.read_text().replace(
        'Check("relu", points=1, inputs=lambda g: {"x": torch.randn(6, 7, generator=g)}),',
        'Check("relu", points=1, inputs=lambda g: {"x": torch.randn(6, 7, generator=g)}, '
        'judge=lambda got, inp, exp: Verdict(tuple(got.shape) == (6, 7))),'))
    if "Verdict" not in checks.read_text().split("CHECKS")[0]:
        checks.write_text("from course.grading import Verdict\n" + checks.read_text())
    weak = mutate.run(find_lesson("99"), exercise="relu", jobs=1)
    assert weak and all(m.survived for m in weak)
    text = mutate.report(weak)
    assert "Survivors" in text and "relu line" in text and "0 / " in text


def test_cli_lists_mutants(capsys):
    assert main(["mutate", "99", "--exercise", "softmax", "--list"]) == 0
    out = capsys.readouterr().out
    assert "softmax line" in out and "amax" in out
