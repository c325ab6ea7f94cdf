"""Figures for lesson 02 (the curve lab): the family round the circle, one unit's tuning, stimuli, dataset examples.

Every function takes plain data (tensors, lists, dicts as `course.ui.curves` caches them) and returns a
matplotlib Figure sized to be read at the app's full width (about 1,300 px; text >= 11 pt). Orientations are
degrees counter-clockwise from +x with y down, so on a polar plot 90 degrees points up, as the arcs do.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

FONT = 12


def _colour(orientation: float):
    return plt.cm.hsv((orientation % 360) / 360)


def _closed(theta_deg: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.deg2rad(np.append(theta_deg, theta_deg[0] + 360)), np.append(r, r[0])


def family_circle(members: list[dict], curves: torch.Tensor, step: float, widest_gap: float):
    """Left: every member's tuning curve (normalised to its peak) on one polar plot, the article's radial tuning
    figure; right: the same curves unrolled, with each preferred orientation marked. curves: (M, A)."""
    fig = plt.figure(figsize=(14, 6))
    polar = fig.add_subplot(1, 2, 1, projection="polar")
    flat = fig.add_subplot(1, 2, 2)
    theta = np.arange(curves.shape[1]) * step
    for m, curve in zip(members, curves):
        c = curve.numpy() / max(float(curve.max()), 1e-9)
        colour = _colour(m["orientation"])
        polar.fill(*_closed(theta, c), color=colour, alpha=0.25)
        polar.plot(*_closed(theta, c), color=colour, lw=1.5)
        polar.annotate(str(m["unit"]), (math.radians(m["orientation"]), 1.12), ha="center", va="center",
                       fontsize=FONT - 1, color=colour, annotation_clip=False)
        flat.plot(theta, c, color=colour, lw=1.8)
        flat.axvline(m["orientation"], color=colour, lw=0.8, ls=":")
    polar.set_ylim(0, 1.2)
    polar.set_yticks([0.5, 1.0])
    polar.set_yticklabels(["0.5", "1"], fontsize=FONT - 2)
    polar.tick_params(axis="x", labelsize=FONT - 1)
    polar.set_title(f"{len(members)} curve detectors, each normalised to its peak\nwidest gap {widest_gap:.1f}°",
                    fontsize=FONT + 1, pad=22)
    flat.set_xlim(0, 360)
    flat.set_xticks(range(0, 361, 45))
    flat.set_xlabel("arc orientation (degrees; 90 = convex side up)", fontsize=FONT)
    flat.set_ylabel("response / peak", fontsize=FONT)
    flat.set_title("the same tuning curves, unrolled (dotted: preferred orientation)", fontsize=FONT + 1)
    flat.tick_params(labelsize=FONT - 1)
    fig.tight_layout()
    return fig


def unit_tuning(unit: int, tuning: torch.Tensor, step: float, radii, radius_grid, radius_curve: torch.Tensor,
                radius_range, best: dict):
    """One unit: its radial tuning curve at every polarity and radius (tuning (2, R, A)), the response against
    radius at its preferred orientation, and its best arc against its best straight line and segment."""
    fig = plt.figure(figsize=(15, 5.2))
    polar = fig.add_subplot(1, 3, 1, projection="polar")
    radial = fig.add_subplot(1, 3, 2)
    bars = fig.add_subplot(1, 3, 3)
    theta = np.arange(tuning.shape[-1]) * step
    styles = {0: "-", 1: "--"}
    for p, name in enumerate(("dark", "light")):
        for r, radius in enumerate(radii):
            polar.plot(*_closed(theta, tuning[p, r].numpy()), ls=styles[p], lw=1.6,
                       color=plt.cm.viridis(r / max(len(radii) - 1, 1)), label=f"{name} r{radius:g}")
    polar.tick_params(labelsize=FONT - 2)
    polar.set_title(f"conv4:{unit}: response to arcs\n(solid dark, dashed light)", fontsize=FONT + 1, pad=18)
    polar.legend(loc="upper left", bbox_to_anchor=(1.02, 1.05), fontsize=FONT - 2, frameon=False)
    rr = np.asarray(radius_grid, dtype=float)
    radial.plot(rr, radius_curve.numpy(), "o-", color="black", lw=1.8)
    peak = float(radius_curve.max())
    radial.axhline(peak / 2, color="grey", ls=":", lw=1)
    radial.axvspan(radius_range[0], radius_range[1], color="tab:green", alpha=0.15, label="above half the peak")
    radial.set_xlabel("arc radius (pixels)", fontsize=FONT)
    radial.set_ylabel("response", fontsize=FONT)
    radial.set_title(f"at {best['orientation']:.0f}°, {best['polarity']}: radius tolerance "
                     f"{radius_range[0]:g}-{radius_range[1]:g} px", fontsize=FONT)
    radial.legend(fontsize=FONT - 2, frameon=False)
    radial.tick_params(labelsize=FONT - 1)
    values = [best["curve"], best["line"], best["segment"]]
    bars.bar(["best arc", "best endless\nline", "best\nsegment"], values, color=["tab:orange", "tab:blue", "tab:cyan"])
    for x, v in enumerate(values):
        bars.text(x, v, f"{v:.2f}", ha="center", va="bottom", fontsize=FONT - 1)
    bars.set_ylabel("response", fontsize=FONT)
    bars.set_title("curve vs straight strokes (both polarities)", fontsize=FONT)
    bars.tick_params(labelsize=FONT - 1)
    fig.tight_layout()
    return fig


def stimulus_gallery(images: torch.Tensor, orientations, responses, peak: float, title: str):
    """A row of arc stimuli (N, 3, H, W) with the unit's response to each above it."""
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(15, 2.9))
    for ax, img, o, r in zip(np.atleast_1d(axes), images, orientations, responses):
        ax.imshow(img.permute(1, 2, 0).numpy(), vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{o:.0f}°\n{r:.2f}" + (" (peak)" if abs(r - peak) < 1e-6 else ""), fontsize=FONT)
    fig.suptitle(title, fontsize=FONT + 1)
    fig.tight_layout()
    return fig


def example_grid(patches: torch.Tensor, values, labels, title: str):
    """Dataset examples: patches (k, 3, S, S) in two rows, each with its activation and the shape under it."""
    k = len(patches)
    cols = math.ceil(k / 2)
    fig, axes = plt.subplots(2, cols, figsize=(14, 6.4))
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= k:
            ax.axis("off")
            continue
        ax.imshow(patches[j].permute(1, 2, 0).numpy(), vmin=0, vmax=1)
        s = patches[j].shape[-1]
        ax.plot([s / 2 - 0.5], [s / 2 - 0.5], "+", color="white", ms=12, mew=2)
        ax.set_title(f"{values[j]:.2f}\n{labels[j] or 'no rim near'}", fontsize=FONT - 1)
    fig.suptitle(title, fontsize=FONT + 1)
    fig.tight_layout()
    return fig


def featurevis_grid(images: torch.Tensor, members: list[dict], found, steps: int, ncols: int = 5):
    """The family's feature visualisations (images (M, 3, H, W), image m for members[m]) in order of preferred
    orientation, each titled with its unit and preferred orientation, and the way the arcs the picture shows
    face (`found`, degrees, from `course.vision.curves.arc_orientation`). The arrow in each panel's corner
    points the way the unit's preferred arc bulges (its convex side)."""
    order = sorted(range(len(members)), key=lambda m: members[m]["orientation"])
    nrows = max(1, math.ceil(len(order) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(14, 3.15 * nrows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, m in zip(axes.flat, order):
        o = members[m]["orientation"]
        ax.imshow(images[m].permute(1, 2, 0).clamp(0, 1).numpy(), vmin=0, vmax=1, interpolation="nearest")
        dx, dy = 0.09 * math.cos(math.radians(o)), -0.09 * math.sin(math.radians(o))  # y down in the image
        ax.annotate("", xy=(0.86 + dx, 0.14 - dy), xytext=(0.86 - dx, 0.14 + dy), xycoords="axes fraction",
                    arrowprops=dict(arrowstyle="-|>", color="white", lw=2.2, mutation_scale=16))
        ax.set_title(f"conv4:{members[m]['unit']}  {o:.0f}°\narcs in the picture: {float(found[m]):.0f}°",
                     fontsize=FONT)
    fig.suptitle(f"The family's feature visualisations ({steps} steps), by preferred orientation; the arrow points "
                 "the way each unit's preferred arc bulges", fontsize=FONT + 1)
    fig.tight_layout()
    return fig
