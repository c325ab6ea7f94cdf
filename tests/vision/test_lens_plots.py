"""Lesson 00's figures (course.vision.lens_plots) are legible at 1,400 px wide (course.ui.figures): the page shows
them as cached PNGs, so press_every_button's own legibility net doesn't see them and this test does its job."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from course.ui.figures import legibility_problems
from course.vision import lens_plots as P

g = torch.Generator().manual_seed(0)
IMAGE = torch.rand(3, 64, 64, generator=g)
MAPS = {name: torch.randn(64, 64, generator=g) for name in
        ("saliency", "gradient x input", "integrated gradients", "occlusion")}
STEPS = ["original", "head", "conv5", "conv4", "conv3", "conv2", "conv1"]
ROWS = [{"layer": layer, "probe": kind, "task": 0.6, "control": 0.5, "selectivity": 0.1, "train": 0.7}
        for kind in ("linear", "mlp") for layer in ("pixels", "conv1", "conv2", "conv3", "conv4", "conv5")]
GRID = torch.randint(0, 5, (8, 8), generator=g)

FIGURES = {
    "attribution_row": lambda: P.attribution_row(IMAGE, MAPS, (5, 3)),
    "ig_error_plot": lambda: P.ig_error_plot([4, 8, 16], {"gausslegendre": [3.0, 1.0, 0.1],
                                                          "riemann_trapezoid": [9, 2, 0.5]}),
    "cascade_row": lambda: P.cascade_row(torch.randn(7, 64, 64, generator=g), STEPS, [1.0] + [0.3] * 6, (5, 3), True),
    "cascade_lines": lambda: P.cascade_lines({"steps": STEPS, "abs": {"saliency": [1.0] + [0.4] * 6},
                                              "signed": {"saliency": [1.0] + [0.0] * 6}}),
    "probe_chart": lambda: P.probe_chart(ROWS),
    "prediction_grids": lambda: P.prediction_grids(IMAGE, GRID, GRID, (GRID + 1) % 5, "15 units zeroed"),
    "recall_chart": lambda: P.recall_chart(torch.rand(5), torch.rand(5), torch.rand(20, 5), {"yours": torch.rand(5)}),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_is_legible_at_1400_px(name):
    fig = FIGURES[name]()
    try:
        assert legibility_problems(fig) == []
        assert fig.get_size_inches()[0] >= 7  # wide enough to be drawn full width without blowing up the fonts
    finally:
        plt.close(fig)


def test_figure_png_from_the_page_helper():
    from course.ui.three_lenses import figure

    png = figure("ig_error_plot", [4, 8], {"gausslegendre": [1.0, 0.5]})
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
