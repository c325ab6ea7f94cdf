"""Smoke test of the real app in a real browser: `streamlit run apps/app.py`, then headless Chromium.

AppTest (tests/test_app.py) runs the page scripts in-process; this test catches what only a browser sees: the
server starting, the frontend loading, the websocket session, pages rendering without an exception box.

Chromium's `--dump-dom` returns the DOM when the page goes idle, which can be before Streamlit has drawn
anything (the script runs over a websocket), so the page is dumped again until the expected text is there and
Streamlit's "running" indicator is gone (the script has finished), or a deadline passes.

Skipped when no Chromium is installed, unless COURSE_REQUIRE_BROWSER=1 (CI), where a missing browser fails.
Install one with `apt-get install -y chromium` (Debian) or point $CHROMIUM at a binary.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "apps" / "app.py"
DEMO_LESSONS = Path(__file__).resolve().parent / "demo" / "lessons"
HOME_TITLE = "Mechanistic interpretability, hands on"  # course.ui.homepage.TITLE
RUNNING = "stStatusWidgetRunning"  # Streamlit's "script running" indicator, present until the run ends
EXCEPTION = 'data-testid="stException"'


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited with status {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"the app did not answer on /_stcore/health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def dump_dom(chromium: str, url: str, profile: Path) -> str:
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url]
    browser = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)  # chromium's helper processes share its group
    try:
        return browser.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        return ""
    finally:
        if browser.poll() is None:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.communicate()


def rendered(chromium: str, url: str, expect: str, tmp: Path, timeout: float = 90) -> str:
    """The page's DOM once `expect` is shown and the script has finished (the last dump if that never happens)."""
    deadline, attempt, dom = time.monotonic() + timeout, 0, ""
    while time.monotonic() < deadline:
        attempt += 1
        dom = dump_dom(chromium, url, tmp / f"profile{attempt}")
        if expect in dom and RUNNING not in dom:
            break
        time.sleep(1)
    return dom


def need_chromium() -> str:
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail("COURSE_REQUIRE_BROWSER=1 but no Chromium found (apt-get install -y chromium, or set $CHROMIUM)")
        pytest.skip("no Chromium installed (apt-get install -y chromium); set COURSE_REQUIRE_BROWSER=1 to require it")
    return chromium


@contextlib.contextmanager
def serving(lessons: Path, tmp_path: Path, **extra_env: str):
    """`streamlit run apps/app.py` on a free port with `lessons` as the course's lessons (and `extra_env` in its
    environment); yields the port and the server's log. The other pages' browser tests use it too."""
    port, log = free_port(), tmp_path / "server.log"
    env = dict(os.environ, COURSE_LESSONS_DIR=str(lessons), COURSE_WORKSPACE=str(tmp_path / "workspace"),
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **extra_env)
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
           "--server.fileWatcherType", "none", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        server = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # its own process group, killed as a whole below
    try:
        wait_healthy(port, server, log)
        yield port, log
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.mark.slow  # ~2-5 min: a browser per lesson; test_app_renders_in_a_browser stays in the default suite
def test_every_lesson_page_opens_in_a_browser(tmp_path):
    """Each real lesson's page (its own interactive page where it has one) renders without an exception box."""
    from course.lessons import REPO_ROOT, all_lessons

    chromium = need_chromium()
    lessons = all_lessons(REPO_ROOT / "lessons")
    with serving(REPO_ROOT / "lessons", tmp_path) as (port, log):
        for lesson in lessons:
            dom = rendered(chromium, f"http://localhost:{port}/{lesson.slug}", "Check my work", tmp_path,
                           timeout=180)
            where = f"lesson {lesson.slug}; server log:\n{log.read_text()[-2000:]}"
            assert f"{lesson.id} · {lesson.title}" in dom, where
            assert RUNNING not in dom, "the page never finished rendering: " + where
            assert EXCEPTION not in dom, "the page shows a Streamlit exception box: " + where


def test_app_renders_in_a_browser(tmp_path):
    chromium = need_chromium()
    with serving(DEMO_LESSONS, tmp_path) as (port, log):

        home = rendered(chromium, f"http://localhost:{port}/", "99 · Demo: tensor warm-ups", tmp_path)
        assert HOME_TITLE in home, f"the home page's title is missing; server log:\n{log.read_text()[-3000:]}"
        assert "Demo: tensor warm-ups" in home  # the course map shows the demo lesson
        assert RUNNING not in home, "the home page never finished rendering"
        assert EXCEPTION not in home, "the home page shows a Streamlit exception box"

        lesson = rendered(chromium, f"http://localhost:{port}/99_demo", "Check my work", tmp_path)
        assert "This lesson exists to test" in lesson  # the README
        assert "Check my work" in lesson
        assert RUNNING not in lesson, "the lesson page never finished rendering"
        assert EXCEPTION not in lesson, "the lesson page shows a Streamlit exception box"
