"""Figures for lesson 00 (three lenses), sized to be read on a 1,400 px screen (fonts >= 11 pt, colour bars).

    attribution_row(image, maps, cell)        the image and the four attribution maps side by side
    ig_error_plot(steps, errors)              IG's completeness error against the number of steps
    cascade_row(maps, steps, rho, cell)       the sanity check's maps, one per randomisation step
    cascade_lines(figures)                    the lesson's mean rank correlations by step
    probe_chart(rows)                         probe accuracy (task, control) and selectivity by layer
    prediction_grids(image, labels, clean, ablated)   per-cell predictions before and after an ablation
    recall_chart(study, extra)                per-class recall: intact, ablated, random controls

Each returns a matplotlib Figure; nothing is shown or saved here.
"""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")  # never open windows: figures go to Streamlit or files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from course.vision.scenes import CLASSES  # noqa: E402

STYLE = {"font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11}
CLASS_COLOURS = ["#9e9e9e", "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"]
SIGNED = {"gradient x input", "integrated gradients", "occlusion"}


def _styled(fn):
    """Draw with the module's font sizes, leaving matplotlib's global settings alone."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper


def _image(ax, image, cell=None, stride: int = 8, title: str = "") -> None:
    ax.imshow(np.asarray(image).transpose(1, 2, 0).clip(0, 1))
    if cell is not None:
        r, c = cell
        ax.add_patch(Rectangle((c * stride - 0.5, r * stride - 0.5), stride, stride, fill=False, lw=2.5,
                               ec="yellow"))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def _heat(fig, ax, m, signed: bool, title: str, cell=None) -> None:
    m = np.asarray(m)
    if signed:
        lim = float(np.abs(m).max()) or 1.0
        im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
    else:
        im = ax.imshow(m, cmap="magma", vmin=0)
    if cell is not None:
        r, c = cell
        ax.add_patch(Rectangle((c * 8 - 0.5, r * 8 - 0.5), 8, 8, fill=False, lw=1.5, ec="lime"))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.ax.tick_params(labelsize=10)


@_styled
def attribution_row(image, maps: dict, cell, title: str = ""):
    """The image (the explained cell boxed) and each map (N = 1; maps[name]: (H, W), channels summed)."""
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(17, 3.8))
    _image(axes[0], image, cell, title="the image")
    for ax, (name, m) in zip(axes[1:], maps.items()):
        _heat(fig, ax, m, name in SIGNED, name, cell)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    return fig


@_styled
def ig_error_plot(steps: list[int], errors: dict):
    """|completeness error| against steps, one line per rule (log-log)."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for rule, values in errors.items():
        ax.plot(steps, [max(v, 1e-6) for v in values], "o-", label=rule)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("integration steps")
    ax.set_ylabel("|completeness error|")
    ax.set_title("IG: sum of attributions - (f(x) - f(baseline))")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@_styled
def cascade_row(maps, steps: list[str], rho, cell, signed: bool):
    """One map per cascade step; the title gives the rank correlation with the trained model's map."""
    fig, axes = plt.subplots(1, len(steps), figsize=(17, 3.3))
    for k, (ax, name) in enumerate(zip(axes, steps)):
        m = np.asarray(maps[k])
        label = "trained" if k == 0 else f"random to {name}"
        _heat(fig, ax, m if signed else np.abs(m), signed, f"{label}\nrho = {float(rho[k]):.2f}", cell)
    fig.tight_layout()
    return fig


@_styled
def cascade_lines(figures: dict):
    """Mean rank correlation with the trained model's map after each step, |maps| solid, signed dashed."""
    fig, ax = plt.subplots(figsize=(11, 4.2))
    steps = figures["steps"]
    for i, name in enumerate(figures["abs"]):
        colour = f"C{i}"
        ax.plot(steps, figures["abs"][name], "o-", color=colour, label=f"|{name}|")
        ax.plot(steps, figures["signed"][name], "s--", color=colour, label=f"{name} (signed)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("Spearman rho with the trained map")
    ax.set_xlabel("randomised from the top down to")
    ax.set_ylim(-0.2, 1.05)
    ax.legend(ncol=2, fontsize=11)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@_styled
def probe_chart(rows: list[dict]):
    """Left: held-out accuracy by layer (task solid, control dashed) for each probe; right: selectivity."""
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    kinds = list(dict.fromkeys(r["probe"] for r in rows))
    get = {(r["probe"], r["layer"]): r for r in rows}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(15, 4.6))
    x = np.arange(len(layers))
    for i, kind in enumerate(kinds):
        a1.plot(x, [get[kind, name]["task"] for name in layers], "o-", color=f"C{i}", label=f"{kind}: task")
        a1.plot(x, [get[kind, name]["control"] for name in layers], "s--", color=f"C{i}", label=f"{kind}: control")
        a2.bar(x + (i - 0.5) * 0.38, [get[kind, name]["selectivity"] for name in layers], 0.38, color=f"C{i}",
               label=kind)
    for ax in (a1, a2):
        ax.set_xticks(x, layers)
        ax.grid(alpha=0.3)
    a1.axhline(0.5, color="black", lw=0.8, ls=":")
    a1.set_ylabel("held-out accuracy")
    a1.set_title("is the shape round? (task) vs random colour labels (control)")
    a1.legend(fontsize=11)
    a2.axhline(0, color="black", lw=0.8)
    a2.set_ylabel("task - control")
    a2.set_title("selectivity")
    a2.legend(fontsize=11)
    fig.tight_layout()
    return fig


def _grid(ax, image, classes, title, changed=None) -> None:
    """The image with each cell tinted in its class's colour (cells that changed outlined in yellow)."""
    from matplotlib.colors import ListedColormap

    _image(ax, image, title=title)
    rows, cols = classes.shape
    ax.imshow(classes, cmap=ListedColormap(CLASS_COLOURS), vmin=0, vmax=len(CLASS_COLOURS) - 1, alpha=0.55,
              extent=(-0.5, cols * 8 - 0.5, rows * 8 - 0.5, -0.5), interpolation="nearest")
    if changed is not None:
        for r, c in zip(*np.nonzero(changed)):
            ax.add_patch(Rectangle((c * 8 - 0.5, r * 8 - 0.5), 8, 8, fill=False, lw=2.5, ec="yellow"))


@_styled
def prediction_grids(image, labels, clean, ablated=None, ablation: str = ""):
    """The true label of every cell, the model's predictions, and (if given) its predictions under an ablation
    with the cells that changed outlined in yellow. Cells are tinted by class (legend below)."""
    from matplotlib.patches import Patch

    panels = 3 if ablated is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 5.6))
    _grid(axes[0], image, np.asarray(labels), "true labels")
    _grid(axes[1], image, np.asarray(clean), "predictions, intact")
    if ablated is not None:
        changed = np.asarray(ablated) != np.asarray(clean)
        _grid(axes[2], image, np.asarray(ablated), f"predictions, {ablation}\n({int(changed.sum())} cells changed)",
              changed)
    fig.legend(handles=[Patch(color=c, label=n) for c, n in zip(CLASS_COLOURS, CLASSES)], loc="lower center",
               ncol=len(CLASSES), fontsize=12, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


@_styled
def recall_chart(clean, ablated, controls, extra: dict | None = None):
    """Per-class recall: intact, curve family zeroed, random same-size sets (mean, lowest to highest), and
    any `extra` {label: recall (classes,)}."""
    clean, ablated, controls = np.asarray(clean), np.asarray(ablated), np.asarray(controls)
    bars = {"intact": clean, "curve family zeroed": ablated, "random sets (mean; range)": controls.mean(0)}
    bars.update({k: np.asarray(v) for k, v in (extra or {}).items()})
    fig, ax = plt.subplots(figsize=(13, 4.6))
    x = np.arange(len(CLASSES))
    w = 0.8 / len(bars)
    for i, (label, values) in enumerate(bars.items()):
        pos = x + (i - (len(bars) - 1) / 2) * w
        ax.bar(pos, values, w, label=label, color=f"C{i}")
        if label.startswith("random"):
            ax.vlines(pos, controls.min(0), controls.max(0), color="black", lw=2)
    ax.set_xticks(x, CLASSES)
    lowest = min([float(v.min()) for v in bars.values()] + [float(controls.min()) if controls.size else 1.0])
    ax.set_ylim(max(0.0, min(0.5, lowest - 0.05)), 1.0)
    ax.set_ylabel("recall on held-out cells")
    ax.legend(fontsize=11, ncol=len(bars), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
