"""Each layer of the sandbox on its own: Landlock, the private mounts, the PID and network namespaces, the
unprivileged user, the resource limits and the audit hook. Layers this machine lacks are skipped, unless
COURSE_REQUIRE_SANDBOX=1 (CI sets it), when their absence fails the test."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from course.grading import codec, landlock
from course.grading import confine as W
from course.grading.sandbox import Sandbox, Worker, warnings

REPO = Path(__file__).resolve().parents[2]

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

def read_at(folder, name):
    return os.read(os.open(name, os.O_RDONLY, dir_fd=os.open(folder, os.O_RDONLY | os.O_DIRECTORY)), 20).decode()

def write(path):
    open(path, "w").write("x")
    return 1

def fill(files, mib):
    made = 0
    try:
        for i in range(files):
            with open(f"f{i}", "wb") as f:
                f.write(b"x" * (mib << 20))
            made += 1
    except OSError as e:
        return [made, e.strerror]
    finally:
        for i in range(made + 1):
            if os.path.exists(f"f{i}"):
                os.remove(f"f{i}")
    return [made, ""]

def processes():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
'''


def require(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("COURSE_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"{what} is required here (COURSE_REQUIRE_SANDBOX=1) but not available")
        pytest.skip(f"{what} is not available on this machine")


@pytest.fixture(scope="module")
def scratch():
    d = Path(tempfile.mkdtemp(prefix="course-test-", dir="/tmp"))
    os.chmod(d, 0o711)
    secret = d / "secret"
    secret.mkdir()
    (secret / "solutions.py").write_text("ANSWER = 42")
    os.chmod(secret / "solutions.py", 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# the layer combinations under test: name -> (audit hook, Landlock, namespaces and mounts, drop to nobody)
CONFIGS = {
    "all": (True, True, True, True),
    "no-hook": (False, True, True, True),  # the kernel layers alone
    "landlock-only": (False, True, False, False),  # no namespaces, no user drop, no hook
    "mounts-only": (False, False, True, False),  # namespaces and mounts, uid 0 without capabilities, no hook
}


@pytest.fixture(scope="module")
def workers(scratch):
    made: dict[str, Worker] = {}
    yield made
    for w in made.values():
        w.close()


@pytest.fixture
def run(scratch, workers):
    """run(function, config="all", timeout=20, **kwargs) -> (worker report, output or None, error dict)."""
    def call(function: str, config: str = "all", timeout: float = 20, **kwargs):
        guard, use_landlock, namespaces, drop = CONFIGS[config]
        probe = Sandbox.probe()
        if config not in workers:
            sandbox = probe
            if not namespaces:
                sandbox = dataclasses.replace(sandbox, unshare=(), pid_namespace=False, network_isolated=False)
            if not drop:
                sandbox = dataclasses.replace(sandbox, uid=None, gid=None, user_note="root")
            w = Worker(sandbox, scratch=str(scratch), forbidden=[str(scratch / "secret"), str(REPO / "lessons")],
                       memory=1 << 30, disk=8 << 20, inodes=64, guard=guard, use_landlock=use_landlock)
            sub = scratch / f"sub-{config}"
            sub.mkdir(mode=0o711)
            (sub / "submission.py").write_text(SUBMISSION)
            os.chmod(sub / "submission.py", 0o644)
            (sub / "import").mkdir()
            if sandbox.uid is not None:
                os.chown(sub / "import", sandbox.uid, sandbox.gid)
            rep = w.open(f"sub-{config}/submission.py", "submission.py", len(SUBMISSION), f"sub-{config}/import", 0,
                         60, 60, 60)
            assert rep["exit"] == W.EXIT_OK, (rep, w.layers)
            workers[config] = w
        w = workers[config]
        d = Path(tempfile.mkdtemp(prefix=f"check-{config}-", dir=scratch))
        codec.save(kwargs, d, "inputs")
        for f in d.iterdir():
            os.chmod(f, 0o644)
        if w.sandbox.uid is not None:
            os.chown(d, w.sandbox.uid, w.sandbox.gid)
        rep = w.run(d.name, function, seed=0, timeout=timeout, cpu=timeout)
        try:
            out = codec.load(d, "output")
        except FileNotFoundError:
            out = None
        try:
            err = json.loads((d / "error.json").read_text())
        except (OSError, ValueError):
            err = {}
        return rep, out, err

    return call


def test_every_layer_is_in_force_and_reported(run, workers):
    run("whoami")
    layers = workers["all"].layers
    probe = Sandbox.probe()
    require(probe.landlock_abi > 0, "Landlock")
    require(probe.pid_namespace, "PID and mount namespaces (unshare)")
    assert layers["landlock"].startswith("ABI"), layers
    assert layers["mounts"].startswith("fresh /proc"), layers
    assert layers["import"] == "once per submission" and layers["audit_hook"] == "on"
    if os.geteuid() == 0:
        assert layers["user"] == "nobody", layers  # without chmod: the interpreter is bound where nobody can reach it
    assert warnings(layers) == []


def test_pid_namespace_kills_detached_daemons(run):
    require(Sandbox.probe().pid_namespace, "a PID namespace (unshare --pid)")
    marker = f"course-sandbox-daemon-{os.getpid()}"
    rep, out, err = run("daemon", config="no-hook", marker=marker)  # no audit hook: only the namespace stands
    assert rep["exit"] == W.EXIT_OK and out == 1, (rep, err)
    assert rep["stray"] >= 1  # the worker found and killed the daemon
    time.sleep(0.2)
    assert marker not in os.popen("ps -eo args").read()
    rep, out, err = run("processes", config="mounts-only")  # a fresh /proc: only the namespace's processes
    assert out is not None and len(out) <= 4 and 1 in out, out


def test_audit_hook_refuses_processes(run):
    rep, out, err = run("daemon", marker="never-started")
    assert rep["exit"] == W.EXIT_CALL and err["type"] == "PermissionError" and "os.fork" in err["message"]


def test_network_namespace_has_no_network(run):
    require(Sandbox.probe().network_isolated, "an empty network namespace (unshare --net)")
    rep, out, err = run("network", config="no-hook")
    assert out != "connected" and out in ("OSError", "TimeoutError", "ConnectionRefusedError", "gaierror",
                                          "PermissionError"), out


def test_audit_hook_refuses_network(run):
    rep, out, err = run("network")
    assert out == "PermissionError"


def test_unprivileged_user(run):
    sandbox = Sandbox.probe()
    require(sandbox.uid is not None or os.geteuid() != 0, f"dropping root to nobody ({sandbox.user_note})")
    rep, out, err = run("whoami", config="no-hook")
    assert out["uid"] != 0 and out["gid"] != 0


def test_memory_limit_without_hook(run):
    rep, out, err = run("allocate", config="no-hook", gib=30)
    assert rep["exit"] == W.EXIT_CALL and ("memory" in err["message"] or err["type"] == "MemoryError"), err


@pytest.mark.parametrize("config", ["no-hook", "landlock-only"])
def test_landlock_keeps_files_out_of_reach(run, scratch, config):
    """Without the audit hook: the kernel refuses the lesson's files by any route, and writes outside."""
    require(landlock.abi() > 0, "Landlock")
    secret = scratch / "secret" / "solutions.py"
    for function, kwargs in (("read", {"path": str(secret)}),
                             ("read_at", {"folder": str(scratch), "name": "secret/solutions.py"}),
                             ("read", {"path": str(REPO / "pyproject.toml")}),  # the clone: not the interpreter's
                             ("write", {"path": str(scratch / "elsewhere.txt")}),
                             ("write", {"path": str(REPO / "course" / "grading" / "planted.py")})):
        rep, out, err = run(function, config=config, **kwargs)
        assert out is None and err.get("type") in ("PermissionError", "FileNotFoundError", "OSError"), (function, kwargs, out, err)
    assert not (scratch / "elsewhere.txt").exists() and not (REPO / "course" / "grading" / "planted.py").exists()
    rep, out, err = run("whoami", config=config)  # and the interpreter still works
    assert rep["exit"] == W.EXIT_OK


