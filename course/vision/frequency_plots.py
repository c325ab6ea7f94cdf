"""Figures for lesson 03 (the app page draws them; each returns a matplotlib Figure sized to be legible at 1,400 px).

    frequency_orientation(resp, freqs, oris, unit)     heat map of a unit's grating responses + its tuning curve
    boundary_explorer(tuning, oris, ratios, image, ...) a boundary stimulus, the orientation x ratio map, a slice
    scene_overlay(image, response, title)               a scene and the unit's response map laid over it
    factors(unit, tuning, freqs, hf, lf)                HF and LF spatial maps of a unit, and the factors' tuning
    channels(weights, H, preferred, hf, lf)             a unit's strongest expanded-weight channels, as kernels

Orientations are drawn as arrows in the image's own frame (y down), pointing into the fine side.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

FONT = 12


def _style(ax, title: str = "") -> None:
    ax.set_title(title, fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT - 1)


def _arrow(ax, orientation: float, size: int, colour: str = "yellow") -> None:
    """An arrow from the middle of a size x size image pointing along `orientation` (y down)."""
    c, r = (size - 1) / 2, size * 0.35
    t = math.radians(orientation)
    ax.annotate("", xy=(c + r * math.cos(t), c - r * math.sin(t)), xytext=(c, c),
                arrowprops=dict(arrowstyle="->", color=colour, lw=2.5))


def frequency_orientation(resp: torch.Tensor, frequencies: torch.Tensor, orientations: torch.Tensor, unit: str,
                          preferred: float | None = None):
    """resp (F, A): a unit's phase-averaged grating responses; beside it the tuning curve (best orientation)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.3, 1]})
    im = a.imshow(resp.numpy(), aspect="auto", origin="lower", cmap="viridis")
    a.set_xticks(range(0, len(orientations), 2), [f"{o:.0f}" for o in orientations[::2].tolist()])
    a.set_yticks(range(len(frequencies)), [f"{f:.3f}" for f in frequencies.tolist()])
    a.set_xlabel("grating orientation (degrees)", fontsize=FONT)
    a.set_ylabel("frequency (cycles / pixel)", fontsize=FONT)
    _style(a, f"{unit}: response to gratings (mean over phase)")
    cb = fig.colorbar(im, ax=a)
    cb.ax.tick_params(labelsize=FONT - 1)
    cb.set_label("response", fontsize=FONT)
    curve = resp.amax(dim=1)
    b.semilogx(frequencies.numpy(), curve.numpy(), "o-", color="tab:blue")
    if preferred is not None and math.isfinite(preferred):
        b.axvline(preferred, color="tab:red", ls="--", label=f"preferred {preferred:.3f}")
        b.legend(fontsize=FONT - 1)
    b.set_xlabel("frequency (cycles / pixel)", fontsize=FONT)
    b.set_ylabel("response at the best orientation", fontsize=FONT)
    _style(b, "frequency tuning curve")
    fig.tight_layout()
    return fig


