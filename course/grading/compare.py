"""Trusted comparison of a learner's output with the reference, with hints a learner can act on.

Runs only in the grader, on plain data decoded by `codec` (tensors, numbers, lists, dicts): nothing the learner
wrote is called, so an `__eq__` that always says yes or a patched `torch.allclose` has no say here. In the
spirit of micrograd's tests and ARENA's checks: value by value against a trusted oracle, and when it fails,
say how (shape, dtype, NaNs, where the largest difference is, and common slips such as a wrong scale or sign).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from course.grading.codec import ModuleOutput


@dataclass(frozen=True)
class Tol:
    """Tolerance for `|got - expected| <= atol + rtol * |expected|`."""

    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


# Per-dtype defaults, as torch.testing.assert_close uses; a check may override them.
DEFAULT_TOLS: dict[torch.dtype, Tol] = {
    torch.float64: Tol(1e-7, 1e-7),
    torch.float32: Tol(1.3e-6, 1e-5),
    torch.float16: Tol(1e-3, 1e-5),
    torch.bfloat16: Tol(1.6e-2, 1e-5),
}
PYTHON_FLOAT_TOL = Tol(1e-5, 1e-6)  # Python floats are usually float32 results read out with .item()


def tol_for(dtype: torch.dtype | None, tol: Tol | dict | None) -> Tol:
    if isinstance(tol, Tol):
        return tol
    if isinstance(tol, dict) and dtype in tol:
        return tol[dtype]
    return DEFAULT_TOLS.get(dtype, PYTHON_FLOAT_TOL) if dtype is not None else PYTHON_FLOAT_TOL


def _kind(v: Any) -> str:
    if isinstance(v, torch.Tensor):
        return "a tensor"
    if isinstance(v, bool):
        return "a bool"
    if isinstance(v, int):
        return "an int"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, tuple):
        return f"a tuple of {len(v)}"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "a dict"
    if isinstance(v, ModuleOutput):
        return f"an nn.Module ({v.type_name})"
    if v is None:
        return "None"
    return type(v).__name__


def _where(path: str) -> str:
    return f" in {path}" if path else ""


def compare(expected: Any, got: Any, tol: Tol | dict | None = None, check_dtype: bool = True, path: str = "") -> str | None:
    """None when `got` matches `expected`; otherwise a short explanation of the first difference."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            if isinstance(got, (int, float)) and expected.numel() == 1:
                return f"expected a tensor of shape {tuple(expected.shape)}{_where(path)}, got a Python number (keep it a tensor: don't call .item())"
            return f"expected a tensor{_where(path)}, got {_kind(got)}"
        return compare_tensors(expected, got, tol, check_dtype, path)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(got) is not type(expected) or got != expected:
            return f"expected {expected!r}{_where(path)}, got {_short(got)}"
        return None
    if isinstance(expected, (int, float)):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return f"expected a number{_where(path)}, got {_kind(got)}"
        if isinstance(expected, int) and not isinstance(got, int):
            if not float(got).is_integer():
                return f"expected the whole number {expected}{_where(path)}, got {got!r}"
            got = int(got)
        if isinstance(expected, int) and isinstance(got, int):
            return None if got == expected else f"expected {expected}{_where(path)}, got {got}"
        t = tol_for(None, tol)
        e, g = float(expected), float(got)
        if math.isnan(g) and not math.isnan(e):
            return f"got NaN{_where(path)}, expected {e:.6g}"
        if not (abs(g - e) <= t.atol + t.rtol * abs(e) or (math.isnan(e) and math.isnan(g))):
            slip = diagnose_slip(torch.tensor(e, dtype=torch.float64), torch.tensor(g, dtype=torch.float64))
            return (f"expected {e:.6g}{_where(path)}, got {g:.6g} (difference {abs(g - e):.3g}; tolerance {t})"
                    + (f". {slip}" if slip else ""))
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return f"expected {_kind(expected)}{_where(path)}, got {_kind(got)}"
        if len(got) != len(expected):
            return f"expected {len(expected)} items{_where(path)}, got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            msg = compare(e, g, tol, check_dtype, f"{path}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"expected a dict{_where(path)}, got {_kind(got)}"
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        if missing or extra:
            return f"keys differ{_where(path)}: missing {missing}, unexpected {extra}"
        for k in expected:
            msg = compare(expected[k], got[k], tol, check_dtype, f"{path}[{k!r}]")
            if msg:
                return msg
        return None
    if isinstance(expected, ModuleOutput):
        if not isinstance(got, ModuleOutput):
            return f"expected an nn.Module{_where(path)}, got {_kind(got)}"
        return compare(expected.state_dict, got.state_dict, tol, check_dtype, f"{path}.state_dict()")
    return f"the reference returned {_kind(expected)}, which this check can't compare (a bug in the check)"


