"""Grids of feature visualisations: the figure, the PNG, and `course featurevis MODEL LAYER [UNITS] --out grid.png`.

    images = render(model, "conv4", range(128))
    fig = grid_figure(images, [f"conv4:{u}" for u in range(128)])     # labelled, legible at 1,400 px wide
    save_grid(images, labels, "grid.png")

`parse_units("0-3,17,93", width=128)` reads the CLI's UNITS; `command(...)` is the CLI command itself (tqdm on
stderr while it renders, then the PNG). Written for this course.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Sequence

import torch

from course.errors import UsageError


def parse_units(spec: str | None, width: int) -> list[int]:
    """"all" (or None) -> every unit; "3,5,10-12" -> [3, 5, 10, 11, 12]. Raises UsageError for bad specs."""
    if spec is None or spec.strip().lower() == "all":
        return list(range(width))
    units: list[int] = []
    try:
        for part in spec.replace(" ", "").split(","):
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            units += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    except ValueError:
        raise UsageError(f"Can't read the units {spec!r}: give numbers and ranges like 3,5,10-12 (or all).") from None
    bad = [u for u in units if not 0 <= u < width]
    if bad or not units:
        raise UsageError(f"The layer has {width} units, numbered 0 to {width - 1}; "
                         f"{'no units were given' if not units else f'{bad[:5]} out of range'}.")
    return units


def grid_figure(images: torch.Tensor, labels: Sequence[str], ncols: int | None = None, cell: float = 1.35,
                title: str | None = None):
    """A matplotlib figure: images (N, 3, H, W) in [0, 1] in a grid, each titled by its label (10 pt)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = ncols or max(1, min(16, math.ceil(math.sqrt(n * 2))))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, (cell + 0.25) * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
            ax.set_title(labels[i], fontsize=10, pad=2)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout(pad=0.3)
    return fig


def save_grid(images: torch.Tensor, labels: Sequence[str], path: str | Path, title: str | None = None) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = grid_figure(images, labels, title=title)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def command(model_name: str, layer: str, units: str | None, out: str = "grid.png", steps: int = 256,
            size: int | None = None, seed: int = 0, batch: int | None = None, param: str = "fft",
            decorrelate: bool = True, transforms: str = "standard", diversity: float = 0.0,
            negative: bool = False) -> str:
    """`course featurevis`: render the units and write the labelled grid. Returns what to print."""
    import time
    import warnings

    from tqdm import tqdm

    from course import zoo
    from course.vision.featurevis import layer_names, layer_width, render

    model = zoo.load(model_name)
    if layer not in dict(model.named_modules()) or not layer:
        raise UsageError(f"{model_name} has no layer {layer!r}. Its layers: {', '.join(layer_names(model))}.")
    chosen = parse_units(units, layer_width(model, layer))
    size = size or (64 if tuple(getattr(model, "census_size", (64, 64)))[0] <= 64 else 128)
    bar = tqdm(total=1000, desc=f"{model_name} {layer}: {len(chosen)} unit{'s' * (len(chosen) != 1)}",
               bar_format="{l_bar}{bar}| {elapsed}<{remaining}", file=sys.stderr, leave=False,
               disable=not sys.stderr.isatty() and not __import__("os").environ.get("COURSE_PROGRESS"))
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            images = render(model, layer, chosen, steps=steps, size=size, seed=seed, batch=batch, param=param,
                            decorrelate=decorrelate, transforms=transforms, diversity=diversity, negative=negative,
                            progress=lambda f, text=None: bar.update(round(f * 1000) - bar.n))
        finally:
            bar.close()
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    what = "negative " if negative else ""
    path = save_grid(images, [f"{layer}:{u}" for u in chosen], out,
                     title=f"{model_name} {layer}: {what}feature visualisations ({steps} steps, {size} px, "
                           f"seed {seed})")
    lines = [f"course: {note}" for note in notes]
    plural = "s" * (len(chosen) != 1)
    lines.append(f"Wrote {path} ({len(chosen)} unit{plural} of {model_name} {layer}, {size} px, {steps} steps, "
                 f"{time.perf_counter() - t0:.1f} s).")
    return "\n".join(lines)