def test_mounts_hide_files_cap_disk_and_are_read_only(run, scratch):
    """Without Landlock, the hook or the user drop (uid 0, no capabilities): the mount namespace alone."""
    require(Sandbox.probe().pid_namespace, "mount namespaces (unshare --mount)")
    rep, out, err = run("read", config="mounts-only", path=str(scratch / "secret" / "solutions.py"))
    assert out is None and err.get("type") == "FileNotFoundError", err  # /tmp is empty in here
    rep, out, err = run("write", config="mounts-only", path=str(REPO / "course" / "grading" / "planted.py"))
    assert out is None and "Read-only" in err.get("message", ""), err
    rep, out, err = run("whoami", config="mounts-only")
    assert out["uid"] == 0
    rep, out, err = run("fill", config="mounts-only", files=100, mib=1)  # the per-check tmpfs: 8 MiB, 64 files
    assert out is not None and out[0] < 9 and "No space" in out[1], out
    rep, out, err = run("fill", config="mounts-only", files=1000, mib=0)
    assert out is not None and out[0] < 64 and "No space" in out[1], out
    rep, out, err = run("fill", config="mounts-only", files=3, mib=1)  # a fresh folder for every check
    assert out == [3, ""], out


def test_audit_hook_refuses_lesson_files_and_writes(run, scratch):
    rep, out, err = run("read", path=str(scratch / "secret" / "solutions.py"))
    assert out is None and err.get("type") in ("PermissionError", "FileNotFoundError")
    rep, out, err = run("write", path=str(scratch / "elsewhere.txt"))
    assert err.get("type") == "PermissionError" and not (scratch / "elsewhere.txt").exists()


