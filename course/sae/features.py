"""Everything a feature browser needs, computed once in one census pass and kept sparse (the app's store).

A latent's dashboard must appear in well under 2 seconds, but the activations behind it (every latent on every
held-out token) are 2 GB dense. They are almost all zero, though: a TopK SAE has 24 active latents per token,
and a neuron "fires" (as the census binarises it) on about 1% of tokens. So the census (`course.sae.census.
measure`) streams its chunks into a `Sparse` store, one list of (position, activation) entries per unit, and a
dashboard reads one unit's list: a few thousand entries.

    data = build("pylm-sae", progress=cb)          # census + sparse activations (or `cached("pylm-sae")`)
    data.record["fvu"], data.by_property("string")   # census figures; the latents a property explains, best first
    acts = data.latent_acts(338)                    # (n_windows, n_ctx) dense, for course.sae.dashboard
    acts = data.neuron_acts(17)                     # the neuron above its census threshold (0 elsewhere)

`cached(name)` keeps the store on disk (in $COURSE_CACHE, default ~/.cache/course), keyed by the sha256 of the
SAE and the LM, the Python version (the held-out split is this Python's standard library) and FORMAT, so
it is built once per machine: about a minute on a laptop, then a second to load.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from course import registry
from course.lm.labels import PROPERTIES

FORMAT = 1  # bump when what is stored changes


@dataclass
class Sparse:
    """Per unit, its non-zero activations: unit i's entries are rows[offsets[i]:offsets[i+1]] (flat positions
    among the evaluated ones) and values[...] (the activations)."""

    rows: Tensor  # (nnz,) int32
    values: Tensor  # (nnz,) float32
    offsets: Tensor  # (n_units + 1,) int64

    def __repr__(self) -> str:
        return f"Sparse({len(self.offsets) - 1} units, {len(self.rows):,} entries)"

    @classmethod
    def from_triples(cls, rows: Tensor, units: Tensor, values: Tensor, n_units: int) -> "Sparse":
        order = torch.argsort(units.long() * (int(rows.max()) + 1 if len(rows) else 1) + rows.long())
        counts = torch.bincount(units.long(), minlength=n_units)
        offsets = torch.zeros(n_units + 1, dtype=torch.long)
        offsets[1:] = counts.cumsum(0)
        return cls(rows[order].int(), values[order].float(), offsets)

    def unit(self, i: int) -> tuple[Tensor, Tensor]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.rows[a:b].long(), self.values[a:b]


class _Collector:
    """The census's sink: keeps each chunk's non-zero latents and firing neurons as (row, unit, value)."""

    def __init__(self):
        self.lat: list[tuple[Tensor, Tensor, Tensor]] = []
        self.neu: list[tuple[Tensor, Tensor, Tensor]] = []
        self.threshold: Tensor | None = None

    def latents(self, row: int, acts: Tensor) -> None:
        r, u = acts.nonzero(as_tuple=True)
        self.lat.append(((r + row).int(), u.short() if acts.shape[1] < 32768 else u.int(), acts[r, u]))

    def neurons(self, row: int, h: Tensor, threshold: Tensor) -> None:
        self.threshold = threshold
        r, u = (h > threshold).nonzero(as_tuple=True)
        self.neu.append(((r + row).int(), u.short(), h[r, u]))

    def sparse(self, which: str, n_units: int) -> Sparse:
        parts = self.lat if which == "latents" else self.neu
        rows, units, values = (torch.cat([p[i] for p in parts]) for i in range(3))
        return Sparse.from_triples(rows, units, values, n_units)


@dataclass
class FeatureData:
    name: str  # the SAE
    hook: str
    tokens: Tensor  # (n_windows, n_ctx) the held-out windows
    labels: Tensor  # (n_windows, n_ctx, len(PROPERTIES)) bool: the ground-truth properties (not token identity)
    skip_first: int  # positions at the start of each window the census leaves out
    latents: Sparse
    neurons: Sparse
    neuron_threshold: Tensor  # (d_mlp,) where the census binarises each neuron
    record: dict  # the census record (course.sae.census.measure)

    def __repr__(self) -> str:
        return (f"FeatureData({self.name}: {tuple(self.tokens.shape)} windows, {self.latents!r} latents, "
                f"{self.neurons!r} neuron firings)")

    @property
    def n_latents(self) -> int:
        return len(self.latents.offsets) - 1

    @property
    def n_neurons(self) -> int:
        return len(self.neurons.offsets) - 1

    def _dense(self, store: Sparse, i: int) -> Tensor:
        n, n_ctx = self.tokens.shape
        kept = torch.zeros(n * (n_ctx - self.skip_first))
        rows, values = store.unit(i)
        kept[rows] = values
        return torch.cat([torch.zeros(n, self.skip_first), kept.view(n, -1)], dim=1)

    def latent_acts(self, i: int) -> Tensor:
        """(n_windows, n_ctx) activations of latent i (0 where it doesn't fire, and at the skipped positions)."""
        return self._dense(self.latents, i)

    def neuron_acts(self, j: int) -> Tensor:
        """(n_windows, n_ctx) activations of neuron j where they exceed its census threshold, else 0."""
        return self._dense(self.neurons, j)

    def density(self, i: int, neuron: bool = False) -> float:
        store = self.neurons if neuron else self.latents
        return (int(store.offsets[i + 1]) - int(store.offsets[i])) / self.record["eval_tokens"]

    def latent_entry(self, i: int) -> dict | None:
        """The census's line for latent i (best property, precision, recall, F1, fires), None if it is dead."""
        return self._by_latent().get(i)

    def neuron_entry(self, j: int) -> dict:
        return self.record["neurons"][j]

    def _by_latent(self) -> dict[int, dict]:
        if not hasattr(self, "_index"):
            self._index = {e["latent"]: e for e in self.record["latents"]}
        return self._index

    def properties(self) -> list[str]:
        """Properties that best explain at least one latent, the ground-truth ones first."""
        names = {e["property"] for e in self.record["latents"] if e["explained"]}
        return sorted(names, key=lambda p: (p.startswith("token:"), p))

    def by_property(self, prop: str, explained_only: bool = True) -> list[dict]:
        """The latents whose best property is `prop`, highest F1 first."""
        rows = [e for e in self.record["latents"] if e["property"] == prop and (e["explained"] or not explained_only)]
        return sorted(rows, key=lambda e: -e["f1"])

    # ---------------------------------------------------------------------------------------------- storage

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"tokens": self.tokens.int().contiguous(), "labels": self.labels.to(torch.uint8).contiguous(),
                   "neuron_threshold": self.neuron_threshold.contiguous()}
        for which in ("latents", "neurons"):
            s = getattr(self, which)
            tensors.update({f"{which}.rows": s.rows, f"{which}.values": s.values, f"{which}.offsets": s.offsets})
        tmp = path.with_suffix(".tmp")
        save_file(tensors, str(tmp))
        os.replace(tmp, path)
        meta = {"name": self.name, "hook": self.hook, "skip_first": self.skip_first, "record": self.record}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, path.with_suffix(".json"))

    @classmethod
    def load(cls, path: Path) -> "FeatureData":
        from safetensors.torch import load_file

        t = load_file(str(path))
        meta = json.loads(path.with_suffix(".json").read_text())
        sparse = {w: Sparse(t[f"{w}.rows"], t[f"{w}.values"], t[f"{w}.offsets"]) for w in ("latents", "neurons")}
        return cls(meta["name"], meta["hook"], t["tokens"].long(), t["labels"].bool(), meta["skip_first"],
                   sparse["latents"], sparse["neurons"], t["neuron_threshold"], meta["record"])


