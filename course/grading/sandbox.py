"""The grader's handle on a sandboxed worker (see `worker.py` for the other side, `confine.py` for the learner's).

`Sandbox.probe()` finds out once what this machine allows; the worker then reports which layers it put in
place (`Worker.layers`), and that is what the report's `sandbox` field says. The layers, strongest first:

    landlock       (kernel) the learner's process reads only the interpreter, its libraries and the submission,
                   and writes only its own per-check folder: no lesson file, answer module, classmate's work,
                   report or progress file, whatever path, descriptor or C library it uses
    mounts         (kernel, mount namespace) a fresh /proc, empty /tmp, the lesson and answer modules hidden,
                   every mount read-only, a per-check tmpfs capped in bytes and files
    pid_namespace  (kernel) nothing a submission starts outlives its check
    network        (kernel) no network at all
    user           `nobody` when grading as root (no chmod needed: the interpreter is bound where nobody can
                   reach it); otherwise uid 0 with every capability dropped
    audit hook     (Python, a second layer) no processes, signals, ctypes, sockets; no lesson files opened
    rlimits        memory, CPU seconds, file size, open files, processes

Where the kernel offers a layer the grader uses it; where it doesn't, `Grader.warnings()` says what is missing
(`course grade` and `course check` print it once), and grading as root behind weaker layers says so loudly.
Switches for tests and odd machines: COURSE_SANDBOX_NO_NAMESPACES=1, COURSE_SANDBOX_NO_DROP=1,
COURSE_SANDBOX_NO_LANDLOCK=1.
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

from course.grading import landlock

NAMESPACE_FLAGS = ("--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "--mount-proc")


@dataclass(frozen=True)
class Sandbox:
    """What isolation this machine offers the worker (the worker reports what it then put in place)."""

    unshare: tuple[str, ...]  # command prefix, () when not available
    pid_namespace: bool
    network_isolated: bool
    userns: bool  # the namespaces sit in a user namespace (grading as an ordinary user)
    uid: int | None  # drop to this user (None: keep the grader's own, without capabilities)
    gid: int | None
    landlock_abi: int
    user_note: str

    def describe(self) -> dict:
        return {
            "pid_namespace": self.pid_namespace,
            "network": "none" if self.network_isolated else "not isolated",
            "user": self.user_note,
            "landlock": f"ABI {self.landlock_abi}" if self.landlock_abi else "not available",
        }

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def probe() -> "Sandbox":
        prefix: tuple[str, ...] = ()
        pid_ns = net = userns = False
        exe = shutil.which("unshare")
        root = os.geteuid() == 0
        if exe and os.environ.get("COURSE_SANDBOX_NO_NAMESPACES") != "1":
            user = () if root else ("--user", "--map-root-user")
            for flags, has_net in (((*user, *NAMESPACE_FLAGS, "--net"), True), ((*user, *NAMESPACE_FLAGS), False)):
                try:
                    ok = subprocess.run([exe, *flags, "true"], capture_output=True, timeout=10).returncode == 0
                except (OSError, subprocess.SubprocessError):
                    ok = False
                if ok:
                    prefix, pid_ns, net, userns = (exe, *flags), True, has_net, not root
                    break
        uid = gid = None
        if not root:
            note = f"unchanged (the grader runs as {_name(os.geteuid())}, not root)"
        elif os.environ.get("COURSE_SANDBOX_NO_DROP") == "1":
            note = "root (privilege drop disabled by COURSE_SANDBOX_NO_DROP)"
        else:
            try:
                pw = pwd.getpwnam("nobody")
                uid, gid, note = pw.pw_uid, pw.pw_gid, "nobody"
            except KeyError:
                note = "root (no user 'nobody' on this machine)"
        return Sandbox(prefix, pid_ns, net, userns, uid, gid, landlock.abi(), note)


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def warnings(layers: dict) -> list[str]:
    """What a worker's layers lack, in words (empty when everything is in force)."""
    out = []
    if not str(layers.get("landlock", "")).startswith("ABI"):
        out.append(f"no Landlock ({layers.get('landlock')}): the learner's code can read any file its user can "
                   "(the audit hook, a Python-level check, is the only guard of the lesson files)")
    if str(layers.get("mounts", "none")).startswith("none"):
        out.append(f"no private mounts ({layers.get('mounts')}): no per-check disk cap beyond the file size, "
                   "and the host's /proc and /tmp are visible")
    if not layers.get("pid_namespace"):
        out.append("no PID namespace: processes a submission starts are killed by process group only")
    if layers.get("network") != "none":
        out.append("no network namespace: the learner's code may reach the network (the audit hook refuses sockets)")
    if str(layers.get("user", "")).startswith("root"):
        out.append("THE LEARNER'S CODE RUNS AS ROOT (without capabilities): " + str(layers.get("user"))
                   + ". Grade as an ordinary user, or make sure the user nobody exists and Landlock is available.")
    return out


