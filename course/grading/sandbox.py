"""The grader's handle on a sandboxed worker (see `worker.py` for the other side).

`Sandbox.probe()` finds out once what this machine allows: a PID namespace and an empty network namespace via
`unshare` (util-linux), and, when running as root, dropping the learner's code to the user `nobody`. Where one
of them is missing the grader still works and the report says what was not available, and why:

    pid_namespace  nothing a submission starts (setsid, double fork) outlives its check
    network        the learner's code has no network at all
    user           the learner's code can't write the report or read files only root may read

Without a PID namespace the audit hook (which refuses fork/exec/spawn) and RLIMIT_NPROC hold the line, and
the process group is killed after each check.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sandbox:
    """What isolation this machine gives the worker."""

    unshare: tuple[str, ...]  # command prefix, () when not available
    pid_namespace: bool
    network_isolated: bool
    uid: int | None  # drop to this user (None: run as the grader's own user)
    gid: int | None
    user_note: str  # how the learner's code runs, in words

    def describe(self) -> dict:
        return {
            "pid_namespace": self.pid_namespace,
            "network": "none" if self.network_isolated else "not isolated",
            "user": self.user_note,
        }

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def probe() -> "Sandbox":
        prefix: tuple[str, ...] = ()
        pid_ns = net = False
        exe = shutil.which("unshare")
        if exe and os.environ.get("COURSE_SANDBOX_NO_NAMESPACES") != "1":
            for flags, has_net in ((("--pid", "--fork", "--kill-child", "--net"), True), (("--pid", "--fork", "--kill-child"), False)):
                try:
                    ok = subprocess.run([exe, *flags, "true"], capture_output=True, timeout=10).returncode == 0
                except (OSError, subprocess.SubprocessError):
                    ok = False
                if ok:
                    prefix, pid_ns, net = (exe, *flags), True, has_net
                    break
        uid = gid = None
        if os.geteuid() != 0:
            note = f"unchanged (the grader runs as {pwd.getpwuid(os.geteuid()).pw_name}, not root)"
        elif os.environ.get("COURSE_SANDBOX_NO_DROP") == "1":
            note = "root (privilege drop disabled by COURSE_SANDBOX_NO_DROP)"
        else:
            try:
                pw = pwd.getpwnam("nobody")
            except KeyError:
                pw = None
            if pw is None:
                note = "root (no user 'nobody' on this machine)"
            else:
                problem = _unreadable_for(pw.pw_uid, pw.pw_gid)
                if problem:
                    note = f"root (user nobody can't run Python here: {problem})"
                else:
                    uid, gid, note = pw.pw_uid, pw.pw_gid, "nobody"
        return Sandbox(prefix, pid_ns, net, uid, gid, note)


def _unreadable_for(uid: int, gid: int) -> str:
    """Empty if `uid` can run this interpreter and read the libraries; else what stands in the way."""
    import torch

    import course

    paths = [os.__file__, torch.__file__, course.__file__]
    code = "import sys\nfor p in sys.argv[1:]:\n    open(p, 'rb').close()\n"
    try:
        r = subprocess.run([sys.executable, "-I", "-S", "-c", code, *paths], user=uid, group=gid, extra_groups=[],
                           capture_output=True, text=True, timeout=30, cwd="/")
        if r.returncode == 0:
            return ""
        problem = (r.stderr.strip().splitlines() or ["?"])[-1]
    except (OSError, subprocess.SubprocessError) as e:
        problem = f"{type(e).__name__}: {e}"
    for p in [sys.executable, os.path.realpath(sys.executable), *paths]:  # name the first folder on the way that others can't enter
        blocked = [q for q in reversed(Path(p).parents) if q.exists() and not (q.stat().st_mode & 0o001)]
        if blocked:
            return f"{blocked[0]} is not searchable by other users (`chmod o+x {blocked[0]}` would allow it)"
    return problem[:300]


class WorkerDied(RuntimeError):
    pass


@dataclass
class Worker:
    """One fork server; it serves any number of submissions, one check at a time, and restarts if it dies."""

    sandbox: Sandbox
    forbidden: list[str]  # paths the learner's code may not read
    preload: list[str] = field(default_factory=list)
    memory: int = 4 << 30  # bytes a child may map beyond the worker's baseline
    fsize: int = 256 << 20  # largest file a child may write
    nproc: int = 512
    home: str = "/tmp"
    log: str = os.devnull
    blocked: list[str] = field(default_factory=list)  # modules the learner's code may not import
    guard: bool = True  # the audit hook; tests switch it off to prove the namespace and rlimits hold alone
    start_timeout: float = 180.0
    proc: subprocess.Popen | None = None
    info: dict = field(default_factory=dict)

    def start(self) -> None:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": self.home,
            "TMPDIR": self.home, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "", "MPLBACKEND": "Agg", "MPLCONFIGDIR": self.home, "COURSE_DEVICE": "cpu",
        }
        cmd = [*self.sandbox.unshare, sys.executable, "-I", "-m", "course.grading.worker"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                                         cwd=self.home, start_new_session=True, close_fds=True)
        cfg = {
            "forbidden": self.forbidden, "preload": self.preload,
            "memory": self.memory, "fsize": self.fsize, "nproc": self.nproc,
            "uid": self.sandbox.uid, "gid": self.sandbox.gid, "guard": self.guard, "blocked": self.blocked,
        }
        self._send(cfg)
        self.info = self._receive(self.start_timeout)
        if self.info.get("op") != "ready":
            raise WorkerDied(f"the worker did not start: {self.info}")

    def run(self, submission: str, directory: str, function: str, seed: int, timeout: float, cpu: float,
            probe: bool = False, after: str | None = None) -> dict:
        """Import `submission` and run one of its functions in a fresh child, with `directory` as its working
        folder (inputs in, results out); returns the worker's report (exit code, signal, timing). `after`: see
        `Check.after`."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self._send({"op": "run", "submission": submission, "dir": directory, "function": function, "seed": seed,
                    "timeout": timeout, "cpu": max(1, int(cpu)), "probe": probe, "after": after})
        # the worker enforces `timeout` itself; this margin only catches a worker that stopped answering
        return self._receive(timeout + 30)

    def _send(self, obj: dict) -> None:
        try:
            self.proc.stdin.write((json.dumps(obj) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            self.kill()
            raise WorkerDied(f"the worker is gone ({e})") from None

    def _receive(self, timeout: float) -> dict:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        buf = b""
        try:
            while not buf.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    raise WorkerDied(f"the worker did not answer within {timeout:.0f} s")
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    self.kill()
                    raise WorkerDied("the worker exited unexpectedly")
                buf += chunk
        finally:
            sel.close()
        return json.loads(buf)

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.proc = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._send({"op": "exit"})
                self.proc.wait(timeout=5)
            except (WorkerDied, subprocess.TimeoutExpired):
                pass
        self.kill()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
