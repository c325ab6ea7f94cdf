"""The circuit workbench in a real browser: `streamlit run apps/app.py` on the real lessons, headless Chromium
opens lesson 04's page, and the workbench (which measures scenenet's circuit on first use) finishes drawing
without an exception box. Slow (the first visit computes the circuit); skipped without Chromium unless
COURSE_REQUIRE_BROWSER=1. The server and browser helpers are tests/test_app_browser.py's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from test_app_browser import APP, EXCEPTION, RUNNING, find_chromium, free_port, rendered, wait_healthy

from course.lessons import REPO_ROOT


@pytest.mark.slow
def test_the_workbench_renders_in_a_browser(tmp_path):
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail("COURSE_REQUIRE_BROWSER=1 but no Chromium found")
        pytest.skip("no Chromium installed (apt-get install -y chromium)")
    port, log = free_port(), tmp_path / "server.log"
    env = dict(os.environ, COURSE_LESSONS_DIR=str(REPO_ROOT / "lessons"), COURSE_WORKSPACE=str(tmp_path / "ws"),
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
           "--server.fileWatcherType", "none", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        server = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_healthy(port, server, log)
        page = rendered(chromium, f"http://localhost:{port}/04_circuits", "The circuit workbench", tmp_path,
                        timeout=600)
        assert "04 · Circuits" in page, log.read_text()[-3000:]
        assert "The circuit workbench" in page and "strongest inputs" in page, log.read_text()[-3000:]
        assert RUNNING not in page, "the page never finished rendering"
        assert EXCEPTION not in page, "the page shows a Streamlit exception box"
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
