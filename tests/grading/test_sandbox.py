"""Each layer of the sandbox on its own: the PID namespace, the network namespace, the unprivileged user,
the resource limits and the audit hook. Layers this machine lacks are skipped, unless
COURSE_REQUIRE_SANDBOX=1 (CI sets it), when their absence fails the test."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from course.grading import codec
from course.grading import worker as W
from course.grading.sandbox import Sandbox, Worker

SUBMISSION = '''
import os, socket, subprocess, sys, time, torch

def whoami():
    return {"uid": os.geteuid(), "gid": os.getegid()}

def daemon(marker):
    # the classic escape: double fork + setsid, so the daemon is no child of anyone we know
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sh", ["sh", "-c", f"sleep 300; : {marker}"])
        os._exit(0)
    time.sleep(0.5)
    return 1

def network():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        return "connected"
    except OSError as e:
        return type(e).__name__

def allocate(gib):
    torch.ones(int(gib * 2**30), dtype=torch.uint8)
    return 1

def read(path):
    return open(path).read()[:20]

def write(path):
    open(path, "w").write("x")
    return 1
'''


def require(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("COURSE_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"{what} is required here (COURSE_REQUIRE_SANDBOX=1) but not available")
        pytest.skip(f"{what} is not available on this machine")


@pytest.fixture
def scratch():
    """A folder the unprivileged user can reach (pytest's tmp_path sits in a root-only folder)."""
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="course-test-", dir="/tmp"))
    os.chmod(d, 0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def run(scratch):
    """run(function, guard=True, **kwargs) -> (worker report, output or None, error dict)."""
    tmp_path = scratch
    sub = tmp_path / "submission.py"
    sub.write_text(SUBMISSION)
    os.chmod(sub, 0o644)
    sandbox = Sandbox.probe()
    workers: dict[bool, Worker] = {}
    counter = iter(range(1000))

    def call(function: str, guard: bool = True, timeout: float = 20, **kwargs):
        if guard not in workers:
            home = tmp_path / f"home{int(guard)}"
            home.mkdir(mode=0o700)
            if sandbox.uid is not None:
                os.chown(home, sandbox.uid, sandbox.gid)
            workers[guard] = Worker(sandbox, forbidden=[str(tmp_path / "secret")], home=str(home),
                                    memory=1 << 30, guard=guard)
        d = tmp_path / f"check{next(counter)}"
        d.mkdir(mode=0o700)
        codec.save(kwargs, d, "inputs")
        for f in d.iterdir():
            os.chmod(f, 0o644)
        if sandbox.uid is not None:
            os.chown(d, sandbox.uid, sandbox.gid)
        rep = workers[guard].run(str(sub), str(d), function, seed=0, timeout=timeout, cpu=timeout)
        try:
            out = codec.load(d, "output")
        except FileNotFoundError:
            out = None
        err = {}
        if (d / "error.json").exists():
            import json

            err = json.loads((d / "error.json").read_text())
        return rep, out, err

    yield call
    for w in workers.values():
        w.close()


def test_pid_namespace_kills_detached_daemons(run):
    require(Sandbox.probe().pid_namespace, "a PID namespace (unshare --pid)")
    marker = f"course-sandbox-daemon-{os.getpid()}"
    rep, out, err = run("daemon", guard=False, marker=marker)  # no audit hook: only the namespace stands
    assert rep["exit"] == W.EXIT_OK and out == 1, (rep, err)
    assert rep["stray"] >= 1  # the worker found and killed the daemon
    time.sleep(0.2)
    assert marker not in os.popen("ps -eo args").read()


def test_audit_hook_refuses_processes(run):
    rep, out, err = run("daemon", marker="never-started")
    assert rep["exit"] == W.EXIT_CALL and err["type"] == "PermissionError" and "os.fork" in err["message"]


def test_network_namespace_has_no_network(run):
    require(Sandbox.probe().network_isolated, "an empty network namespace (unshare --net)")
    rep, out, err = run("network", guard=False)
    assert out != "connected" and out in ("OSError", "TimeoutError", "ConnectionRefusedError", "gaierror"), out


def test_audit_hook_refuses_network(run):
    rep, out, err = run("network")
    assert out == "PermissionError"


def test_unprivileged_user(run, scratch):
    tmp_path = scratch
    sandbox = Sandbox.probe()
    require(sandbox.uid is not None or os.geteuid() != 0, f"dropping root to nobody ({sandbox.user_note})")
    rep, out, err = run("whoami", guard=False)
    assert out["uid"] != 0 and out["gid"] != 0
    # without the audit hook, the user alone keeps it from writing where the grader writes its report
    report_dir = tmp_path / "results"
    report_dir.mkdir(mode=0o755)
    rep, out, err = run("write", guard=False, path=str(report_dir / "results.json"))
    assert rep["exit"] == W.EXIT_CALL and err["type"] == "PermissionError"
    assert not (report_dir / "results.json").exists()


def test_memory_limit_without_hook(run):
    rep, out, err = run("allocate", guard=False, gib=30)
    assert rep["exit"] == W.EXIT_CALL and ("memory" in err["message"] or err["type"] == "MemoryError"), err


def test_audit_hook_refuses_lesson_files_and_writes(run, scratch):
    tmp_path = scratch
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "solutions.py").write_text("ANSWER = 42")
    os.chmod(secret / "solutions.py", 0o644)
    rep, out, err = run("read", path=str(secret / "solutions.py"))
    assert err.get("type") == "PermissionError" and "reference" in err["message"]
    link = tmp_path / "innocent.txt"
    link.symlink_to(secret / "solutions.py")
    rep, out, err = run("read", path=str(link))  # a symlink doesn't get around it
    assert err.get("type") == "PermissionError"
    rep, out, err = run("write", path=str(tmp_path / "elsewhere.txt"))
    assert err.get("type") == "PermissionError" and not (tmp_path / "elsewhere.txt").exists()


def test_timeout_kills_and_worker_keeps_serving(run):
    t = time.perf_counter()
    rep, out, err = run("allocate", timeout=0.5, gib=0.001)  # fine
    assert rep["exit"] == W.EXIT_OK
    rep, out, err = run("read", timeout=1, path="/dev/zero")  # never ends? open().read() of /dev/zero: endless
    assert rep["timed_out"] or rep["exit"] != W.EXIT_OK
    rep, out, err = run("whoami")
    assert rep["exit"] == W.EXIT_OK and "uid" in out
    assert time.perf_counter() - t < 30


def test_hostile_result_files_are_not_followed(tmp_path):
    (tmp_path / "output.json").symlink_to("/etc/passwd")
    with pytest.raises(codec.CodecError):
        codec.load(tmp_path, "output")
    os.mkfifo(tmp_path / "printed.txt")
    with pytest.raises(codec.CodecError):
        codec.read_capped(tmp_path / "printed.txt", 100)
