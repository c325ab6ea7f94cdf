"""Figures for lesson 06 (matplotlib; each returns a Figure sized to be legible at 1,400 px wide).

    matched_cosines(W_dec, features)      true features x their matched latents (Hungarian), then the rest
    arrows(W_dec, features)               d = 2: true directions and decoder rows as arrows
    training_curves(log)                  MSE, L0 and dead latents over training
    frontier(result)                      L0 against FVU (and mean max cosine) as k or the L1 coefficient moves
    absorption(result)                    absorption rates and parent recall, plain vs Matryoshka, and the cosines
                                          of each one's child latents with their parents
    norm_drift(result)                    decoder norms, the naive L1 and L0 when the decoder-norm weighting goes
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from course.sae.groundtruth import cosines, match  # noqa: E402

plt.rcParams.update({"font.size": 11})


def matched_cosines(W_dec: Tensor, features: Tensor, title: str = "", parent_of: Tensor | None = None):
    """Heat map of cosines: rows are true features, columns their matched latents (in feature order), then the
    unmatched latents by their best cosine. A clean recovery is a bright diagonal."""
    c = cosines(W_dec, features).detach()
    m = match(W_dec, features)
    matched = [int(j) for j in m.tolist() if j >= 0]
    rest = [j for j in c.max(0).values.argsort(descending=True).tolist() if j not in set(matched)]
    order = matched + rest
    fig, ax = plt.subplots(figsize=(12, 5.2))
    im = ax.imshow(c[:, order].numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xlabel("latents: matched to features 0, 1, 2, ... in turn, then the unmatched ones")
    ax.set_ylabel("true features")
    if len(matched) < len(order):
        ax.axvline(len(matched) - 0.5, color="k", lw=1.5)
    if parent_of is not None:  # mark the children, so absorption (a child's latent leaning on its parent) shows
        ax.set_yticks(range(len(parent_of)), [f"{i}" if p < 0 else f"{i} (child of {p})"
                                              for i, p in enumerate(parent_of.tolist())], fontsize=9)
    ax.set_title(title or "cosine of each true feature with each latent's decoder row")
    fig.colorbar(im, ax=ax, label="cosine", fraction=0.04)
    fig.tight_layout()
    return fig


def arrows(W_dec: Tensor, features: Tensor, title: str = ""):
    """d = 2: the true feature directions (thick grey) and the SAE's decoder rows (thin, coloured)."""
    fig, ax = plt.subplots(figsize=(7, 7))
    for i, f in enumerate(features.tolist()):
        ax.annotate("", xy=(f[0], f[1]), xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", lw=5, color="0.7"))
        ax.text(f[0] * 1.12, f[1] * 1.12, f"feature {i}", ha="center", va="center", fontsize=11)
    W = W_dec / W_dec.norm(dim=1, keepdim=True).clamp(min=1e-8)
    colours = plt.cm.tab10.colors
    for j, w in enumerate(W.tolist()):
        ax.annotate("", xy=(w[0], w[1]), xytext=(0, 0),
                    arrowprops=dict(arrowstyle="-|>", lw=1.8, color=colours[j % 10]))
    ax.plot([], [], color="0.7", lw=5, label="true features")
    ax.plot([], [], color=colours[0], lw=1.8, label="SAE decoder rows (unit length)")
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.35, 1.35)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.85", lw=0.8)
    ax.axvline(0, color="0.85", lw=0.8)
    ax.legend(loc="lower left", fontsize=10)
    ax.set_title(title or "true directions and what the SAE found")
    fig.tight_layout()
    return fig


def training_curves(step: list, mse: list, l0: list, dead: list, true_l0: float | None = None):
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].plot(step, mse)
    axes[0].set_yscale("log")
    axes[0].set_title("reconstruction error (normalised units)")
    axes[1].plot(step, l0, label="SAE L0")
    if true_l0 is not None:
        axes[1].axhline(true_l0, color="k", ls="--", label=f"true L0 {true_l0:.2f}")
    axes[1].legend(fontsize=10)
    axes[1].set_title("active latents per input (L0)")
    axes[2].plot(step, [100 * d for d in dead], color="C3")
    axes[2].set_ylim(-2, 102)
    axes[2].set_title("dead latents (%)")
    for ax in axes:
        ax.set_xlabel("training step")
    fig.tight_layout()
    return fig


