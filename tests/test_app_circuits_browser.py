"""The circuit workbench in a real browser: `streamlit run apps/app.py` on the real lessons, headless Chromium
opens lesson 04's page, and the workbench (which measures scenenet's circuit on first use) finishes drawing
without an exception box. Slow (the first visit computes the circuit); skipped without Chromium unless
COURSE_REQUIRE_BROWSER=1. The server and browser helpers are tests/test_app_browser.py's."""

from __future__ import annotations

import pytest
from test_app_browser import EXCEPTION, RUNNING, need_chromium, rendered, serving

from course.lessons import REPO_ROOT


@pytest.mark.slow
def test_the_workbench_renders_in_a_browser(tmp_path):
    chromium = need_chromium()
    with serving(REPO_ROOT / "lessons", tmp_path) as (port, log):
        page = rendered(chromium, f"http://localhost:{port}/04_circuits", "The circuit workbench", tmp_path,
                        timeout=600)
        assert "04 · Circuits" in page, log.read_text()[-3000:]
        assert "The circuit workbench" in page and "strongest inputs" in page, log.read_text()[-3000:]
        assert RUNNING not in page, "the page never finished rendering"
        assert EXCEPTION not in page, "the page shows a Streamlit exception box"
