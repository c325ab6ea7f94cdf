"""Shipped checkpoints and the recipes that rebuild them.

Every model the course ships is a pair of files in `course/checkpoints/`:

    NAME.safetensors   the weights (a few MB; safetensors, so loading runs no code)
    NAME.json          {"name", "kind", "recipe", "config", "metrics", "sha256", "size_bytes", "created", "torch",
                        "files"}
    NAME.<suffix>      extra files a recipe ships (a tokenizer), each with its sha256 under "files"

`load_state(NAME)` checks the sha256 before trusting the weights and, on a mismatch or a missing file, says how
to rebuild them: `course train NAME` runs the recipe registered under that name (with a progress bar) and
writes both files. Recipes are registered with `@recipe(...)` in the modules listed in `RECIPE_MODULES`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from course.errors import CourseError, UsageError

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
KINDS = ("vision", "lm", "sae")
# Modules that register recipes when imported; later lessons add theirs here.
RECIPE_MODULES: list[str] = ["course.vision.train", "course.lm.train", "course.sae.recipes"]


@dataclass
class Trained:
    """What a recipe returns."""

    state_dict: dict  # name -> tensor
    config: dict  # enough to rebuild the module (JSON-able)
    metrics: dict  # what it reached (JSON-able numbers), recorded in the registry
    files: dict = field(default_factory=dict)  # extra files shipped beside the weights: suffix -> bytes


@dataclass
class Recipe:
    name: str
    kind: str  # vision | lm | sae
    description: str
    build: Callable[..., Trained]  # build(seed=..., device=..., progress=...) -> Trained
    seed: int = 0
    minutes: float = 0.0  # expected CPU training time, for the CLI's message

    def __repr__(self) -> str:
        return f"Recipe({self.name!r}, {self.kind}, ~{self.minutes:g} min)"


RECIPES: dict[str, Recipe] = {}


def recipe(name: str, kind: str, description: str, seed: int = 0, minutes: float = 0.0):
    """Decorator: register `fn(seed, device, progress) -> Trained` as the recipe for checkpoint `name`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")

    def register(fn: Callable[..., Trained]) -> Callable[..., Trained]:
        RECIPES[name] = Recipe(name, kind, description, fn, seed, minutes)
        return fn

    return register


def load_recipes() -> dict[str, Recipe]:
    for mod in RECIPE_MODULES:
        importlib.import_module(mod)
    return RECIPES


@dataclass
class Entry:
    """A shipped checkpoint, as its metadata file describes it."""

    name: str
    kind: str
    recipe: str
    config: dict
    metrics: dict
    sha256: str
    size_bytes: int
    created: str = ""
    torch: str = ""
    files: dict = field(default_factory=dict)  # suffix -> sha256 of NAME.<suffix> (e.g. a tokenizer)
    path: Path = field(default=Path(), repr=False)

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, {self.kind}, {self.size_bytes / 1e6:.1f} MB, sha256 {self.sha256[:12]}...)"

    def public(self) -> dict:
        """The `course models --json` record."""
        d = asdict(self)
        d.pop("path")
        return d

    def file(self, suffix: str) -> Path:
        """A verified extra file of this checkpoint (NAME.<suffix>)."""
        path = self.path.with_suffix(f".{suffix}")
        rebuild = f"Rebuild it with `course train {self.name}` (or restore it with `git checkout -- {path}`)."
        if suffix not in self.files:
            raise CourseError(f"The checkpoint {self.name!r} has no file {suffix!r}.")
        if not path.is_file():
            raise CourseError(f"{path} is missing. {rebuild}")
        if sha256_of(path) != self.files[suffix]:
            raise CourseError(f"{path} is corrupt or was changed (its sha256 differs from the registry's). {rebuild}")
        return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entries(directory: str | os.PathLike | None = None) -> list[Entry]:
    """Every checkpoint with a metadata file, sorted by name."""
    d = Path(directory or os.environ.get("COURSE_CHECKPOINTS") or CHECKPOINT_DIR)
    out = []
    for meta in sorted(d.glob("*.json")):
        try:
            m = json.loads(meta.read_text())
            out.append(Entry(**{k: m[k] for k in ("name", "kind", "recipe", "config", "metrics", "sha256", "size_bytes")},
                             created=m.get("created", ""), torch=m.get("torch", ""), files=m.get("files", {}),
                             path=meta.with_suffix(".safetensors")))
        except (ValueError, KeyError, TypeError) as e:
            raise CourseError(f"The checkpoint metadata {meta} is damaged ({type(e).__name__}: {e}). Rebuild it "
                              f"with `course train {meta.stem}`, or restore it with `git checkout -- {meta}`.") from None
    return out


