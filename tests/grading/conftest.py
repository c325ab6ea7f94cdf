"""Fixtures for grading the way instructors and learners do: the `course` command as root and as an ordinary
user, on files in a folder any user can read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNPRIVILEGED_UID = 4242  # no passwd entry needed


@pytest.fixture(scope="module")
def public_dir():
    """A folder every user can read (pytest's tmp_path sits in a folder only root may enter)."""
    d = Path(tempfile.mkdtemp(prefix="course-test-public-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def course_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_SANDBOX_")}
    env.update({"COURSE_LESSONS_DIR": str(REPO / "tests" / "demo" / "lessons"), "OMP_NUM_THREADS": "1"})
    env.update(extra or {})
    return env


AS_USER = """
import os, sys
from course.grading import mounts
uid, argv = int(sys.argv[1]), sys.argv[2:]
import course
roots = [sys.prefix, sys.base_prefix, *[p for p in sys.path if p], os.path.dirname(course.__path__[0])]
mounts.make_reachable(roots)  # pyenv under /root (mode 700): bound where the user can reach it, in this namespace
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
os.execv(sys.executable, [sys.executable, "-m", "course", *argv])
"""


def run_course(args: list, as_user: bool = False, env: dict | None = None, timeout: float = 600,
               cwd: str | os.PathLike = "/tmp") -> subprocess.CompletedProcess:
    """`python -m course ARGS` as root, or as the unprivileged user UNPRIVILEGED_UID (from a private mount
    namespace in which the interpreter is reachable; the grader then sandboxes with a user namespace)."""
    args = [str(a) for a in args]
    env = course_env({"HOME": "/tmp", **(env or {})})
    if not as_user:
        cmd = [sys.executable, "-m", "course", *args]
    else:
        cmd = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", AS_USER,
               str(UNPRIVILEGED_UID), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def can_run_as_user() -> str:
    """Empty when this machine can grade as an unprivileged user here; else why not."""
    if os.geteuid() != 0:
        return "the tests do not run as root"
    if not shutil.which("unshare"):
        return "no unshare"
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    if p.returncode:
        return "no mount namespaces"
    p = subprocess.run(["setpriv", f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}", "--clear-groups",
                        "unshare", "--user", "--map-root-user", "true"], capture_output=True)
    if p.returncode:
        return "unprivileged user namespaces are not allowed here"
    return ""


@pytest.fixture(scope="module", params=["root", "user"])
def mode(request) -> str:
    """Grade as root, and as an unprivileged user where the machine allows (skipped, with the reason, if not)."""
    if request.param == "user":
        why = can_run_as_user()
        if why:
            if os.environ.get("COURSE_REQUIRE_SANDBOX") == "1" and os.geteuid() == 0:
                pytest.fail(f"grading as an unprivileged user is required here (COURSE_REQUIRE_SANDBOX=1): {why}")
            pytest.skip(why)
    return request.param


@pytest.fixture(scope="session")
def course_cli():
    """course_cli(args, as_user=False, env=None) -> CompletedProcess of `python -m course ARGS`."""
    return run_course


@pytest.fixture(scope="session")
def report_of():
    """report_of(completed_process) -> the JSON report it printed (a clear failure if it printed none)."""

    def load(p: subprocess.CompletedProcess):
        try:
            return json.loads(p.stdout)
        except ValueError:
            raise AssertionError(f"no JSON report (exit {p.returncode}): {p.stdout[-2000:]}\n{p.stderr[-3000:]}") from None

    return load
