"""Plain-data transport between the trusted grader and the sandboxed worker.

Only two things ever cross the process boundary: a JSON "skeleton" (numbers, strings, lists, dicts and a few
tagged dicts) and a safetensors file of plain tensors. Neither format can carry code, so nothing the learner's
process writes can run in the grader (no pickle anywhere). Both sides use this one module, so what a check
compares is exactly what the learner's function returned, reduced to data.

Tags in the skeleton:
    {"__tensor__": key}                         a tensor stored under `key` in the safetensors file
    {"__tuple__": [...]}                        a tuple (JSON has only lists)
    {"__dtype__": "float32"}                    a torch dtype
    {"__dataclass__": "mod:Qual", "fields": {}} a dataclass instance
    {"__build__": target, "args", "kwargs", "state"}  an object to construct on arrival (see `Build`)
    {"__module__": "Qual", "state_dict": {}}    an nn.Module, reduced to its state dict (outputs only)
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import torch

MAX_SKELETON_BYTES = 16 * 1024 * 1024  # a skeleton bigger than this is refused
MAX_STRING = 100_000  # longest string a learner may return
MAX_DEPTH = 32  # deepest nesting accepted


class CodecError(ValueError):
    """A value that cannot cross the sandbox boundary (wrong type, too big, too deep)."""


@dataclasses.dataclass
class Build:
    """A recipe for an object, built fresh on each side of the boundary.

    `target` is either a bare name, looked up in the learner's module (and in `solutions.py` for the reference),
    or `"course.some.module:Name"`, imported from the library. The object is `target(*args, **kwargs)`; when
    `state` is given, `obj.load_state_dict(state)` follows. Checks use it to hand a learner's own classes
    (configs, models) to an exercise.
    """

    target: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    state: dict | None = None

    def __init__(self, target: str, *args: Any, state: dict | None = None, **kwargs: Any):
        self.target, self.args, self.kwargs, self.state = target, args, kwargs, state

    def __repr__(self) -> str:
        inner = ", ".join([repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()])
        return f"Build({self.target!r}{', ' if inner else ''}{inner})"


@dataclasses.dataclass
class ModuleOutput:
    """What the grader sees of an `nn.Module` a function returned: its class name and its state dict."""

    type_name: str
    state_dict: dict

    def __repr__(self) -> str:
        return f"ModuleOutput({self.type_name}, {len(self.state_dict)} tensors)"


# ----------------------------------------------------------------------------------------------- encoding


def encode(value: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """Split `value` into a JSON-able skeleton and a dict of plain, contiguous CPU tensors."""
    tensors: dict[str, torch.Tensor] = {}

    def put(t: torch.Tensor) -> dict:
        key = f"t{len(tensors)}"
        # as_subclass strips tensor subclasses; clone gives each tensor its own storage (safetensors needs that)
        tensors[key] = torch.Tensor.as_subclass(t.detach(), torch.Tensor).to("cpu").contiguous().clone()
        return {"__tensor__": key}

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CodecError(f"the value is nested more than {MAX_DEPTH} levels deep")
        t = type(v)
        if v is None or t is bool or t is int or t is str:
            if t is str and len(v) > MAX_STRING:
                raise CodecError(f"a string of {len(v)} characters is too long to return")
            return v
        if t is float:
            return v
        if isinstance(v, torch.Tensor):
            if v.is_complex() or v.layout != torch.strided:
                raise CodecError(f"tensors must be real and dense, got {v.dtype} / {v.layout}")
            return put(v)
        np = sys.modules.get("numpy")
        if np is not None and isinstance(v, np.ndarray):
            try:  # ascontiguousarray drops ndarray subclasses
                return put(torch.from_numpy(np.ascontiguousarray(v)))
            except TypeError:
                raise CodecError(f"a NumPy array of dtype {v.dtype} can't be returned; use numbers") from None
        if np is not None and isinstance(v, np.generic):
            return enc(v.item(), depth + 1)
        if isinstance(v, torch.dtype):
            return {"__dtype__": str(v).removeprefix("torch.")}
        if isinstance(v, torch.Size):
            return {"__tuple__": [int(x) for x in v]}
        if t is tuple or (isinstance(v, tuple) and not hasattr(v, "_fields")):
            return {"__tuple__": [enc(x, depth + 1) for x in v]}
        if isinstance(v, tuple):  # namedtuple: keep the field names
            return {k: enc(x, depth + 1) for k, x in zip(v._fields, v)}
        if t is list:
            return [enc(x, depth + 1) for x in v]
        if t is dict:
            if not all(type(k) is str for k in v):
                raise CodecError("dictionaries must have string keys")
            if any(k.startswith("__") and k.endswith("__") for k in v):
                raise CodecError("dictionary keys may not look like __this__")
            return {k: enc(x, depth + 1) for k, x in v.items()}
        if isinstance(v, Build):
            return {
                "__build__": v.target,
                "args": enc(list(v.args), depth + 1),
                "kwargs": enc(dict(v.kwargs), depth + 1),
                "state": None if v.state is None else enc(dict(v.state), depth + 1),
            }
        if isinstance(v, torch.nn.Module):
            return {"__module__": type(v).__qualname__, "state_dict": enc(dict(v.state_dict()), depth + 1)}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            fields = {f.name: enc(getattr(v, f.name), depth + 1) for f in dataclasses.fields(v)}
            return {"__dataclass__": f"{type(v).__module__}:{type(v).__qualname__}", "fields": fields}
        if isinstance(v, ModuleOutput):
            return {"__module__": v.type_name, "state_dict": enc(v.state_dict, depth + 1)}
        raise CodecError(
            f"a value of type {type(v).__module__}.{type(v).__qualname__} can't be returned: return tensors, "
            "numbers, strings, lists, tuples, dicts, dataclasses or nn.Modules"
        )

    skeleton = enc(value, 0)
    return skeleton, tensors


# ----------------------------------------------------------------------------------------------- decoding


def decode(skeleton: Any, tensors: dict[str, torch.Tensor], *, build: bool = False) -> Any:
    """Rebuild a value from `encode`'s output.

    With `build=False` (the grader reading what a learner returned) dataclasses become dicts, modules become
    `ModuleOutput`s and `Build` tags stay `Build`s: nothing is imported or constructed. With `build=True` (the
    worker reading a check's inputs) dataclasses are re-created, which only ever imports from `course.*`.
    """

    def dec(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CodecError("nested too deeply")
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        if not isinstance(v, dict):
            return v
        if "__tensor__" in v:
            key = v["__tensor__"]
            if key not in tensors:
                raise CodecError(f"missing tensor {key!r}")
            return tensors[key]
        if "__tuple__" in v:
            return tuple(dec(x, depth + 1) for x in v["__tuple__"])
        if "__dtype__" in v:
            dt = getattr(torch, str(v["__dtype__"]), None)
            if not isinstance(dt, torch.dtype):
                raise CodecError(f"unknown dtype {v['__dtype__']!r}")
            return dt
        if "__build__" in v:
            state = v.get("state")
            return Build(
                str(v["__build__"]),
                *dec(v.get("args", []), depth + 1),
                state=None if state is None else dec(state, depth + 1),
                **dec(v.get("kwargs", {}), depth + 1),
            )
        if "__module__" in v:
            return ModuleOutput(str(v["__module__"]), dec(v.get("state_dict", {}), depth + 1))
        if "__dataclass__" in v:
            fields = {k: dec(x, depth + 1) for k, x in dict(v.get("fields", {})).items()}
            if not build:
                return fields
            return resolve(str(v["__dataclass__"]), None)(**fields)
        return {k: dec(x, depth + 1) for k, x in v.items()}

    return dec(skeleton, 0)


def resolve(target: str, learner_module: Any) -> Any:
    """Find the class or function a `Build`/dataclass tag names: `course.x:Name` or a learner's `Name`."""
    if ":" in target:
        mod_name, _, qual = target.partition(":")
        if not (mod_name == "course" or mod_name.startswith("course.")):
            raise CodecError(f"only classes from the course library can be sent, not {target!r}")
        obj: Any = importlib.import_module(mod_name)
        for part in qual.split("."):
            obj = getattr(obj, part)
        return obj
    if learner_module is None or not hasattr(learner_module, target):
        raise CodecError(f"your file does not define `{target}` (the check needs it to build its inputs)")
    return getattr(learner_module, target)


def materialise(value: Any, learner_module: Any) -> Any:
    """Replace every `Build` in `value` by the object it describes, built from `learner_module`'s names."""
    if isinstance(value, Build):
        obj = resolve(value.target, learner_module)(
            *materialise(list(value.args), learner_module), **materialise(dict(value.kwargs), learner_module)
        )
        if value.state is not None:
            obj.load_state_dict(materialise(dict(value.state), learner_module))
        return obj
    if isinstance(value, list):
        return [materialise(x, learner_module) for x in value]
    if type(value) is tuple:
        return tuple(materialise(x, learner_module) for x in value)
    if type(value) is dict:
        return {k: materialise(x, learner_module) for k, x in value.items()}
    return value


def roundtrip(value: Any) -> Any:
    """What the grader would see if `value` crossed the boundary (used on the reference's own outputs)."""
    skeleton, tensors = encode(value)
    return decode(json.loads(json.dumps(skeleton)), tensors)


# ----------------------------------------------------------------------------------------------- files


def save(value: Any, directory: str | os.PathLike, stem: str) -> None:
    """Write `value` as `stem.json` + `stem.safetensors` in `directory` (the JSON last: it marks completion)."""
    from safetensors.torch import save_file

    skeleton, tensors = encode(value)
    directory = Path(directory)
    save_file(tensors, str(directory / f"{stem}.safetensors"))
    tmp = directory / f".{stem}.json.tmp"
    tmp.write_text(json.dumps(skeleton))
    os.replace(tmp, directory / f"{stem}.json")


def read_capped(path: str | os.PathLike, max_bytes: int, truncate: bool = False) -> bytes:
    """Read at most `max_bytes` of a regular file, refusing symlinks, FIFOs and devices.

    The files a sandboxed process leaves behind are hostile input: a symlink to a secret, a FIFO that never
    ends, a sparse file of terabytes. Raises CodecError for anything that is not a small regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise CodecError(f"unreadable result file ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CodecError("a result file is not a regular file")
        if st.st_size > max_bytes and not truncate:
            raise CodecError(f"a result file is larger than {max_bytes // 2**20} MiB")
        chunks, left = [], max_bytes + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        if truncate:
            return data[:max_bytes]
        if len(data) > max_bytes:
            raise CodecError(f"a result file is larger than {max_bytes // 2**20} MiB")
        return data
    finally:
        os.close(fd)


def load(directory: str | os.PathLike, stem: str, *, build: bool = False, max_bytes: int = 1 << 30) -> Any:
    """Read what `save` wrote. Raises FileNotFoundError when nothing was written, CodecError on anything
    malformed; never runs code and never follows links."""
    from safetensors.torch import load as load_bytes

    directory = Path(directory)
    raw = read_capped(directory / f"{stem}.json", MAX_SKELETON_BYTES)
    try:
        skeleton = json.loads(raw)
    except ValueError as e:
        raise CodecError(f"unreadable result ({e})") from None
    try:
        blob = read_capped(directory / f"{stem}.safetensors", max_bytes)
    except FileNotFoundError:
        blob = b""
    try:
        tensors = load_bytes(blob) if blob else {}
    except Exception as e:  # malformed files from a hostile process
        raise CodecError(f"unreadable tensors ({type(e).__name__}: {e})") from None
    return decode(skeleton, tensors, build=build)