def test_timeout_kills_and_worker_keeps_serving(run):
    t = time.perf_counter()
    rep, out, err = run("allocate", timeout=5, gib=0.001)  # fine
    assert rep["exit"] == W.EXIT_OK
    rep, out, err = run("read", timeout=1, path="/dev/zero")  # open().read() of /dev/zero: endless
    assert rep["timed_out"] or rep["exit"] != W.EXIT_OK
    rep, out, err = run("whoami")
    assert rep["exit"] == W.EXIT_OK and "uid" in out
    assert time.perf_counter() - t < 60


def test_hostile_result_files_are_not_followed(tmp_path):
    (tmp_path / "output.json").symlink_to("/etc/passwd")
    with pytest.raises(codec.CodecError):
        codec.load(tmp_path, "output")
    os.mkfifo(tmp_path / "printed.txt")
    with pytest.raises(codec.CodecError):
        codec.read_capped(tmp_path / "printed.txt", 100)


def test_missing_layers_are_named_once_and_root_loudly(course_cli, tmp_path):
    full = {"pid_namespace": True, "network": "none", "mounts": "fresh /proc, ...", "landlock": "ABI 7: ...",
            "user": "nobody", "audit_hook": "on", "import": "once per submission"}
    assert warnings(full) == []
    weak = {**full, "landlock": "disabled", "user": "root with no capabilities"}
    said = warnings(weak)
    assert len(said) == 2 and "Landlock" in said[0] and said[1].startswith("THE LEARNER'S CODE RUNS AS ROOT")
    sol = REPO / "tests" / "demo" / "lessons" / "99_demo" / "solutions.py"
    subs = [tmp_path / "a.py", tmp_path / "b.py"]
    for s in subs:
        shutil.copyfile(sol, s)
    p = course_cli(["grade", "99", *subs, "--format", "csv"],
                   env={"COURSE_SANDBOX_NO_DROP": "1", "COURSE_SANDBOX_NO_LANDLOCK": "1"})
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("warning: no Landlock") == 1, p.stderr
    assert p.stderr.count("WARNING: THE LEARNER'S CODE RUNS AS ROOT") == 1, p.stderr
    assert p.stdout.count(",11,11,") == 2  # and it still grades
