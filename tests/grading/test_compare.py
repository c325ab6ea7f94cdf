"""The comparison is a trusted oracle: checked value by value, with the hints a learner needs."""

from __future__ import annotations

import math

import pytest
import torch

from course.grading.codec import ModuleOutput
from course.grading.compare import Tol, compare, diagnose_slip

E = torch.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])


def test_equal_passes_and_tolerance_is_respected():
    assert compare(E, E.clone()) is None
    assert compare(E, E + 5e-6) is None  # inside float32's default atol 1e-5
    assert compare(E, E + 1e-3) is not None
    assert compare(E, E + 1e-3, tol=Tol(0, 2e-3)) is None
    assert compare(E.double(), E.double() + 1e-6, check_dtype=True) is not None  # float64 is strict


@pytest.mark.parametrize(
    "got, phrase",
    [
        (E.T.contiguous(), "transposed"),
        (E.reshape(6), "reshape"),
        (E.sum(-1), "keepdim"),
        (E.double(), "dtype"),
        (E.clone().index_put_((torch.tensor([0]), torch.tensor([1])), torch.tensor(float("nan"))), "NaN"),
        (-E, "sign flipped"),
        (E * 2, "times 2"),
        (E + 0.5, "plus 0.5"),
        (E.clamp(min=0), "negatives set to zero"),
        ([1, 2], "expected a tensor"),
    ],
)
def test_failures_say_how(got, phrase):
    msg = compare(E, got)
    assert msg is not None and phrase in msg, msg


def test_largest_difference_is_located():
    got = E.clone()
    got[1, 2] += 1.0
    msg = compare(E, got)
    assert "index (1, 2)" in msg and "1 of 6" in msg


def test_relu_slip_detected():
    e = torch.tensor([-1.0, 2.0, -3.0, 4.0])
    assert "forget a ReLU" in compare(e.clamp(min=0), e)
    assert diagnose_slip(e, e) is None


def test_structures_and_scalars():
    assert compare({"a": 1, "b": [E, 2.0]}, {"a": 1, "b": [E, 2.0 + 1e-9]}) is None
    assert "missing" in compare({"a": 1}, {"b": 1})
    assert "expected 3 items" in compare((1, 2, 3), (1, 2))
    assert compare(3, 3.0) is None and "whole number" in compare(3, 3.5)
    assert compare(0.5, torch.tensor(0.5)) is None  # a 0-d tensor for a float is fine
    assert "NaN" in compare(1.0, math.nan)
    assert compare(True, 1) is not None  # a bool must be a bool
    assert compare("x", "x") is None and compare(None, 0) is not None


def test_integer_and_bool_tensors_exact():
    assert compare(torch.tensor([1, 2]), torch.tensor([1, 2])) is None
    assert "1 of 2 values differ" in compare(torch.tensor([1, 2]), torch.tensor([1, 3]))
    assert "dtype" in compare(torch.tensor([1, 2]), torch.tensor([1, 2], dtype=torch.int32))


def test_modules_compare_state_dicts():
    a = ModuleOutput("Lin", {"w": E})
    assert compare(a, ModuleOutput("Lin", {"w": E.clone()})) is None
    assert "state_dict" in compare(a, ModuleOutput("Lin", {"w": E + 1}))


def test_slips_on_single_numbers():
    """A loss is one number: a sum where a mean belongs shows as a whole-number factor; other errors get no guess."""
    assert "times 7: off by a constant factor" in compare(torch.tensor(0.25), torch.tensor(1.75))
    assert "times 1/4" in compare(torch.tensor(2.0), torch.tensor(0.5))
    assert "sign flipped" in compare(torch.tensor(0.3), torch.tensor(-0.3))
    assert "times 5" in compare(0.2, 1.0)  # Python floats too
    assert "constant factor" not in compare(torch.tensor(0.25), torch.tensor(0.31))
    e = torch.rand(4, 5) + 0.1
    assert "times 3: off by a constant factor" in compare(e, 3 * e)


def test_shape_slips_name_the_axis():
    e = torch.zeros(3, 9)
    assert "axis 1 has the wrong size" in compare(e, torch.zeros(3, 4))  # W Wᵀ where Wᵀ W belongs
    assert "one axis too many" in compare(e, torch.zeros(3, 9, 2))
