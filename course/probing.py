"""Probing: what information a layer holds, read out by a small classifier trained on its activations.

A probe is a linear (or small MLP) classifier from a layer's activation at a position to a property of the
input there. High held-out accuracy says the information is *decodable* from the layer; it does not say the
model uses it (only an intervention can: `course.vision.circuits`). And a probe that is too powerful can
learn the task itself. Hewitt & Liang's control task ("Designing and Interpreting Probes with Control Tasks",
EMNLP 2019) measures that: give each *type* (for words, the word; here a cell's quantised colour) a fixed
random label drawn from the task's label distribution, train the same probe on these labels, and report

    selectivity = task accuracy - control accuracy

A selective probe does well on the task but can't memorise the random labels.

For `scenenet` a position is an 8 x 8 cell (what the scenes label): `cell_features` pools a layer's map onto
the label grid, one row per cell. Activations come from `course.vision.probe.activations` (hooks removed
after). Probes are trained full-batch with Adam on standardised features; train and test cells come from
different scenes (`split`), so a probe cannot pass by having seen the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course.errors import UsageError
from course.vision.probe import activations

PIXELS = "pixels"  # the pseudo-layer of raw input pixels


def cell_features(model: nn.Module, images: Tensor, layers: list[str], cells: tuple[int, int] | None = None,
                  batch: int = 256) -> dict[str, Tensor]:
    """{layer: (N * rows * cols, C)}: each layer's activation average-pooled onto the label grid (default:
    the model's output grid), one row per cell in (image, row, col) order, as `labels.flatten()`. The layer
    name "pixels" gives each cell's raw pixels (3 * cell height * cell width values): a probe on the input."""
    if cells is None:
        with torch.no_grad():
            cells = tuple(model(images[:1]).shape[-2:])
    acts = activations(model, images, [name for name in layers if name != PIXELS], batch)
    out = {}
    if PIXELS in layers:
        h, w = images.shape[-2] // cells[0], images.shape[-1] // cells[1]
        patches = F.unfold(images, (h, w), stride=(h, w))  # (N, 3 * h * w, rows * cols)
        out[PIXELS] = patches.transpose(1, 2).reshape(-1, patches.shape[1])
    for name, a in acts.items():  # (N, C, h, w)
        if a.shape[-2] % cells[0] or a.shape[-1] % cells[1]:
            raise UsageError(f"{name}'s map {tuple(a.shape[-2:])} does not divide into {cells} cells")
        pooled = F.adaptive_avg_pool2d(a, cells)  # (N, C, rows, cols)
        out[name] = pooled.permute(0, 2, 3, 1).reshape(-1, a.shape[1])
    return {name: out[name] for name in layers}


def colour_types(images: Tensor, cell: int = 8, bins: int = 4) -> Tensor:
    """(N * rows * cols,) long: each cell's mean colour, quantised to `bins` levels per channel (bins^3
    types). The control task's "word type": a surface property every layer can keep and a probe memorise."""
    mean = F.avg_pool2d(images, cell)  # (N, 3, rows, cols)
    level = (mean.clamp(0, 1) * bins).long().clamp_max(bins - 1)
    code = (level[:, 0] * bins + level[:, 1]) * bins + level[:, 2]
    return code.flatten()


def control_labels(types: Tensor, labels: Tensor, n_types: int | None = None,
                   generator: torch.Generator | None = None) -> Tensor:
    """Hewitt & Liang's control task: every type gets one label, drawn from the empirical distribution of
    `labels`; each example gets its type's label. types, labels: (M,) long -> (M,) long."""
    n_types = int(types.max()) + 1 if n_types is None else n_types
    counts = torch.bincount(labels, minlength=int(labels.max()) + 1).double()
    table = torch.multinomial(counts / counts.sum(), n_types, replacement=True, generator=generator)
    return table[types]


