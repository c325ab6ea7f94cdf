"""Is a matplotlib figure legible on the page? Sizes as a learner sees them, not as matplotlib stores them.

`st.pyplot(fig)` stretches the figure to its container's width, so what matters is the ratio of the
container's width in pixels to the figure's width in inches: a 12-panel figure 11 inches wide in a 650 px
column draws 9-point titles 7 px tall and panels 50 px wide (lesson 05's first page). With the page's
content about 1,300 px wide on a 1,400 px screen:

    legibility_problems(fig, container_px=1300)   # [] or what is too small, e.g. "text 'p = 0.3' is 6.8 px tall"

Thresholds: text at least 9 px tall (about a 7-point font on paper), and every plotting panel at least 120 px
on its longer side (colour bars excepted). Used by `course.ui.testing.press_every_button` on every figure a
page draws, and by the figure functions' own tests.
"""

from __future__ import annotations

PAGE_PX = 1300  # content width of a wide-layout page on a 1,400 px screen (sidebar collapsed)
MIN_TEXT_PX = 9.0
MIN_PANEL_PX = 120.0


def legibility_problems(fig, container_px: float = PAGE_PX, min_text_px: float = MIN_TEXT_PX,
                        min_panel_px: float = MIN_PANEL_PX) -> list[str]:
    """What is too small in `fig` when shown `container_px` wide ([] when everything is legible)."""
    from matplotlib.text import Text

    width_in, _ = fig.get_size_inches()
    px_per_inch = container_px / max(width_in, 1e-9)
    problems = []
    seen = set()
    for t in fig.findobj(Text):
        s = t.get_text().strip()
        if not s or not t.get_visible() or (s, t.get_fontsize()) in seen:
            continue
        seen.add((s, t.get_fontsize()))
        px = t.get_fontsize() / 72 * px_per_inch
        if px < min_text_px:
            problems.append(f"text {s[:30]!r} is {px:.1f} px tall (needs {min_text_px:g}; fontsize "
                            f"{t.get_fontsize():g} pt in a {width_in:.1f}-inch figure shown {container_px:g} px wide)")
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>" or not ax.axison and not ax.images and not ax.lines:
            continue
        pos = ax.get_position()
        w, h = pos.width * width_in * px_per_inch, pos.height * fig.get_size_inches()[1] * px_per_inch
        if max(w, h) < min_panel_px:
            problems.append(f"a panel {ax.get_title()[:30]!r} is {w:.0f} x {h:.0f} px (needs {min_panel_px:g} px "
                            "on its longer side): fewer panels per row, or a wider figure")
    return problems
