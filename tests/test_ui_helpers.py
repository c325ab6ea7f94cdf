"""The app's shared helpers: cached_compute (computed once, progress outside the cache), press_every_button (which
must catch the second-press failure lesson 05 had), and the figure legibility check."""

from __future__ import annotations

import textwrap
import threading

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course.ui import compute  # noqa: E402
from course.ui.figures import legibility_problems  # noqa: E402
from course.ui.testing import press_every_button  # noqa: E402

BAD_PAGE = """
import streamlit as st

@st.cache_data
def slow(n, _progress=None):
    _progress(0.5)          # a Streamlit element updated inside a cached function: the old lesson 05 pattern
    return n * 2

if st.button("Go", key="go"):
    bar = st.progress(0.0)
    st.write(slow(3, _progress=lambda f: bar.progress(f)))
"""

GOOD_PAGE = """
import streamlit as st
from course.ui.compute import cached_compute

def slow(n, progress=None):
    progress(0.5, "half way")
    return n * 2

if st.button("Go", key="go"):
    st.session_state["out"] = cached_compute(slow, 3, label="Working...")
if "out" in st.session_state:
    st.write(f"result {st.session_state['out']}")
"""


def test_press_every_button_catches_the_cache_replay_failure(tmp_path):
    bad, good = tmp_path / "bad.py", tmp_path / "good.py"
    bad.write_text(textwrap.dedent(BAD_PAGE))
    good.write_text(textwrap.dedent(GOOD_PAGE))
    compute.clear()
    with pytest.raises(AssertionError, match="press 2|session 2"):
        press_every_button(bad, timeout=60)
    assert press_every_button(good, timeout=60) == {"go": 4}


def test_cached_compute_runs_once_per_arguments_and_reports_progress(monkeypatch):
    compute.clear()
    calls, seen = [], []

    class Bar:  # stands in for st.progress outside a Streamlit run
        def progress(self, f, text=None):
            seen.append((f, text))

        def empty(self):
            seen.append("emptied")

    import streamlit as st

    monkeypatch.setattr(st, "progress", lambda *a, **k: Bar())

    def work(a, b=1, progress=None):
        calls.append((a, b))
        progress(2.0)  # clamped to 1
        return {"sum": a + b}

    assert compute.cached_compute(work, 1, b=2) == {"sum": 3}
    assert compute.cached_compute(work, 1, b=2) == {"sum": 3}
    assert compute.cached_compute(work, 2, b=2) == {"sum": 4}
    assert calls == [(1, 2), (2, 2)]
    assert (1.0, "Computing... 100%") in seen and seen.count("emptied") == 2
    assert compute.cached(work, 1, b=2) == (True, {"sum": 3}) and compute.cached(work, 9) == (False, None)
    with pytest.raises(TypeError, match="hashable"):
        compute.cached_compute(work, [1, 2])
    compute.clear()


def test_concurrent_sessions_compute_once(monkeypatch):
    compute.clear()
    import streamlit as st

    class Bar:
        def progress(self, *a, **k):
            pass

        def empty(self):
            pass

    monkeypatch.setattr(st, "progress", lambda *a, **k: Bar())
    calls, gate = [], threading.Event()

    def work(progress=None):
        calls.append(1)
        gate.wait(5)
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(compute.cached_compute(work))) for _ in range(3)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert results == [42, 42, 42] and calls == [1]
    compute.clear()


def test_legibility_flags_the_old_lesson_05_figures():
    fig, axes = plt.subplots(1, 12, figsize=(26.4, 2.4))  # 12 panels of 2.2 inches, 9-point titles
    for ax in axes:
        ax.imshow([[0, 1], [1, 0]])
        ax.set_title("p = 0.3", fontsize=9)
    assert any("px tall" in p for p in legibility_problems(fig, container_px=650))
    assert any("a panel" in p for p in legibility_problems(fig, container_px=650))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot([0, 1], [0, 1])
    ax.set_title("fine", fontsize=11)
    assert legibility_problems(fig) == []
    plt.close(fig)


def test_lesson_05_figures_are_legible():
    import torch

    from course.superposition import plots
    from course.superposition.phase import PhaseDiagram

    W, b, p = torch.randn(16, 2, 5), torch.randn(16, 5), torch.logspace(0, -2, 16)
    W20 = torch.randn(10, 5, 20)
    figs = [plots.geometry(W, p), plots.wtw_and_bias(W20, torch.randn(10, 20), p[:10]), plots.dimensionality(W20, p[:10]),
            plots.phase(PhaseDiagram(torch.logspace(-1, 1, 9), torch.logspace(-2, 0, 9), torch.randn(9, 9, 2),
                                     torch.randint(0, 4, (9, 9))))]
    for fig in figs:
        assert legibility_problems(fig) == [], fig
        plt.close(fig)