def _short(v: Any) -> str:
    r = repr(v) if isinstance(v, (bool, int, float, str, type(None))) else _kind(v)
    return r if len(r) < 80 else r[:77] + "..."


def compare_tensors(expected: torch.Tensor, got: torch.Tensor, tol: Tol | dict | None, check_dtype: bool, path: str = "") -> str | None:
    w = _where(path)
    if tuple(got.shape) != tuple(expected.shape):
        msg = f"expected shape {tuple(expected.shape)}{w}, got {tuple(got.shape)}"
        if got.dim() == expected.dim() and tuple(got.shape) == tuple(reversed(expected.shape)) and got.dim() >= 2:
            msg += " (transposed? check the order of your einsum/matmul axes)"
        elif got.numel() == expected.numel():
            msg += " (same number of elements: a reshape or a permuted axis?)"
        elif got.dim() == expected.dim() - 1:
            msg += " (one axis missing: keepdim=True, or a sum over the wrong axis?)"
        elif got.dim() == expected.dim() + 1:
            msg += " (one axis too many: a sum or mean left out, or keepdim=True where it doesn't belong?)"
        elif got.dim() == expected.dim():
            wrong = [i for i, (a, b) in enumerate(zip(got.shape, expected.shape)) if a != b]
            msg += (f" (axis {wrong[0]} has the wrong size: a product or sum over the wrong axis, e.g. W Wᵀ where "
                    "Wᵀ W belongs, or the wrong input's size?)" if len(wrong) == 1 else
                    " (several axes have the wrong size: check which axes your einsum/matmul keeps)")
        return msg
    if expected.dtype == torch.bool or not (expected.is_floating_point() or got.is_floating_point()):
        if check_dtype and got.dtype != expected.dtype:
            return f"expected dtype {_dt(expected.dtype)}{w}, got {_dt(got.dtype)}"
        if not torch.equal(got.to(expected.dtype), expected):
            bad = (got.to(expected.dtype) != expected).sum().item()
            return f"{bad} of {expected.numel()} values differ{w}"
        return None
    if check_dtype and got.dtype != expected.dtype:
        return f"expected dtype {_dt(expected.dtype)}{w}, got {_dt(got.dtype)} (use the input's dtype; don't create tensors with a different one)"
    if not got.is_floating_point():
        got = got.to(expected.dtype)
    t = tol_for(expected.dtype, tol)
    e, g = expected.double(), got.double()
    g_nan, e_nan = torch.isnan(g), torch.isnan(e)
    if (g_nan & ~e_nan).any():
        return f"your output has NaN in {int((g_nan & ~e_nan).sum())} of {g.numel()} values{w} (a division by zero, or log of 0?)"
    g_inf = torch.isinf(g) & ~torch.isinf(e)
    if g_inf.any():
        return f"your output has inf in {int(g_inf.sum())} of {g.numel()} values{w}"
    ok = (g - e).abs() <= t.atol + t.rtol * e.abs()
    ok |= (g == e) | (g_nan & e_nan)
    if bool(ok.all()):
        return None
    diff = torch.where(ok, torch.zeros_like(e), (g - e).abs()).nan_to_num(0.0)
    flat = int(diff.argmax())
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), e.shape)) if e.dim() else ()
    msg = (
        f"{int((~ok).sum())} of {e.numel()} values differ{w}; the largest difference is {diff.max().item():.4g} "
        f"at index {idx} (expected {e.reshape(-1)[flat].item():.6g}, got {g.reshape(-1)[flat].item():.6g}; tolerance {t})"
    )
    slip = diagnose_slip(e, g)
    return msg + (f". {slip}" if slip else "")


def _dt(d: torch.dtype) -> str:
    return str(d).removeprefix("torch.")


