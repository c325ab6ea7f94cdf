"""How a lesson's `checks.py` describes its graded checks.

A check names an exercise function in the learner's file, its points, and how its inputs are drawn from a
`torch.Generator` seeded fresh for every grading run (the seed is in the report, so a run can be replayed and
hard-coded answers fail). The grader calls the reference (by default the function of the same name in the
lesson's `solutions.py`) on the same inputs, in its own process, and compares. A behavioural check gives a
`judge` instead, which sees the learner's result as plain data and decides.

    from course.grading import Check, Hint, Tol, Build, Verdict

    CHECKS = [
        Check("normalise", points=1, inputs=lambda g: {"x": torch.randn(8, 5, generator=g)},
              hints=[Hint(lambda got, exp, inp: got.shape == exp.shape and ..., "did you forget keepdim?")]),
        Check("train", points=3, inputs=..., judge=my_judge, timeout=60),
    ]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from course.grading.compare import Tol

Inputs = dict[str, Any]


@dataclass
class Hint:
    """A targeted hint: shown when `when(got, expected, inputs)` is true for a failing answer."""

    when: Callable[[Any, Any, Inputs], bool]
    say: str


@dataclass
class Verdict:
    """A judge's decision. `score` is the fraction of the points earned (default: all if passed, else none)."""

    passed: bool
    message: str = ""
    score: float | None = None

    @property
    def fraction(self) -> float:
        if self.score is not None:
            return min(max(float(self.score), 0.0), 1.0)
        return 1.0 if self.passed else 0.0


@dataclass
class Check:
    """One graded check of one exercise function.

    exercise:    the function's name in the learner's file; "Class.method" calls a method of an instance
                 built from the first input (a `Build`).
    points:      what passing is worth.
    inputs:      generator -> dict of keyword arguments (tensors, numbers, `Build`s, ...).
    title:       what the report calls this check (default: the exercise name).
    reference:   callable giving the expected output; None means `solutions.<exercise>`; False means no
                 reference (a judge decides alone).
    tol:         a `Tol`, or a dict dtype -> Tol; default per dtype (see compare.DEFAULT_TOLS).
    check_dtype: whether a different dtype fails.
    hints:       extra hints for wrong answers.
    judge:       judge(got, inputs, expected) -> Verdict, replacing the comparison (behavioural checks).
    timeout:     wall-clock seconds for this check (default: the grader's, 60 s).
    output:      pick what to compare from the returned value, e.g. lambda out: out[0]; applied to both sides.
    after:       "course.module:function", called as function(result, **inputs) in the learner's process right
                 after the exercise returns (and in the grader after the reference, the same way); what it
                 returns is graded instead of the result. It sees what the call left behind, e.g.
                 `course.lm.hooks:audit` adds the hooks still attached to the input models and their weights.
    """

    exercise: str
    points: float = 1.0
    inputs: Callable[[torch.Generator], Inputs] = lambda g: {}
    title: str = ""
    reference: Callable[..., Any] | None | bool = None
    tol: Tol | dict | None = None
    check_dtype: bool = True
    hints: list[Hint] = field(default_factory=list)
    judge: Callable[[Any, Inputs, Any], Verdict] | None = None
    timeout: float | None = None
    output: Callable[[Any], Any] | None = None
    after: str | None = None

    def __post_init__(self) -> None:
        if not self.title:
            self.title = self.exercise
        if self.points < 0:
            raise ValueError(f"check {self.title!r}: points must be >= 0")

    def __repr__(self) -> str:
        kind = "judge" if self.judge else "compare"
        return f"Check({self.title!r}, exercise={self.exercise!r}, points={self.points:g}, {kind})"
