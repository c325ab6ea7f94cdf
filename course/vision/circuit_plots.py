"""Figures for lesson 04's circuit workbench (each returns a matplotlib Figure sized to be legible at 1,400 px).

    input_kernels(kernels, labels, title)              a unit's strongest input kernels, one shared colour scale
    pixel_weights(kernel, orientation, title)          expanded weights on the pixels (summed over RGB), with an
                                                       arrow for the unit's orientation (y down)
    tuning_and_recall(angles, curves, recalls, ...)    tuning curves beside per-class recall bars
    built_unit(angles, learned, built, kernel, ...)    a hand-built unit's tuning against the learned one, and its
                                                       kernel over the line detectors (rows) and taps (columns)
    equivariance(W, fitted, f, rows, cols, period)     the family-to-family weights ordered by orientation, the best
                                                       equivariant fit, and f against the orientation difference

Colour encodes signed weight (blue negative, red positive) on a scale symmetric about 0, always with a colour bar.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

FONT = 12
CMAP = "RdBu_r"


def _style(ax, title: str = "") -> None:
    ax.set_title(title, fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT - 1)


def _colourbar(fig, im, ax, label: str = "weight") -> None:
    cb = fig.colorbar(im, ax=ax)
    cb.ax.tick_params(labelsize=FONT - 1)
    cb.set_label(label, fontsize=FONT)


def _limit(t: torch.Tensor) -> float:
    return max(float(t.abs().max()), 1e-9)


def input_kernels(kernels: torch.Tensor, labels: list[str], title: str, per_row: int = 6):
    """kernels (k, kh, kw): the strongest first; labels: one per kernel (which unit of the layer below)."""
    k = len(kernels)
    cols, rows = min(k, per_row), math.ceil(k / per_row)
    fig, axes = plt.subplots(rows, cols, figsize=(14, 3.3 * rows + 0.6), squeeze=False)
    lim = _limit(kernels)
    for n, ax in enumerate(axes.flat):
        if n >= k:
            ax.axis("off")
            continue
        im = ax.imshow(kernels[n].numpy(), cmap=CMAP, vmin=-lim, vmax=lim)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(labels[n], fontsize=FONT - 1)
    fig.suptitle(title, fontsize=FONT + 1)
    fig.tight_layout()
    _colourbar(fig, im, axes.ravel().tolist())
    return fig


def pixel_weights(kernel: torch.Tensor, orientation: float, title: str):
    """kernel (3, K, K) on raw pixels: summed over colour (the stimuli are grey), with the unit's orientation."""
    grey = kernel.sum(0)
    size = grey.shape[-1]
    fig, ax = plt.subplots(figsize=(7.5, 6))
    lim = _limit(grey)
    im = ax.imshow(grey.numpy(), cmap=CMAP, vmin=-lim, vmax=lim)
    c, r = (size - 1) / 2, size * 0.3
    t = math.radians(orientation)
    ax.annotate("", xy=(c + r * math.cos(t), c - r * math.sin(t)), xytext=(c, c),
                arrowprops=dict(arrowstyle="->", color="black", lw=2.5))
    ax.set_xlabel("pixel x", fontsize=FONT)
    ax.set_ylabel("pixel y (down)", fontsize=FONT)
    _style(ax, title)
    _colourbar(fig, im, ax, "weight on grey pixels")
    fig.tight_layout()
    return fig