def measure_features(sae, model, tokens: Tensor, labels: Tensor, names: list[str], hook: str, name: str = "",
                     batch_size: int = 32) -> FeatureData:
    """The census of `sae` on labelled windows, keeping every latent's and neuron's firings (see the module)."""
    from course.sae.census import measure

    sink = _Collector()
    record = measure(sae, model, tokens, labels, names, hook, batch_size=batch_size, sink=sink)
    return FeatureData(name, hook, tokens, labels[..., :len(PROPERTIES)].clone(), 1,
                       sink.sparse("latents", sae.cfg.d_sae), sink.sparse("neurons", len(sink.threshold)),
                       sink.threshold, record)


def build(name: str = "pylm-sae", max_windows: int = 2048, progress=None) -> FeatureData:
    """The store for a shipped SAE on its LM's held-out windows (the census's own windows and labels)."""
    from course.lm.train import load as load_lm
    from course.sae.census import eval_tokens
    from course.sae.shipped import load

    sae, entry = load(name)
    model, tok = load_lm(entry.config["lm"])
    if progress:
        progress(0.02, "labelling held-out files with Python's tokenize and ast")
    tokens, labels, names = eval_tokens(tok, model.cfg.n_ctx, max_windows=max_windows)
    if progress:
        progress(0.3, "running the census: the LM, the SAE and every latent's firings")
    data = measure_features(sae, model, tokens, labels, names, entry.config["hook"], name)
    if progress:
        progress(1.0, "done")
    return data


def cache_path(name: str, max_windows: int = 2048) -> Path:
    sae, lm = registry.entry(name), registry.entry(registry.entry(name).config["lm"])
    py = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    root = Path(os.environ.get("COURSE_CACHE") or Path.home() / ".cache" / "course")
    return root / f"features-{name}-{sae.sha256[:12]}-{lm.sha256[:12]}-py{py}-w{max_windows}-v{FORMAT}.safetensors"


def cached(name: str = "pylm-sae", max_windows: int = 2048, progress=None) -> FeatureData:
    """`build`, kept on disk (see the module docstring): built on the first call on a machine, loaded after."""
    path = cache_path(name, max_windows)
    if path.is_file() and path.with_suffix(".json").is_file():
        try:
            return FeatureData.load(path)
        except Exception:  # a half-written or foreign file: build it again
            pass
    data = build(name, max_windows, progress)
    try:
        data.save(path)
    except OSError:
        pass  # a read-only home: the app still works, it just builds the store again next time
    return data
