"""Lesson 06's figures, drawn from small real results: each legible at 1,400 px wide (the page shows them full
width as PNGs), with the panels and colour bars the page promises."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from course.sae import toy_plots as P
from course.sae.toy import HierarchicalFeatures, HierarchyConfig
from course.ui.figures import legibility_problems


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _ok(fig):
    assert legibility_problems(fig, container_px=1300) == []
    return fig


def test_matched_cosines_and_arrows():
    data = HierarchicalFeatures(HierarchyConfig(n_parents=4, n_children=3, n_free=8, d=24))
    W = torch.cat([data.features, torch.randn(20, 24)])
    fig = _ok(P.matched_cosines(W, data.features, parent_of=data.parent_of))
    assert len(fig.axes) == 2 and fig.axes[1].get_label() == "<colorbar>"  # the heat map has its colour bar
    assert "(child of 0)" in [t.get_text() for t in fig.axes[0].get_yticklabels()][4]
    _ok(P.arrows(torch.randn(10, 2), torch.randn(5, 2)))


def test_curves_frontier_absorption_drift():
    _ok(P.training_curves([0, 10, 20], [1.0, 0.5, 0.2], [5.0, 3.0, 2.0], [0.0, 0.1, 0.2], true_l0=1.5))
    fr = {"value": [1, 2, 4], "l0": [1.0, 2.0, 4.0], "fvu": [0.3, 0.2, 0.1], "mmc": [0.9, 0.95, 0.93], "true_l0": 2.5}
    _ok(P.frontier(fr))
    data = HierarchicalFeatures(HierarchyConfig(n_parents=4, n_children=3, n_free=0, d=16))
    side = {"absorption": 0.5, "parent_alone_recall": 0.9, "parent_with_child_recall": 0.5, "fvu": 0.1,
            "W_dec": torch.randn(32, 16), "latents": torch.arange(16)}
    fig = _ok(P.absorption({"plain": side, "matryoshka": side, "features": data.features, "parent_of": data.parent_of}))
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    drift = {"step": [0, 10, 20], "decoder_norm": [1, 1, 2], "l1": [1, 0.5, 0.3], "l0": [2, 2, 2], "switch": 10}
    _ok(P.norm_drift(drift))