def split(n_images: int, cells_per_image: int, test_fraction: float = 0.25,
          generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Indices of train and test cells, split by image (all of an image's cells on one side)."""
    order = torch.randperm(n_images, generator=generator)
    n_test = max(1, round(n_images * test_fraction))
    expand = lambda imgs: (imgs[:, None] * cells_per_image + torch.arange(cells_per_image)).flatten()  # noqa: E731
    return expand(order[n_test:].sort().values), expand(order[:n_test].sort().values)


class LinearProbe(nn.Module):
    """A linear classifier on a layer's activations: (M, d) -> (M, classes) logits."""

    def __init__(self, d: int, classes: int = 2):
        super().__init__()
        self.linear = nn.Linear(d, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x)

    def __repr__(self) -> str:
        return f"LinearProbe({self.linear.in_features} -> {self.linear.out_features})"


class MLPProbe(nn.Module):
    """One hidden ReLU layer: more capacity, so more able to memorise (less selective, Hewitt & Liang)."""

    def __init__(self, d: int, classes: int = 2, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def __repr__(self) -> str:
        return f"MLPProbe({self.net[0].in_features} -> {self.net[0].out_features} -> {self.net[2].out_features})"


@dataclass(frozen=True)
class ProbeConfig:
    kind: str = "linear"  # "linear" or "mlp"
    hidden: int = 64  # the MLP's hidden units
    steps: int = 300  # full-batch Adam steps
    lr: float = 1e-2
    weight_decay: float = 0.0
    seed: int = 0  # the probe's initialisation


def make_probe(d: int, classes: int, cfg: ProbeConfig) -> nn.Module:
    if cfg.kind not in ("linear", "mlp"):
        raise UsageError(f"a probe is 'linear' or 'mlp', not {cfg.kind!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return LinearProbe(d, classes) if cfg.kind == "linear" else MLPProbe(d, classes, cfg.hidden)


def standardise(train: Tensor, *others: Tensor) -> list[Tensor]:
    """Centre and scale every feature by the training set's mean and standard deviation."""
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    return [(t - mean) / std for t in (train, *others)]


def train_probe(probe: nn.Module, x: Tensor, y: Tensor, steps: int = 300, lr: float = 1e-2,
                weight_decay: float = 0.0) -> nn.Module:
    """Full-batch Adam on the cross-entropy; returns the probe (trained in place)."""
    opt = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        loss = F.cross_entropy(probe(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return probe


def accuracy(probe: nn.Module, x: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return float((probe(x).argmax(1) == y).float().mean())


@dataclass
class ProbeResult:
    """One probe on one layer: accuracies on the task and on the control task, and the selectivity."""

    layer: str
    kind: str
    task: float  # held-out accuracy on the task labels
    control: float  # held-out accuracy on the control labels
    train_task: float  # training accuracy (how much it fits)
    majority: float  # accuracy of always guessing the commonest training label (the floor)

    @property
    def selectivity(self) -> float:
        return self.task - self.control

    def __repr__(self) -> str:
        return (f"ProbeResult({self.layer} {self.kind}: task {self.task:.3f}, control {self.control:.3f}, "
                f"selectivity {self.selectivity:.3f})")


def probe_layer(features: Tensor, labels: Tensor, control: Tensor, train: Tensor, test: Tensor,
                cfg: ProbeConfig = ProbeConfig(), layer: str = "") -> ProbeResult:
    """Train `cfg`'s probe on the task and, separately, on the control labels; held-out accuracies."""
    x_train, x_test = standardise(features[train].float(), features[test].float())
    classes = int(max(labels.max(), control.max())) + 1
    out = {}
    for name, y in (("task", labels), ("control", control)):
        probe = make_probe(features.shape[1], classes, cfg)
        train_probe(probe, x_train, y[train], cfg.steps, cfg.lr, cfg.weight_decay)
        out[name] = accuracy(probe, x_test, y[test])
        if name == "task":
            out["train_task"] = accuracy(probe, x_train, y[train])
    majority = float((labels[test] == torch.bincount(labels[train]).argmax()).float().mean())
    return ProbeResult(layer, cfg.kind, out["task"], out["control"], out["train_task"], majority)


@dataclass
class ProbeReport:
    """Probes of every layer, each kind: `results[kind][layer]`."""

    results: dict[str, dict[str, ProbeResult]] = field(default_factory=dict)
    cells: int = 0  # cells probed (train and test)
    positive: float = 0.0  # share of them with task label 1

    def table(self) -> list[dict]:
        return [{"layer": r.layer, "probe": r.kind, "task": round(r.task, 4), "control": round(r.control, 4),
                 "selectivity": round(r.selectivity, 4), "train": round(r.train_task, 4)}
                for by_layer in self.results.values() for r in by_layer.values()]

    def __repr__(self) -> str:
        return "ProbeReport(\n" + "\n".join(f"  {r!r}" for d in self.results.values() for r in d.values()) + "\n)"


def round_task(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Scene labels (N, rows, cols) -> (is round (M,) long, keep (N * rows * cols,) bool): among the cells a
    shape covers, is it a disc or an ellipse (1) rather than a triangle or a square (0)? About half are."""
    flat = labels.flatten()
    keep = flat > 0
    return ((flat[keep] == 1) | (flat[keep] == 2)).long(), keep


def probe_layers(model: nn.Module, images: Tensor, labels: Tensor, types: Tensor, layers: list[str],
                 keep: Tensor | None = None, kinds: tuple[str, ...] = ("linear", "mlp"),
                 test_fraction: float = 0.25, seed: int = 0, cfg: ProbeConfig = ProbeConfig(),
                 progress=None) -> ProbeReport:
    """Probe every layer with every kind of probe for `labels` and its control task on `types` (drawn once
    from `seed`, shared by all layers and kinds, as Hewitt & Liang). Cells in image order; `keep` (one bool
    per cell of every image) selects the cells that `labels` and `types` describe (default: all)."""
    g = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    feats = cell_features(model, images, layers)
    cells = next(iter(feats.values())).shape[0] // n
    keep = torch.ones(n * cells, dtype=torch.bool) if keep is None else keep
    train_all, test_all = split(n, cells, test_fraction, g)
    position = torch.full((n * cells,), -1, dtype=torch.long)
    position[keep] = torch.arange(int(keep.sum()))
    train, test = position[train_all], position[test_all]
    train, test = train[train >= 0], test[test >= 0]
    control = control_labels(types, labels, generator=g)
    feats = {k: v[keep] for k, v in feats.items()}
    report = ProbeReport(cells=len(labels), positive=float((labels == 1).float().mean()))
    total, done = len(kinds) * len(layers), 0
    for kind in kinds:
        report.results[kind] = {}
        for layer in layers:
            c = ProbeConfig(kind, cfg.hidden, cfg.steps, cfg.lr, cfg.weight_decay, cfg.seed)
            report.results[kind][layer] = probe_layer(feats[layer], labels, control, train, test, c, layer)
            done += 1
            if progress:
                progress(done / total, f"{kind} probe on {layer}")
    return report