class WorkerDied(RuntimeError):
    pass


@dataclass
class Worker:
    """One fork server: any number of submissions (one open at a time), one check at a time."""

    sandbox: Sandbox
    scratch: str  # the grader's folder for submissions, inputs and results (hidden from the learner)
    forbidden: list[str]  # paths the learner's code may not read (the lesson folder, answer modules)
    protect: list[str] = field(default_factory=list)  # more paths to hide: reports, progress files, submissions
    preload: list[str] = field(default_factory=list)
    memory: int = 4 << 30  # bytes a child may map beyond the worker's baseline
    fsize: int = 256 << 20  # largest file a child may write
    disk: int = 512 << 20  # bytes a check may write in all (private mounts only)
    inodes: int = 4096  # files and folders a check may create (private mounts only)
    nproc: int = 512
    log: str = os.devnull
    blocked: list[str] = field(default_factory=list)  # modules the learner's code may not import
    guard: bool = True  # the audit hook; tests switch it off to prove the kernel layers hold alone
    use_landlock: bool = True
    start_timeout: float = 180.0
    proc: subprocess.Popen | None = None
    info: dict = field(default_factory=dict)

    @property
    def layers(self) -> dict:
        """What this worker put in place (after `start`)."""
        lay = dict(self.info.get("layers", {}))
        out = {"pid_namespace": lay.get("pid_namespace", self.sandbox.pid_namespace),
               "network": "none" if self.sandbox.network_isolated else "not isolated"}
        out.update({k: v for k, v in lay.items() if k not in ("uid", "reachable", "pid_namespace")})
        return out

    def start(self) -> None:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "", "MPLBACKEND": "Agg", "COURSE_DEVICE": "cpu",
        }
        if self.sandbox.uid is None:
            env["TMPDIR"] = self.scratch
        cmd = [*self.sandbox.unshare, sys.executable, "-I", "-m", "course.grading.worker"]
        scratch_fd = os.open(self.scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                                             cwd="/", start_new_session=True, close_fds=True, pass_fds=(scratch_fd,))
        finally:
            os.close(scratch_fd)
        cfg = {
            "scratch": os.path.realpath(self.scratch), "scratch_fd": scratch_fd, "forbidden": self.forbidden,
            "protect": self.protect, "preload": self.preload, "memory": self.memory, "fsize": self.fsize,
            "disk": self.disk, "inodes": self.inodes, "nproc": self.nproc, "uid": self.sandbox.uid,
            "gid": self.sandbox.gid, "guard": self.guard, "blocked": self.blocked, "mounts": self.sandbox.pid_namespace,
            "landlock": self.use_landlock and self.sandbox.landlock_abi > 0, "userns": self.sandbox.userns,
        }
        self._send(cfg)
        self.info = self._receive(self.start_timeout)
        if self.info.get("op") != "ready":
            raise WorkerDied(f"the worker did not start: {self.info}")

    def _ensure(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def open(self, submission: str, name: str, size: int, directory: str, seed: int, timeout: float, cpu: float,
             cpu_max: float) -> dict:
        """Take `submission` (relative to scratch) and import it once in the sandbox; results land in
        `directory` (names.json, or error.json); returns the worker's report."""
        self._ensure()
        self._send({"op": "open", "submission": submission, "name": name, "size": size, "dir": directory,
                    "seed": seed, "timeout": timeout, "cpu": max(1, int(cpu)), "cpu_max": max(1, int(cpu_max))})
        return self._receive(timeout + 30)

    def run(self, directory: str, function: str, seed: int, timeout: float, cpu: float,
            after: str | None = None) -> dict:
        """Run one function of the open submission on the inputs in `directory` (relative to scratch), in a
        fresh confined process; the results land there too. Returns the worker's report (exit, timing).
        `after`: see `Check.after`."""
        if self.proc is None or self.proc.poll() is not None:
            raise WorkerDied("the worker is gone")
        self._send({"op": "run", "dir": directory, "function": function, "seed": seed, "timeout": timeout,
                    "cpu": max(1, int(cpu)), "after": after})
        return self._receive(timeout + 30)  # the worker enforces `timeout`; this margin catches a stuck worker

    def end(self) -> dict:
        """Close the open submission (its processes killed, its files gone)."""
        if self.proc is None or self.proc.poll() is not None:
            return {}
        self._send({"op": "close"})
        return self._receive(30)

    def _send(self, obj: dict) -> None:
        try:
            self.proc.stdin.write((json.dumps(obj) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, AttributeError) as e:
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
