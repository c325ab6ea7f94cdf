"""Text to train on that every learner already has: the Python standard library's own source files.

`stdlib_files()` lists the .py files of the standard library of the Python running the course, in a fixed
order (sorted relative paths). A file belongs to the held-out split when a hash of its relative path falls in
the last `val_percent` percent, so the split never depends on which other files exist. The text differs a
little between Python versions; the shipped model was trained on the one named in its metadata.

For users who are online, `hf_dataset_texts` reads a Hugging Face data set (e.g. "roneneldan/TinyStories")
when the optional `datasets` package is installed; `local_texts` reads the same kind of files (.txt, .jsonl
with a "text" field) from a folder, which is also how that path is tested offline.
"""

from __future__ import annotations

import hashlib
import json
import sysconfig
from pathlib import Path
from typing import Iterator

from course.errors import CourseError

SKIP_PARTS = {"site-packages", "dist-packages", "__pycache__", "lib2to3", "idlelib", "turtledemo"}


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None) -> list[Path]:
    """The standard library's .py files, sorted by relative path (deterministic on a given Python)."""
    root = root or stdlib_root()
    files = [p for p in root.rglob("*.py") if not SKIP_PARTS.intersection(p.relative_to(root).parts)]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def in_val(relative: str, val_percent: float) -> bool:
    h = int(hashlib.sha256(relative.encode()).hexdigest()[:8], 16) % 10_000
    return h < val_percent * 100


def split_files(split: str = "train", val_percent: float = 5.0, root: Path | None = None) -> list[Path]:
    """Files of one split: "train", "val" or "all"."""
    if split not in ("train", "val", "all"):
        raise ValueError("split must be train, val or all")
    root = root or stdlib_root()
    files = stdlib_files(root)
    if split == "all":
        return files
    want_val = split == "val"
    return [p for p in files if in_val(p.relative_to(root).as_posix(), val_percent) == want_val]


def read_texts(files: list[Path]) -> Iterator[str]:
    for p in files:
        try:
            yield p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # a handful of test files are deliberately not UTF-8


def local_texts(folder: str | Path, field: str = "text") -> Iterator[str]:
    """Texts from .txt files (one document each) and .jsonl files (one `field` per line) in a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CourseError(f"{folder} is not a folder of .txt or .jsonl files.")
    for p in sorted(folder.rglob("*")):
        if p.suffix == ".txt":
            yield p.read_text(encoding="utf-8")
        elif p.suffix == ".jsonl":
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    yield json.loads(line)[field]


def hf_dataset_texts(name: str = "roneneldan/TinyStories", split: str = "train", field: str = "text",
                     limit: int | None = None, **load_kwargs) -> Iterator[str]:
    """Texts from a Hugging Face data set (needs the optional `datasets` package and a connection or a cache).
    `load_kwargs` go to `datasets.load_dataset`: `hf_dataset_texts("json", data_files="stories.jsonl")` reads
    local files through the same path."""
    try:
        import datasets
    except ImportError:
        raise CourseError("Reading Hugging Face data sets needs the `datasets` package (pip install datasets) and "
                          "a connection or a local cache. Offline, put .txt/.jsonl files in a folder and use "
                          "local_texts(folder).") from None
    ds = datasets.load_dataset(name, split=split, streaming=True, **load_kwargs)
    for i, row in enumerate(ds):
        if limit is not None and i >= limit:
            break
        yield row[field]