def tuning_and_recall(angles: torch.Tensor, curves: dict[str, torch.Tensor], recalls: dict[str, torch.Tensor],
                      classes: tuple[str, ...], unit: str):
    """curves: {label: (A,)} tuning curves; recalls: {label: (classes,)} per-class recall."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(15, 5.2), gridspec_kw={"width_ratios": [1.1, 1]})
    for (label, curve), style in zip(curves.items(), ("-", "--", ":")):
        a.plot(angles.numpy(), curve.numpy(), style, lw=2.5, label=label)
    a.set_xlabel("arc orientation (degrees; the way the convex side faces)", fontsize=FONT)
    a.set_ylabel("response at the receptive-field centre", fontsize=FONT)
    a.set_xticks(range(0, 361, 45))
    a.legend(fontsize=FONT - 1)
    _style(a, f"{unit}: tuning curve")
    width = 0.8 / max(len(recalls), 1)
    for i, (label, r) in enumerate(recalls.items()):
        xs = [c + (i - (len(recalls) - 1) / 2) * width for c in range(len(classes))]
        bars = b.bar(xs, r.numpy(), width, label=label)
        b.bar_label(bars, fmt="%.3f", fontsize=FONT - 3, rotation=90, padding=2)
    b.set_xticks(range(len(classes)), classes)
    b.set_ylim(0, 1.35)
    b.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    b.set_ylabel("recall (held-out cells)", fontsize=FONT)
    b.legend(fontsize=FONT - 1, loc="upper center", ncol=len(recalls))
    _style(b, "per-class recall")
    fig.tight_layout()
    return fig


def built_unit(angles: torch.Tensor, learned: torch.Tensor, built: torch.Tensor, kernel: torch.Tensor,
               line_orientations: torch.Tensor, unit: str, correlation: float):
    """kernel (L, 3, 3) over the line detectors, already sorted by their orientation (line_orientations)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(15, 5.4), gridspec_kw={"width_ratios": [1.2, 1]})
    a.plot(angles.numpy(), learned.numpy(), lw=2.5, label=f"{unit} (learned)")
    a.plot(angles.numpy(), built.numpy(), "--", lw=2.5, label="built by hand")
    a.set_xlabel("arc orientation (degrees)", fontsize=FONT)
    a.set_ylabel("response", fontsize=FONT)
    a.set_xticks(range(0, 361, 45))
    a.legend(fontsize=FONT - 1)
    _style(a, f"tuning correlation {correlation:.2f}")
    flat = kernel.flatten(1)  # (L, 9): taps in reading order
    lim = _limit(flat)
    im = b.imshow(flat.numpy(), aspect="auto", cmap=CMAP, vmin=-lim, vmax=lim)
    b.set_xticks(range(9), [f"{'tmb'[i // 3]}{'lcr'[i % 3]}" for i in range(9)])
    step = max(1, len(line_orientations) // 12)
    b.set_yticks(range(0, len(line_orientations), step),
                 [f"{o:.0f}°" for o in line_orientations[::step].tolist()])
    b.set_xlabel("tap (top/middle/bottom, left/centre/right)", fontsize=FONT)
    b.set_ylabel("conv3 line detector (orientation)", fontsize=FONT)
    _style(b, "the built kernel (gain included)")
    _colourbar(fig, im, b)
    fig.tight_layout()
    return fig


def equivariance(W: torch.Tensor, fitted: torch.Tensor, f: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                 period: float, title: str):
    """W, fitted (n, m): rows and columns already ordered by orientation (rows, cols in degrees)."""
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.4), gridspec_kw={"width_ratios": [1.2, 1.2, 1]})
    lim = _limit(W)
    for ax, M, name in ((axes[0], W, title), (axes[1], fitted, "best W[i, k] = f(col_k - row_i)")):
        im = ax.imshow(M.numpy(), aspect="auto", cmap=CMAP, vmin=-lim, vmax=lim)
        ax.set_yticks(range(len(rows)), [f"{r:.0f}°" for r in rows.tolist()], fontsize=FONT - 3)
        step = max(1, len(cols) // 9)
        ax.set_xticks(range(0, len(cols), step), [f"{c:.0f}°" for c in cols[::step].tolist()])
        ax.set_xlabel("line detector (orientation)", fontsize=FONT)
        ax.set_ylabel("curve detector (tangent)", fontsize=FONT)
        _style(ax, name)
        _colourbar(fig, im, ax)
    bins = len(f)
    centres = torch.arange(bins) * period / bins
    centres = torch.where(centres > period / 2, centres - period, centres)
    order = centres.argsort()
    axes[2].plot(centres[order].numpy(), f[order].numpy(), "o-", lw=2.5)
    axes[2].axhline(0, color="grey", lw=1)
    axes[2].set_xlabel("line orientation - curve tangent (degrees)", fontsize=FONT)
    axes[2].set_ylabel("f: mean weight", fontsize=FONT)
    _style(axes[2], "f, the circuit's one row")
    fig.tight_layout()
    return fig
