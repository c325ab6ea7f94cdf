"""Figures for toy models of superposition (matplotlib; the app and the lesson show them).

    geometry(W, p)          each instance's feature directions in the plane (n_hidden == 2), as in the paper
    wtw_and_bias(W, b, p)   W^T W heat maps with the bias beside them, one column per instance
    phase(pd)               the 2-features-in-1-dimension phase diagram
    dimensionality(W, p)    feature dimensionalities against 1 / p, with the sticky fractions marked
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # never open windows: figures go to Streamlit or files
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from course.superposition import analysis as A  # noqa: E402
from course.superposition.phase import PHASES, PhaseDiagram  # noqa: E402


def _select(n: int, max_instances: int) -> list[int]:
    if n <= max_instances:
        return list(range(n))
    return torch.linspace(0, n - 1, max_instances).round().long().tolist()


def geometry(W: torch.Tensor, feature_probability: torch.Tensor | None = None, max_instances: int = 8):
    """Arrows from the origin to each W_i, coloured by feature index, one panel per instance."""
    W = W.detach().cpu()
    if W.shape[1] != 2:
        raise ValueError("the geometry plot needs n_hidden == 2; use wtw_and_bias instead")
    idx = _select(W.shape[0], max_instances)
    cols = min(len(idx), 4)
    rows = (len(idx) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.7 * rows), squeeze=False)
    for ax in axes.flat[len(idx):]:
        ax.set_visible(False)
    colors = plt.cm.viridis(torch.linspace(0, 0.9, W.shape[2]).numpy())
    for ax, i in zip(axes.flat, idx):
        for f in range(W.shape[2]):
            x, y = W[i, 0, f].item(), W[i, 1, f].item()
            ax.plot([0, x], [0, y], color=colors[f], lw=2)
            ax.scatter([x], [y], color=colors[f], s=18, zorder=3)
        lim = max(1.3, W[i].abs().max().item() * 1.15)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
        if feature_probability is not None:
            ax.set_title(f"p = {float(feature_probability[i]):.3g}", fontsize=11)
    fig.tight_layout()
    return fig


def wtw_and_bias(W: torch.Tensor, b: torch.Tensor, feature_probability: torch.Tensor | None = None,
                 max_instances: int = 6):
    """W^T W (red positive, blue negative) above each instance's bias vector."""
    W, b = W.detach().cpu(), b.detach().cpu()
    idx = _select(W.shape[0], max_instances)
    G = A.wtw(W)
    fig, axes = plt.subplots(2, len(idx), figsize=(max(2.0 * len(idx), 6.0) + 0.8, 3.6), squeeze=False,
                             gridspec_kw={"height_ratios": [W.shape[2], 1.5]})
    for col, i in enumerate(idx):
        image = axes[0, col].imshow(G[i].numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        axes[1, col].imshow(b[i][None].numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        for ax in axes[:, col]:
            ax.set(xticks=[], yticks=[])
        if feature_probability is not None:
            axes[0, col].set_title(f"p = {float(feature_probability[i]):.3g}", fontsize=11)
    axes[0, 0].set_ylabel("WᵀW", fontsize=11)
    axes[1, 0].set_ylabel("b", fontsize=11)
    fig.tight_layout()
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, pad=0.02, label="value (red +, blue -)")
    return fig


def phase(pd: PhaseDiagram):
    """The phase of each (relative importance, density) model, on log axes."""
    cmap = ListedColormap(["#4c72b0", "#dd8452", "#55a868", "#bbbbbb"])
    fig, ax = plt.subplots(figsize=(9, 4.6))
    d, r = pd.density.log10(), pd.relative_importance.log10()
    ax.imshow(pd.phase.numpy(), origin="lower", cmap=cmap, vmin=-0.5, vmax=3.5, aspect="auto",
              extent=[d[0].item(), d[-1].item(), r[0].item(), r[-1].item()])
    ax.set_xlabel("feature density (log10)")
    ax.set_ylabel("relative importance of feature 2 (log10)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in range(3)]
    ax.legend(handles, PHASES[:3], loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=10, framealpha=0.9)
    fig.tight_layout()
    return fig


def dimensionality(W: torch.Tensor, feature_probability: torch.Tensor):
    """Each represented feature's D_i (dots) and the model's D* (line) against 1 / p; sticky fractions dashed."""
    W = W.detach().cpu()
    D, rep = A.feature_dimensionality(W), A.represented(W)
    x = (1 / feature_probability.detach().cpu()).float()
    fig, ax = plt.subplots(figsize=(9, 4))
    for value in A.STICKY_FRACTIONS.values():
        ax.axhline(value, color="#cccccc", ls="--", lw=0.8)
    for i in range(W.shape[0]):
        d = D[i][rep[i]]
        ax.scatter(x[i].repeat(len(d)).numpy(), d.numpy(), s=6, alpha=0.5, color="#4c72b0")
    ax.plot(x.numpy(), A.dimensions_per_feature(W).numpy(), color="black", lw=1.5, label="D*")
    ax.set_xscale("log")
    ax.set(xlabel="1 / feature probability", ylabel="dimensionality", ylim=(0, 1.1))
    ax.legend(loc="upper right", fontsize=10)
    fig.tight_layout()
    return fig