def entry(name: str, directory: str | os.PathLike | None = None) -> Entry:
    found = {e.name: e for e in entries(directory)}
    if name not in found:
        known = ", ".join(found) or "none shipped yet"
        raise UsageError(f"No checkpoint named {name!r}. Shipped: {known}. `course models` lists them.")
    return found[name]


def load_state(name: str, directory: str | os.PathLike | None = None, device: str = "cpu") -> tuple[dict, Entry]:
    """The verified state dict of a shipped checkpoint, and its entry."""
    from safetensors.torch import load_file

    e = entry(name, directory)
    rebuild = f"Rebuild it with `course train {name}` (or restore it with `git checkout -- {e.path}`)."
    if not e.path.is_file():
        raise CourseError(f"The weights of {name!r} are missing ({e.path}). {rebuild}")
    digest = sha256_of(e.path)
    if digest != e.sha256:
        raise CourseError(f"The weights of {name!r} are corrupt or were changed: their sha256 is {digest[:16]}..., "
                          f"the registry expects {e.sha256[:16]}.... {rebuild}")
    try:
        return load_file(str(e.path), device=device), e
    except Exception as err:
        raise CourseError(f"The weights of {name!r} can't be read ({err}). {rebuild}") from None


def save(name: str, kind: str, recipe_name: str, trained: Trained, directory: str | os.PathLike | None = None) -> Entry:
    """Write NAME.safetensors and NAME.json (the metadata last, so a half-written checkpoint is never listed)."""
    import torch
    from safetensors.torch import save_file

    d = Path(directory or os.environ.get("COURSE_CHECKPOINTS") or CHECKPOINT_DIR)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.safetensors"
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in trained.state_dict.items()}
    save_file(tensors, str(path))  # no metadata: safetensors orders it by hash, which would change the sha256
    files = {}
    for suffix, data in trained.files.items():
        extra = d / f"{name}.{suffix}"
        extra.write_bytes(data)
        files[suffix] = sha256_of(extra)
    e = Entry(name, kind, recipe_name, trained.config, trained.metrics, sha256_of(path), path.stat().st_size,
              time.strftime("%Y-%m-%d"), torch.__version__.split("+")[0], files, path)
    tmp = d / f".{name}.json.tmp"
    tmp.write_text(json.dumps(e.public(), indent=1, sort_keys=True) + "\n")
    os.replace(tmp, d / f"{name}.json")
    return e


def train(name: str, directory: str | os.PathLike | None = None, seed: int | None = None, device: str | None = None,
          progress: bool = True) -> Entry:
    """Run the recipe for `name` and save what it makes."""
    from course.device import get_device, seed_everything

    recipes = load_recipes()
    if name not in recipes:
        known = ", ".join(sorted(recipes)) or "none yet (recipes arrive with the lessons that need them)"
        raise UsageError(f"No recipe named {name!r}. Known recipes: {known}.")
    r = recipes[name]
    seed = r.seed if seed is None else seed
    seed_everything(seed)
    trained = r.build(seed=seed, device=get_device(device), progress=progress)
    trained.metrics = {**trained.metrics, "seed": seed}
    return save(name, r.kind, r.name, trained, directory)


# the figures a table shows first, when a checkpoint has them (the rest follow in their stored order)
HEADLINE = ("cell_accuracy", "class_accuracy", "curve_detectors", "curve_widest_gap", "val_loss", "train_loss",
            "fvu", "l0", "dead_fraction", "ce_loss_recovered", "explained_fraction", "neuron_explained_fraction")


def describe(metrics: dict[str, Any], limit: int = 4) -> str:
    """A short `key=value` summary of a checkpoint's metrics for tables."""
    rank = {k: i for i, k in enumerate(HEADLINE)}
    items = sorted(((k, v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)),
                   key=lambda kv: rank.get(kv[0], len(rank)))[:limit]
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items)
