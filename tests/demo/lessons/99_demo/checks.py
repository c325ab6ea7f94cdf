"""Graded checks for the demo lesson (see course.grading.spec)."""

import torch

from course.grading import Build, Check, Hint, Tol, Verdict

solutions: object  # the reference module, set by the grader


def _line_data(g: torch.Generator) -> dict:
    x = torch.rand(64, generator=g) * 2 - 1
    w, b = float(torch.rand((), generator=g) * 4 - 2), float(torch.rand((), generator=g) - 0.5)
    return {"x": x, "y": w * x + b + 0.05 * torch.randn(64, generator=g), "steps": 500, "lr": 0.1}


def _judge_fit(got, inputs, expected) -> Verdict:
    # the least-squares answer, computed here from the inputs: the oracle the learner's loop must approach
    x, y = inputs["x"].double(), inputs["y"].double()
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    w, b = torch.linalg.lstsq(A, y[:, None]).solution.flatten().tolist()
    gw, gb = float(got[0]), float(got[1])
    err = max(abs(gw - w), abs(gb - b))
    if err < 0.05:
        return Verdict(True, f"w={gw:.3f}, b={gb:.3f} (least squares: {w:.3f}, {b:.3f})")
    return Verdict(False, f"got w={gw:.3f}, b={gb:.3f}, but least squares gives w={w:.3f}, b={b:.3f}: "
                          "is the loss the mean squared error, and do you zero the gradients each step?")


CHECKS = [
    Check("relu", points=1, inputs=lambda g: {"x": torch.randn(6, 7, generator=g)}),
    Check("normalise", points=1, inputs=lambda g: {"x": torch.randn(8, 5, generator=g) * 3},
          hints=[Hint(lambda got, exp, inp: got.shape == exp.shape and torch.allclose(got, inp["x"] / inp["x"].norm()),
                      "You divided by the norm of the whole matrix; each row needs its own norm.")]),
    Check("softmax", points=1, inputs=lambda g: {"x": torch.randn(4, 9, generator=g) * 30 + 80, "dim": 1},
          tol=Tol(rtol=1e-4, atol=1e-6)),
    Check("cosine_similarity_matrix", points=1,
          inputs=lambda g: {"a": torch.randn(5, 3, generator=g), "b": torch.randn(7, 3, generator=g)},
          tol=Tol(rtol=1e-4, atol=1e-5)),
    Check("count_active", points=1,
          inputs=lambda g: {"x": torch.randn(100, generator=g), "threshold": float(torch.rand((), generator=g))}),
    Check("top_k_indices", points=1, inputs=lambda g: {"x": torch.randn(20, generator=g), "k": 4}),
    Check("mse", points=1, inputs=lambda g: {"pred": torch.randn(10, generator=g), "target": torch.randn(10, generator=g)}),
    Check("Affine.forward", points=1, tol=Tol(rtol=1e-5, atol=1e-6),
          inputs=lambda g: {"self": Build("Affine", 4, 3, state={"W": torch.randn(3, 4, generator=g), "b": torch.randn(3, generator=g)}),
                            "x": torch.randn(5, 4, generator=g)}),
    Check("summary_stats", points=1, inputs=lambda g: {"x": torch.randn(50, generator=g) * 2 + 1}),
    Check("fit_line", points=2, inputs=_line_data, reference=False, judge=_judge_fit, timeout=30),
]
