"""Device choice: explicit > $COURSE_DEVICE > cuda > mps > cpu, with clear errors; seeding is complete."""

import random

import pytest
import torch

from course.device import get_device, seed_everything


def test_cpu_and_env(monkeypatch):
    assert get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    monkeypatch.delenv("COURSE_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert get_device().type == "cuda"
    elif not (torch.backends.mps.is_available()):
        assert get_device().type == "cpu"


def test_bad_choices_explained():
    with pytest.raises(ValueError, match="Unknown device"):
        get_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            get_device("cuda")


def test_seed_everything_repeats():
    g = seed_everything(3)
    a = (random.random(), torch.rand(2), torch.rand(2, generator=g))
    g = seed_everything(3)
    b = (random.random(), torch.rand(2), torch.rand(2, generator=g))
    assert a[0] == b[0] and torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