def frontier(result: dict, label: str = "k"):
    """result: course.sae.toy_experiments.frontier's output."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    l0, fvu, mmc = result["l0"], result["fvu"], result["mmc"]
    axes[0].plot(l0, fvu, "o-")
    for v, x, y in zip(result["value"], l0, fvu):
        axes[0].annotate(f"{label}={v:g}", (x, y), textcoords="offset points", xytext=(6, 6), fontsize=10)
    axes[0].axvline(result["true_l0"], color="k", ls="--", label=f"true L0 {result['true_l0']:.2f}")
    axes[0].set_xlabel("L0 (active latents per input)")
    axes[0].set_ylabel("FVU (fraction of variance unexplained)")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=10)
    axes[0].set_title("the sparsity-reconstruction frontier")
    axes[1].plot(l0, mmc, "o-", color="C2")
    axes[1].axvline(result["true_l0"], color="k", ls="--")
    axes[1].set_ylim(min(0.5, min(mmc) - 0.05), 1.01)
    axes[1].set_xlabel("L0")
    axes[1].set_ylabel("mean max cosine with the true features")
    axes[1].set_title("recovery of the true features")
    fig.tight_layout()
    return fig


def absorption(result: dict):
    """result: course.sae.toy_experiments.absorption_pair's output (with `parent_of`, the data's hierarchy)."""
    names = ("plain", "matryoshka")
    fig = plt.figure(figsize=(13, 5))
    grid = fig.add_gridspec(1, 3, width_ratios=[1.1, 1, 1])
    ax = fig.add_subplot(grid[0])
    keys = ("absorption", "parent_alone_recall", "parent_with_child_recall", "fvu")
    labels = ("absorption\nrate", "parent latent\nfires alone", "parent latent fires\nwith a child", "FVU")
    x = torch.arange(len(keys)).float()
    for i, n in enumerate(names):
        ax.bar(x + (i - 0.5) * 0.38, [result[n][k] for k in keys], width=0.38, label=n)
    ax.set_xticks(x.tolist(), labels, fontsize=10)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=10)
    ax.set_title(f"BatchTopK (k = {result.get('k', 1)}), same data")
    parent_of = result["parent_of"]
    children = (parent_of >= 0).nonzero().flatten()
    for i, n in enumerate(names):
        ax2 = fig.add_subplot(grid[i + 1])
        W = result[n]["W_dec"]
        lat = result[n]["latents"]
        c = cosines(W, result["features"])  # (n_features, d_sae)
        parents = parent_of[children]
        vals = torch.stack([c[parents, lat[children]], c[children, lat[children]]], 1)
        im = ax2.imshow(vals.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax2.set_xticks([0, 1], ["parent", "child"])
        ax2.set_ylabel("each child's latent")
        ax2.set_title(f"{n}: its child latents' cosine\nwith the parent and the child", fontsize=11)
    fig.colorbar(im, ax=fig.axes[1:], label="cosine", fraction=0.05)
    return fig


def norm_drift(result: dict):
    """result: course.sae.toy_experiments.decoder_norm_drift's output."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    s = result["step"]
    for ax, key, title in zip(axes, ("decoder_norm", "l1", "l0"),
                              ("mean decoder row norm", "plain L1 of the activations", "L0 (active latents)")):
        ax.plot(s, result[key])
        ax.axvline(result["switch"], color="k", ls="--")
        ax.set_title(title)
        ax.set_xlabel("training step")
    axes[0].text(result["switch"], axes[0].get_ylim()[1], " naive L1 from here", va="top", fontsize=10)
    fig.tight_layout()
    return fig
