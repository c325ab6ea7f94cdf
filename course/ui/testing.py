"""Test helpers for the app's pages (used by tests/test_app_*.py; no Streamlit element is drawn here).

    from course.ui.testing import press_every_button
    press_every_button(PAGE, prepare=lambda at: at.slider(key="steps").set_value(200))

runs a page script with Streamlit's `AppTest` in `sessions` fresh sessions one after the other (caches are
process-wide, so the second session meets warm `st.cache_data`/`cached_compute` entries, as a second learner in
the same class would), and in each presses every button on the page twice, including buttons that only
appear after another was pressed. After every run it asserts that the page raised nothing and showed no
error box. This is the app's rule: every button works pressed twice and in two sessions.

It also collects every matplotlib figure the page hands to `st.pyplot` and fails when one is illegible at
1,400 px wide (see `course.ui.figures.legibility_problems`); pass `figures=False` to skip that.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable

__all__ = ["press_every_button", "page_problems", "button_ids"]


def page_problems(at, allow_errors: bool = False) -> list[str]:
    """What went wrong on the page after a run: exceptions, and error boxes unless `allow_errors`."""
    problems = [f"exception: {e.value}" for e in at.exception]
    if not allow_errors:
        problems += [f"error box: {e.value}" for e in at.error]
    return problems


def button_ids(at) -> list[tuple[str, str]]:
    """(key, label) of every button on the page (the key is AppTest's element id when the button has none)."""
    return [(b.key if b.key is not None else b.id, b.label) for b in at.button]


def _find(at, key: str):
    for b in at.button:
        if (b.key if b.key is not None else b.id) == key:
            return b
    return None


def press_every_button(page: str | Path, prepare: Callable | None = None, sessions: int = 2, presses: int = 2,
                       timeout: float = 300, allow_errors: bool = False, skip: tuple[str, ...] = (),
                       max_buttons: int = 40, figures: bool = True, container_px: float = 1300) -> dict[str, int]:
    """Press every button of `page` `presses` times in each of `sessions` sessions; fail on any problem.

    prepare(at): called after the first run of each session, to set widgets (small settings keep tests fast);
    skip: button keys (or labels) not to press. Returns how often each button (by key) was pressed in all.
    """
    with record_figures(container_px) as drawn:
        pressed = _press(page, prepare, sessions, presses, timeout, allow_errors, skip, max_buttons)
    if figures:
        bad = sorted({p for _, problems in drawn for p in problems})
        if bad:
            raise AssertionError(f"{page}: figures not legible at 1,400 px wide: " + "; ".join(bad[:10]))
    return pressed


@contextlib.contextmanager
def record_figures(container_px: float = 1300):
    """Collect (figure, legibility problems) for every figure passed to `st.pyplot` (or a container's `.pyplot`)
    while the block runs; the problems are measured when it is drawn (pages may clear figures after)."""
    import streamlit as st
    from streamlit.elements.pyplot import PyplotMixin

    from course.ui.figures import legibility_problems

    drawn: list = []
    original, module_level = PyplotMixin.pyplot, st.pyplot

    def recording(self, fig=None, *args, **kwargs):
        if fig is not None:
            drawn.append((fig, legibility_problems(fig, container_px)))
        return original(self, fig, *args, **kwargs)

    PyplotMixin.pyplot = recording
    st.pyplot = lambda fig=None, *a, **k: recording(st._main, fig, *a, **k)
    try:
        yield drawn
    finally:
        PyplotMixin.pyplot, st.pyplot = original, module_level


def _press(page, prepare, sessions, presses, timeout, allow_errors, skip, max_buttons) -> dict[str, int]:
    from streamlit.testing.v1 import AppTest

    pressed_total: dict[str, int] = {}
    for session in range(1, sessions + 1):
        at = AppTest.from_file(str(page), default_timeout=timeout).run()
        _assert_clean(at, f"session {session}, first run", allow_errors)
        if prepare is not None:
            prepare(at)
            at.run()
            _assert_clean(at, f"session {session}, after prepare", allow_errors)
        done: set[str] = set()
        while True:
            todo = [(k, label) for k, label in button_ids(at) if k not in done and k not in skip and label not in skip]
            if not todo:
                break
            key, label = todo[0]
            done.add(key)
            if len(done) > max_buttons:
                raise AssertionError(f"{page}: more than {max_buttons} buttons; is the page adding buttons on every press?")
            for n in range(1, presses + 1):
                button = _find(at, key)
                if button is None:  # pressing it once removed it (e.g. a one-shot action): that's fine
                    break
                at = button.click().run()
                pressed_total[key] = pressed_total.get(key, 0) + 1
                _assert_clean(at, f"session {session}, button {label!r} ({key}) press {n}", allow_errors)
    return pressed_total


def _assert_clean(at, when: str, allow_errors: bool) -> None:
    problems = page_problems(at, allow_errors)
    if problems:
        raise AssertionError(f"{when}: " + "; ".join(p[:500] for p in problems))
