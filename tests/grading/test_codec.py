"""The transport: what a function returns crosses as plain data, and nothing else gets through."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from course.grading import codec
from course.grading.codec import Build, CodecError, ModuleOutput


@dataclasses.dataclass
class Cfg:
    n: int = 3


def test_roundtrip_values(tmp_path):
    value = {
        "t": torch.arange(6.0).reshape(2, 3), "i": 3, "f": 0.5, "s": "hi", "none": None, "b": True,
        "tuple": (torch.ones(2, dtype=torch.bool), [1, 2]), "dtype": torch.float16, "size": torch.Size([2, 3]),
        "np": np.arange(4), "np_scalar": np.float32(1.5), "zero_dim": torch.tensor(2.0),
        "view": torch.arange(10)[::2],
    }
    codec.save(value, tmp_path, "out")
    got = codec.load(tmp_path, "out")
    assert torch.equal(got["t"], value["t"]) and got["i"] == 3 and got["f"] == 0.5 and got["s"] == "hi"
    assert got["none"] is None and got["b"] is True and got["dtype"] is torch.float16
    assert isinstance(got["tuple"], tuple) and got["tuple"][1] == [1, 2]
    assert got["size"] == (2, 3) and torch.equal(got["np"], torch.arange(4)) and got["np_scalar"] == 1.5
    assert torch.equal(got["view"], torch.arange(0, 10, 2)) and got["zero_dim"].shape == ()


def test_modules_and_dataclasses_become_data():
    lin = torch.nn.Linear(2, 3)
    got = codec.roundtrip({"m": lin, "c": Cfg(4)})
    assert isinstance(got["m"], ModuleOutput) and got["m"].type_name == "Linear"
    assert torch.equal(got["m"].state_dict["weight"], lin.weight.detach())
    assert got["c"] == {"n": 4}  # the grader never imports a learner's class


def test_tensor_subclasses_are_stripped():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    got = codec.roundtrip(torch.zeros(3).as_subclass(Liar))
    assert type(got) is torch.Tensor


def test_ndarray_subclasses_are_stripped():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    got = codec.roundtrip(np.zeros(3).view(Liar))
    assert type(got) is torch.Tensor and got.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("bad", [object(), {1: 2}, lambda: 0, {"__tensor__": "t0"}, torch.zeros(2, dtype=torch.complex64)])
def test_refuses_what_cannot_be_data(bad):
    with pytest.raises(CodecError):
        codec.encode(bad)


def test_refuses_deep_nesting():
    v: list = []
    for _ in range(100):
        v = [v]
    with pytest.raises(CodecError):
        codec.encode(v)


def test_build_is_materialised_from_the_given_module():
    class Module:
        class Thing:
            def __init__(self, a, b=0):
                self.a, self.b = a, b

    skeleton, tensors = codec.encode({"self": Build("Thing", 1, b=torch.ones(1))})
    value = codec.decode(skeleton, tensors, build=True)
    obj = codec.materialise(value, Module)["self"]
    assert obj.a == 1 and torch.equal(obj.b, torch.ones(1))
    with pytest.raises(CodecError, match="does not define"):
        codec.materialise(Build("Missing"), Module)


def test_only_course_classes_can_be_built():
    with pytest.raises(CodecError, match="course library"):
        codec.resolve("os:system", None)
    skeleton = {"__dataclass__": "subprocess:Popen", "fields": {}}
    with pytest.raises(CodecError):
        codec.decode(skeleton, {}, build=True)


def test_corrupt_result_files(tmp_path):
    (tmp_path / "out.json").write_text('{"__tensor__": "t0"}')
    (tmp_path / "out.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(CodecError):
        codec.load(tmp_path, "out")
    (tmp_path / "out.json").write_text("{not json")
    with pytest.raises(CodecError):
        codec.load(tmp_path, "out")
    with pytest.raises(FileNotFoundError):
        codec.load(tmp_path, "missing")