def _simple_ratio(c: float) -> str | None:
    """'n' or '1/n' when c is (nearly) a whole number or its reciprocal, n >= 2; else None."""
    for value, text in ((c, "{}"), (1 / c if c else 0.0, "1/{}")):
        n = round(value)
        if n >= 2 and abs(value - n) <= 1e-4 * n:
            return text.format(n)
    return None


def diagnose_slip(e: torch.Tensor, g: torch.Tensor) -> str | None:
    """Spot the usual slips: a constant factor, a flipped sign, a constant shift, negatives clipped.

    For a single number (a loss, a score) any wrong answer is "the reference times something", so only a
    flipped sign or a whole-number factor (a sum where a mean belongs, a missing normalisation) is named."""
    if e.numel() < 2:
        ev, gv = e.reshape(-1)[0].item(), g.reshape(-1)[0].item()
        if ev == 0 or not math.isfinite(gv):
            return None
        c = gv / ev
        if abs(c + 1) <= 1e-4:
            return "Your output is the reference with its sign flipped"
        ratio = _simple_ratio(abs(c))
        if ratio:
            sign = "minus " if c < 0 else ""
            return (f"Your output is {sign}the reference times {ratio}: off by a constant factor. A sum where a mean "
                    "belongs (or the other way round), or a missing normalisation?")
        return None
    scale = max(e.abs().max().item(), 1e-12)
    close = lambda a, b: bool(((a - b).abs() <= 1e-4 * scale + 1e-6).all())  # noqa: E731
    if close(g, -e):
        return "Your output is the reference with its sign flipped"
    if close(g, e.clamp(min=0)):
        return "Your output has the negatives set to zero: a ReLU where none belongs?"
    if close(g.clamp(min=0), e) and (g < 0).any():
        return "Your output matches where it is positive: did you forget a ReLU?"
    denom = (e * e).sum().item()
    if denom > 0:
        c = ((g * e).sum() / denom).item()
        if abs(c - 1) > 1e-3 and c != 0 and close(g, c * e):
            ratio = _simple_ratio(abs(c))
            factor = f"{'-' if c < 0 else ''}{ratio}" if ratio else f"{c:.4g}"
            return (f"Your output is the reference times {factor}: off by a constant factor. A missing or extra "
                    "normalisation, or a sum where a mean belongs?")
    shift = (g - e).mean().item()
    if abs(shift) > 1e-6 and close(g, e + shift):
        return f"Your output is the reference plus {shift:.4g} everywhere: a missing or extra bias/offset?"
    return None


def _nonfinite_counts(v: Any, depth: int = 0) -> tuple[int, int, int]:
    """(NaN values, infinite values, all values) in a decoded result, however nested."""
    if depth > 40:
        return 0, 0, 0
    if isinstance(v, torch.Tensor):
        if not v.is_floating_point():
            return 0, 0, v.numel()
        return int(torch.isnan(v).sum()), int(torch.isinf(v).sum()), v.numel()
    if isinstance(v, float):
        return int(math.isnan(v)), int(math.isinf(v)), 1
    items = v.values() if isinstance(v, dict) else v.state_dict.values() if isinstance(v, ModuleOutput) else \
        v if isinstance(v, (list, tuple)) else ()
    n = i = total = 0
    for x in items:
        a, b, c = _nonfinite_counts(x, depth + 1)
        n, i, total = n + a, i + b, total + c
    return n, i, total


def nonfinite(got: Any, expected: Any = None) -> str | None:
    """A sentence when `got` holds NaN (or inf) and the reference's output holds none; None otherwise.

    The grader applies it to every check before its comparison or judge: a judge's `x.min() < 0` or
    `(x > 0).mean()` is silently true or false for NaN, so a NaN must never pass for a value. Without a
    reference (a judge alone decides), NaN is wrong; infinities are left to the judge.
    """
    g_nan, g_inf, total = _nonfinite_counts(got)
    if not (g_nan or g_inf):
        return None
    e_nan, e_inf, _ = _nonfinite_counts(expected) if expected is not None else (0, 1, 0)
    if g_nan and not e_nan:
        return f"NaN in {g_nan} of {total} values (a division by zero, a log of 0, or NaN used as a placeholder?)"
    if g_inf and not e_inf:
        return f"inf in {g_inf} of {total} values (an overflow, or a division by zero?)"
    return None
