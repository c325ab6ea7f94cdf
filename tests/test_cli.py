"""The `course` command as learners and instructors use it: outputs, files, exit codes, friendly errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO_LESSONS = Path(__file__).resolve().parent / "demo" / "lessons"

REPO = Path(__file__).resolve().parents[1]


def course(*args, cwd=None, env=None, timeout=300):
    e = {**os.environ, "COURSE_LESSONS_DIR": str(DEMO_LESSONS), **(env or {})}
    return subprocess.run([sys.executable, "-m", "course", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=e, timeout=timeout, stdin=subprocess.DEVNULL)


def test_help_and_usage_errors():
    assert course("--help").returncode == 0
    p = course("frobnicate")
    assert p.returncode == 2 and "invalid choice" in p.stderr
    p = course("grade", "42", "x.py")
    assert p.returncode == 2 and "Unknown lesson '42'" in p.stderr and "99 (demo)" in p.stderr
    assert "Traceback" not in p.stderr


def test_list_shows_lessons_points_and_progress(tmp_path):
    p = course("list", "--dir", tmp_path)
    assert p.returncode == 0
    assert "99  Demo: tensor warm-ups" in p.stdout and "~15 min" in p.stdout and "11 points" in p.stdout
    assert "fit_line (2)" in p.stdout and "not checked yet" in p.stdout


def test_start_check_and_progress(tmp_path):
    ws = tmp_path / "ws"
    p = course("start", "99", "--dir", ws)
    assert p.returncode == 0 and (ws / "99_demo.py").read_text() == (DEMO_LESSONS / "99_demo" / "exercises.py").read_text()
    assert f"run `course check 99 --dir {ws}`" in p.stdout  # the exact next command, workspace included
    assert f"COURSE_WORKSPACE={ws} course app" in p.stdout
    (ws / "99_demo.py").write_text("# my precious work\n")
    p = course("start", "demo", "--dir", ws)
    assert p.returncode == 1 and f"`course start 99 --dir {ws} --force`" in p.stderr
    assert f"`course check 99 --dir {ws}`" in p.stderr
    assert (ws / "99_demo.py").read_text() == "# my precious work\n"  # nothing lost
    p = course("start", "99", "--dir", ws, "--force")
    assert p.returncode == 0
    backups = list(ws.glob("99_demo.py.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == "# my precious work\n"

    p = course("check", "99", "--dir", ws)
    assert p.returncode == 0 and "Total 0/11" in p.stdout and "NotImplementedError" in p.stdout
    (ws / "99_demo.py").write_text((DEMO_LESSONS / "99_demo" / "solutions.py").read_text())
    p = course("check", "99", "--dir", ws, "--seed", "5")
    assert p.returncode == 0 and "Total 11/11" in p.stdout and "seed 5" in p.stdout and "New best" in p.stdout
    assert "best 11/11" in course("list", "--dir", ws).stdout


def test_check_without_work_says_how_to_start(tmp_path):
    p = course("check", "99", "--dir", tmp_path)
    assert p.returncode == 2 and "course start 99" in p.stderr and "Traceback" not in p.stderr


def test_check_syntax_error_gives_line(tmp_path):
    f = tmp_path / "mine.py"
    f.write_text("import torch\n\ndef relu(x)\n    return x\n")
    p = course("check", "99", f)
    assert p.returncode == 0 and "SyntaxError on line 3" in p.stdout and "Total 0/11" in p.stdout


def test_grade_formats(tmp_path):
    sol, ex = DEMO_LESSONS / "99_demo" / "solutions.py", DEMO_LESSONS / "99_demo" / "exercises.py"
    p = course("grade", "99", sol, "--format", "json", "--out", tmp_path / "s.json", "--seed", "9")
    assert p.returncode == 0, p.stderr
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["score"] == s["max_score"] == 11 and s["seed"] == 9 and len(s["tests"]) == 10

    p = course("grade", "99", ex, "--format", "gradescope")
    g = json.loads(p.stdout)
    assert p.returncode == 0 and g["score"] == 0 and g["max_score"] == 11
    assert all(set(t) == {"name", "number", "score", "max_score", "status", "output", "visibility"} for t in g["tests"])

    p = course("grade", "99", sol, ex, "--format", "csv", "--jobs", "2")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert p.returncode == 0 and [r["score"] for r in rows] == ["11", "0"] and rows[0]["fit_line"] == "2"

    p = course("grade", "99", sol, ex, "--format", "gradescope", "--out", tmp_path / "gs")
    assert sorted(f.name for f in (tmp_path / "gs").iterdir()) == ["exercises.results.json", "solutions.results.json"]

    p = course("grade", "99", sol, ex, tmp_path / "missing.py")
    assert p.returncode == 2 and "missing.py" in p.stderr


def test_models_sync_train():
    p = course("models", "--json")
    assert p.returncode == 0 and isinstance(json.loads(p.stdout), list)
    p = course("sync", "--check")
    assert p.returncode == 0 and "in sync" in p.stdout
    p = course("train", "no-such-model")
    assert p.returncode == 2 and "No recipe named" in p.stderr


def test_contract_check_on_demo_lesson(tmp_path):
    """The shared contract checker (../shared/contract/check), pointed at the demo lesson."""
    check = REPO.parent / "shared" / "contract" / "check"
    if not check.is_file():
        pytest.skip("../shared/contract/check is not beside this checkout")
    (tmp_path / "lessons").symlink_to(DEMO_LESSONS)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "COURSE_LESSONS_DIR": str(DEMO_LESSONS), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    p = subprocess.run([sys.executable, str(check), "grade"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ok    grade lessons/99_demo/" in p.stdout


def test_app_stops_when_its_process_is_terminated(tmp_path):
    """`kill <pid of course app>` must stop the Streamlit server it started, not leave it serving the port."""
    import signal
    import socket
    import time
    import urllib.request

    script = tmp_path / "tiny_app.py"
    script.write_text("import streamlit as st\nst.write('hello')\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "COURSE_APP": str(script)}
    proc = subprocess.Popen([sys.executable, "-m", "course", "app", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        deadline = time.monotonic() + 90
        while not healthy():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-2000:]
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 15
        while healthy() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not healthy(), "the server still answers after `course app` was terminated"
    finally:
        if proc.poll() is None:
            proc.kill()