def boundary_explorer(tuning: torch.Tensor, orientations: torch.Tensor, ratios: torch.Tensor, image: torch.Tensor,
                      orientation: float, ratio: float, response: float, unit: str):
    """tuning (A, R) seed-averaged boundary responses; image (3, S, S) the current stimulus; response its answer."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [1, 1.4, 1.2]})
    a.imshow(image.permute(1, 2, 0).numpy(), vmin=0, vmax=1)
    _arrow(a, orientation, image.shape[-1])
    a.set_xticks([]), a.set_yticks([])
    _style(a, f"stimulus: response {response:.3g}")
    im = b.imshow(tuning.T.numpy(), aspect="auto", origin="lower", cmap="viridis")
    b.set_xticks(range(0, len(orientations), 3), [f"{o:.0f}" for o in orientations[::3].tolist()])
    b.set_yticks(range(len(ratios)), [f"{r:g}" for r in ratios.tolist()])
    b.set_xlabel("boundary orientation (degrees, into the fine side)", fontsize=FONT)
    b.set_ylabel("frequency ratio high / low", fontsize=FONT)
    _style(b, f"{unit}: orientation x ratio (mean over seeds)")
    cb = fig.colorbar(im, ax=b)
    cb.ax.tick_params(labelsize=FONT - 1)
    cb.set_label("response", fontsize=FONT)
    r = int(torch.argmin((ratios - ratio).abs()))
    c.plot(orientations.numpy(), tuning[:, r].numpy(), "o-", color="tab:blue", label=f"ratio {ratios[r]:g}")
    c.axvline(orientation % 360, color="tab:red", ls="--", label="this stimulus")
    c.set_xlabel("orientation (degrees)", fontsize=FONT)
    c.set_ylabel("response", fontsize=FONT)
    c.legend(fontsize=FONT - 1)
    _style(c, "orientation tuning")
    fig.tight_layout()
    return fig


def scene_overlay(image: torch.Tensor, response: torch.Tensor, title: str):
    """image (3, H, W) and a response map (H, W) laid over it."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 6))
    a.imshow(image.permute(1, 2, 0).numpy(), vmin=0, vmax=1)
    _style(a, "scene")
    b.imshow(image.mean(0).numpy(), cmap="gray", vmin=0, vmax=1)
    im = b.imshow(response.numpy(), cmap="inferno", alpha=0.65, vmin=0, vmax=max(float(response.max()), 1e-6))
    _style(b, title)
    for ax in (a, b):
        ax.set_xticks([]), ax.set_yticks([])
    cb = fig.colorbar(im, ax=b, fraction=0.046)
    cb.ax.tick_params(labelsize=FONT - 1)
    cb.set_label("response", fontsize=FONT)
    fig.tight_layout()
    return fig


def factors(spatial: torch.Tensor, orientation: float, tuning: torch.Tensor, frequencies: torch.Tensor, hf: int,
            lf: int, unit: str):
    """spatial (k, K, K) a unit's signed factor maps; tuning (k, F) the factors' texture tuning."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.6), gridspec_kw={"width_ratios": [1, 1, 1, 1.4]})
    maps = [(spatial[hf], "HF-factor"), (spatial[lf], "LF-factor"), (spatial[hf] - spatial[lf], "HF - LF")]
    for ax, (m, name) in zip(axes, maps):
        v = max(float(m.abs().max()), 1e-9)
        im = ax.imshow(m.numpy(), cmap="RdBu_r", vmin=-v, vmax=v)
        if math.isfinite(orientation):
            _arrow(ax, orientation, m.shape[-1], "black")
        ax.set_xticks([]), ax.set_yticks([])
        _style(ax, f"{unit}: {name}")
        cb = fig.colorbar(im, ax=ax, fraction=0.046)
        cb.ax.tick_params(labelsize=FONT - 2)
    t = tuning / tuning.amax(dim=1, keepdim=True).clamp_min(1e-9)
    axes[3].semilogx(frequencies.numpy(), t[hf].numpy(), "o-", color="tab:red", label="HF-factor")
    axes[3].semilogx(frequencies.numpy(), t[lf].numpy(), "o-", color="tab:blue", label="LF-factor")
    axes[3].set_xlabel("texture frequency (cycles / pixel)", fontsize=FONT)
    axes[3].set_ylabel("response / its peak", fontsize=FONT)
    axes[3].legend(fontsize=FONT - 1)
    _style(axes[3], "what the factors answer")
    fig.tight_layout()
    return fig


def channels(weights: torch.Tensor, H: torch.Tensor, preferred: torch.Tensor, hf: int, lf: int, layer: str,
             top: int = 8):
    """weights (C, K, K) a unit's expanded weights from `layer`; the `top` channels by weight norm, as kernels."""
    order = weights.flatten(1).norm(dim=1).argsort(descending=True)[:top].tolist()
    cols = min(top, 4)
    rows = math.ceil(len(order) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(15, 3.9 * rows), squeeze=False)
    v = max(float(weights[order].abs().max()), 1e-9)
    for ax, c in zip(axes.flat, order):
        im = ax.imshow(weights[c].numpy(), cmap="RdBu_r", vmin=-v, vmax=v)
        kind = "HF" if H[hf, c] > H[lf, c] else "LF"
        ax.set_xticks([]), ax.set_yticks([])
        _style(ax, f"{layer}:{c} ({kind}, prefers {preferred[c]:.2f})")
    for ax in list(axes.flat)[len(order):]:
        ax.set_visible(False)
    cb = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02)
    cb.ax.tick_params(labelsize=FONT - 1)
    cb.set_label("expanded weight", fontsize=FONT)
    return fig
