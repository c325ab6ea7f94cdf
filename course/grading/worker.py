"""The sandboxed side of the autograder: a fork server that runs learners' functions in confined processes.

Started by `sandbox.Worker` as `python -I -m course.grading.worker` with a scrubbed environment, where the
machine allows inside fresh PID, network and mount namespaces (`unshare ... --mount-proc`), where it is root
(or a user's root in a user namespace). It never runs learner code itself. At start it:

  * imports torch and the course's transport code, then reshapes its mount namespace (`mounts.py`): a fresh
    /proc (only its own processes: no classmate's command line), empty read-only /tmp and friends, the lesson
    folder, the answer modules, the report's destination and the progress file hidden, and the interpreter's
    folders made reachable by `nobody` without touching permissions on the host;
  * prepares the Landlock rules (`landlock.py`): read the interpreter, its libraries and the submission; write
    only the check's own folder. Rules are opened once here and inherited by each confined process;
  * preloads the lesson's imports and builds a first optimizer, so checks start warm.

Per submission (`open`) it copies the file into a private tmpfs and, where the kernel layers are all there (PID
namespace and Landlock), forks a confined *zygote* that imports the submission once; each check (`run`) is
then a fork of the zygote, in a fresh tmpfs capped in bytes and files, so a slow import is paid once, every
check starts from the same just-imported state, and nothing a check writes survives it. Without those layers
each check's process is forked from this server and imports the submission itself (the audit hook is then a
main layer, and it refuses forks). After each check everything else in the namespace is killed.

Protocol: one JSON object per line on stdin (commands) and stdout (replies). Paths in commands are relative to
the grader's scratch folder, opened once at start (it is hidden from the learner's processes).
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import stat
import sys
import time

from course.grading import confine as C

PRIVATE = "/tmp/course"  # in the worker's own /tmp (private mode only)
SUB = PRIVATE + "/sub"  # per-submission tmpfs: the learner's file
RUN = PRIVATE + "/run"  # holds WORK only: Landlock's write rule sits here (rules don't cross mount points)
WORK = RUN + "/work"  # per-check tmpfs, capped: the learner's working folder
INPUT_FILES = ("inputs.json", "inputs.safetensors")
RESULT_FILES = ("output.json", "output.safetensors", "error.json", "printed.txt", "names.json")
PRINTED_COPY = 1 << 16  # of printed.txt, only this much is copied back (its full size goes in the reply)
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", "/etc/localtime", "/etc/passwd",
               "/etc/group", "/etc/nsswitch.conf", "/sys/devices/system/cpu", "/proc/cpuinfo", "/proc/meminfo")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


class Server:
    def __init__(self, cfg: dict, reply) -> None:
        self.cfg, self.reply = cfg, reply
        # the grader's scratch folder, opened by the grader outside our namespace (so it stays writable for us
        # after everything here turns read-only, and reachable after /tmp is covered)
        fd = cfg.get("scratch_fd")
        self.root_fd = fd if isinstance(fd, int) and fd > 2 else os.open(cfg["scratch"], os.O_RDONLY | os.O_DIRECTORY)
        self.private = False
        self.sub = ""  # the submission's path as the learner's process sees it
        self.zygote: int | None = None
        self.to_z = self.from_z = -1
        self.zbuf = b""
        self.open_cmd: dict = {}
        self.layers: dict = {}

    # ------------------------------------------------------------------------------------ start-up

    def setup(self) -> None:
        cfg = self.cfg
        from course.grading import landlock, mounts

        os.umask(0o022)
        notes: dict = {}
        clock = time.perf_counter
        self.timings, t = {}, clock()
        pid_ns = os.getpid() == 1
        blocked = tuple(cfg.get("blocked", ()))
        for name in cfg.get("preload", []):  # while /tmp is still there (torch's compiler asks for it at import)
            before = set(sys.modules)
            try:
                importlib.import_module(name)
            except Exception as e:  # noqa: BLE001 - a missing optional module is the learner's problem later
                cfg.setdefault("failed", []).append(f"{name}: {type(e).__name__}")
            pulled = [m for m in set(sys.modules) - before if any(m == b or m.startswith(b + ".") for b in blocked)]
            if pulled:  # it imports an answer module: keep neither in memory (the learner can't import it either)
                for m in set(sys.modules) - before:
                    sys.modules.pop(m, None)
                cfg.setdefault("failed", []).append(f"{name}: imports {pulled[0]}")
        self.timings["preload_s"] = clock() - t
        _warm_up()
        self.timings["warm_up_s"] = clock() - t - self.timings["preload_s"]
        t = clock()
        roots = _read_roots()
        hidden: list[str] = []
        if cfg.get("mounts") and pid_ns:
            try:
                if cfg.get("uid") is not None:
                    notes["reachable"] = mounts.make_reachable(roots)
                mounts.private_tmp([SUB, WORK], roots)
                for p in dict.fromkeys([*cfg["forbidden"], *cfg.get("protect", []), cfg["scratch"]]):
                    p = os.path.realpath(p)
                    if p == "/" or any(r == p or r.startswith(p.rstrip("/") + "/") for r in roots):
                        continue  # hiding it would hide the interpreter: Landlock covers it
                    if mounts.hide(p):
                        hidden.append(p)
                try:
                    mounts.readonly_everything()
                    notes["readonly"] = True
                except OSError:
                    notes["readonly"] = False
                self.private = True
            except OSError as e:
                notes["mounts"] = f"none ({e})"
        cfg["private"] = self.private
        self.timings["mounts_s"], t = clock() - t, clock()

        version = landlock.abi() if cfg.get("landlock", True) else 0
        cfg["landlock"] = 0
        if version:
            rules = []
            denied = [*cfg["forbidden"], *cfg.get("protect", []), cfg["scratch"]]
            wanted = [(p, a) for p, a in landlock.split_around(roots, denied)]
            wanted += [(p, landlock.READ) for p in SYSTEM_READ]
            wanted += [(p, landlock.READ_FILE | landlock.WRITE_FILE | landlock.TRUNCATE | landlock.IOCTL_DEV) for p in DEVICES]
            if self.private:
                wanted += [(PRIVATE, landlock.READ), (RUN, landlock.WRITE)]
            for path, access in wanted:
                try:
                    fd, is_dir = landlock.fd_of(path)
                except OSError:
                    continue
                rules.append((fd, access, is_dir))
            problem = _try_landlock(rules, version)
            if problem:  # offered by the kernel but refused here (a seccomp filter, a container): say so
                for fd, _, _ in rules:
                    os.close(fd)
                notes["landlock"] = f"not usable here ({problem})"
            else:
                cfg["rules"], cfg["landlock"] = rules, version
        else:
            notes["landlock"] = "not available on this kernel" if cfg.get("landlock", True) else "disabled"

        self.timings["landlock_s"], t = clock() - t, clock()
        user = "unchanged"
        if cfg.get("uid") is not None:
            problem = _try_user(cfg["uid"], cfg["gid"])
            if problem:
                cfg["uid"] = cfg["gid"] = None
                user = f"root with no capabilities (user nobody can't run Python here: {problem})"
            else:
                user = "nobody"
        elif os.geteuid() == 0:
            user = "root with no capabilities" + (" (in a user namespace: your own user outside)" if cfg.get("userns") else "")
        self.timings["user_s"] = clock() - t
        cfg["zygote"] = bool(pid_ns and self.private and cfg["landlock"])
        cfg["baseline_vm"] = _vm_size()
        self.layers = {
            "pid_namespace": pid_ns,
            "mounts": (f"fresh /proc, empty /tmp, {len(hidden)} lesson/answer/report paths hidden, "
                       + ("every other mount read-only, " if notes.get("readonly") else "")
                       + f"{cfg['disk'] >> 20} MiB and {cfg['inodes']} files per check") if self.private
                      else notes.get("mounts", "none (no mount namespace)"),
            "landlock": (f"ABI {cfg['landlock']}: reads only the interpreter, its libraries and the submission; "
                         "writes only the check's folder") if cfg["landlock"] else notes["landlock"],
            "user": user,
            "audit_hook": "on" if cfg.get("guard", True) else "off",
            "import": "once per submission" if cfg["zygote"] else "once per check",
            "uid": cfg.get("uid"),
            "reachable": notes.get("reachable", []),
        }

    # ------------------------------------------------------------------------------------ submissions

    def open(self, cmd: dict) -> dict:
        """Take a new submission: copy it in, and import it once (in the zygote, or in a probe process)."""
        self.close()
        self.open_cmd = cmd
        name = os.path.basename(cmd["name"]) or "submission.py"
        if self.private:
            from course.grading import mounts

            mounts.tmpfs(SUB, max(cmd.get("size", 1 << 20) * 2, 1 << 20), 8, mode=0o755)
            self.sub = os.path.join(SUB, name)
            _copy(self.root_fd, cmd["submission"], self.sub, cmd.get("size", 1 << 20) + 1)
            os.chmod(self.sub, 0o644)
        else:
            self.sub = os.path.join(self.cfg["scratch"], cmd["submission"])
        if self.cfg["zygote"]:
            return self._start_zygote(cmd)
        return self._one_shot({**cmd, "function": "", "probe": True})

    def close(self) -> None:
        if self.zygote is not None:
            self._kill_zygote()
        if self.private and self.sub:
            from course.grading import mounts

            for p in (WORK, SUB):
                try:
                    mounts.umount(p)
                except OSError:
                    pass
        self.sub = ""

    def run(self, cmd: dict) -> dict:
        if not self.sub:
            return {"op": "done", "exit": C.EXIT_INTERNAL, "error": "no submission is open"}
        if self.cfg["zygote"]:
            if self.zygote is None:  # it died (a timeout, a crash): import again, quietly
                rep = self._start_zygote({**self.open_cmd, "dir": ""})
                if rep.get("exit") != C.EXIT_OK:
                    return {**rep, "exit": C.EXIT_IMPORT if rep.get("exit") is not None else None}
            return self._zygote_run(cmd)
        return self._one_shot(cmd)

    # ------------------------------------------------------------------------------------ per-check processes

    def _workdir(self, cmd: dict) -> str:
        """A fresh, capped working folder holding the check's inputs (private mode), or the grader's own."""
        if not self.private:
            return os.path.join(self.cfg["scratch"], cmd["dir"])
        from course.grading import mounts

        try:
            mounts.umount(WORK)
        except OSError:
            pass
        uid = self.cfg["uid"] if self.cfg["uid"] is not None else 0
        gid = self.cfg["gid"] if self.cfg["gid"] is not None else 0
        mounts.tmpfs(WORK, self.cfg["disk"], self.cfg["inodes"], mode=0o700, uid=uid, gid=gid)
        if cmd.get("dir"):
            for f in INPUT_FILES:
                try:
                    _copy(self.root_fd, os.path.join(cmd["dir"], f), os.path.join(WORK, f), self.cfg["fsize"])
                except FileNotFoundError:
                    pass
        return WORK

    def _collect(self, cmd: dict, rep: dict) -> dict:
        """Copy what the check left (result files only, regular files, capped) back to the grader's folder."""
        t = time.perf_counter()
        work = WORK if self.private else os.path.join(self.cfg["scratch"], cmd.get("dir", ""))
        try:
            rep["printed_size"] = os.lstat(os.path.join(work, "printed.txt")).st_size
        except OSError:
            rep["printed_size"] = 0
        if self.private:
            try:  # a full folder: the learner's code may not even have been able to write error.json
                st = os.statvfs(WORK)
                rep["disk_full"] = st.f_bavail * st.f_frsize < (64 << 10) or st.f_favail < 4
            except OSError:
                pass
        if self.private and cmd.get("dir"):
            for f in RESULT_FILES:
                cap = PRINTED_COPY if f == "printed.txt" else self.cfg["fsize"]
                try:
                    _copy(None, os.path.join(WORK, f), (self.root_fd, os.path.join(cmd["dir"], f)), cap, truncate=True)
                except OSError:
                    pass
        rep["fds"] = len(os.listdir("/proc/self/fd"))
        rep["phases"] = {**getattr(self, "phases", {}), "collect_s": time.perf_counter() - t}
        self.phases = {}
        return rep

    def _one_shot(self, cmd: dict) -> dict:
        """A process forked from this server that imports the submission and runs one function (or only
        imports it: `probe`)."""
        work = self._workdir(cmd)
        t = time.perf_counter()
        _flush()
        pid = os.fork()
        if pid == 0:
            code = C.EXIT_INTERNAL
            try:
                sub = os.path.realpath(self.sub)
                C.confine(self.cfg, work, sub, cmd["cpu"], cmd["cpu"])
                if self.cfg.get("guard", True):
                    C.install_guard((work,), tuple(self.cfg["forbidden"] + self.cfg.get("protect", [])))
                C.block_imports(tuple(self.cfg.get("blocked", ())))
                C.seed_everything(cmd["seed"])
                code = C.EXIT_IMPORT
                module = C.load_submission(sub, work)
                if cmd.get("probe"):
                    C.write_names(module, work)
                    code = C.EXIT_OK
                else:
                    code = C.call(module, cmd, work, sub)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else code
            except BaseException as e:  # noqa: BLE001
                C.write_error(work, "internal", e, message=f"{type(e).__name__}: {e}")
            finally:
                C.flush()
                os._exit(code)
        status, cpu, rss, timed_out = _wait(pid, float(cmd["timeout"]))
        stray = _sweep(pid)
        rep = _report(status, cpu, rss, timed_out, time.perf_counter() - t, stray)
        return self._collect(cmd, rep)

    # ------------------------------------------------------------------------------------ the zygote

    def _start_zygote(self, cmd: dict) -> dict:
        work = self._workdir({"dir": ""})
        t = time.perf_counter()
        to_z_r, to_z_w = os.pipe()
        from_z_r, from_z_w = os.pipe()
        _flush()
        pid = os.fork()
        if pid == 0:
            os.close(to_z_w)
            os.close(from_z_r)
            _zygote(self.cfg, cmd, self.sub, to_z_r, from_z_w)  # never returns
        os.close(to_z_r)
        os.close(from_z_w)
        self.zygote, self.to_z, self.from_z, self.zbuf = pid, to_z_w, from_z_r, b""
        msg = self._from_zygote(float(cmd["timeout"]))
        if msg is not None and msg.get("op") == "imported":
            rep = _report(None, msg.get("cpu_s", 0.0), msg.get("rss", 0), False, time.perf_counter() - t, _sweep(0, spare=pid))
            rep["exit"] = C.EXIT_OK
        else:
            timed_out = msg is None and self._zygote_alive()
            status = self._kill_zygote()
            rep = _report(None if timed_out else status, 0.0, 0, timed_out, time.perf_counter() - t, _sweep(0))
        return self._collect(cmd, rep)

    def _zygote_run(self, cmd: dict) -> dict:
        t0 = time.perf_counter()
        self._workdir(cmd)
        t = time.perf_counter()
        self.phases = {"setup_s": t - t0}
        try:
            os.write(self.to_z, (json.dumps({"function": cmd["function"], "seed": cmd["seed"], "cpu": cmd["cpu"],
                                               "after": cmd.get("after")}) + "\n").encode())
        except OSError:
            self._kill_zygote()
            return self._collect(cmd, _report(None, 0, 0, False, time.perf_counter() - t, 0))
        deadline = time.monotonic() + float(cmd["timeout"])
        child, msg = None, None
        while True:
            msg = self._from_zygote(deadline - time.monotonic())
            if msg is None or msg.get("op") != "started":
                break
            child = msg.get("pid") if isinstance(msg.get("pid"), int) and msg["pid"] > 1 else None
        timed_out = False
        if msg is None and self._zygote_alive():  # still running at the deadline
            timed_out = True
            if child is not None and child != self.zygote:
                _kill(child)
                msg = self._from_zygote(2.0)
        self.phases["run_s"] = time.perf_counter() - t
        stray = _sweep(0, spare=self.zygote) if self.zygote is not None else _sweep(0)
        self.phases["sweep_s"] = time.perf_counter() - t - self.phases["run_s"]
        if msg is None or msg.get("op") != "done":
            self._kill_zygote()
            rep = _report(None, 0.0, 0, timed_out, time.perf_counter() - t, stray)
            rep["exit"], rep["signal"] = None, (signal.SIGKILL if timed_out else None)
            return self._collect(cmd, rep)
        rep = {"op": "done", "timed_out": timed_out, "wall_s": time.perf_counter() - t, "stray": stray}
        for k, kind in (("exit", int), ("signal", int), ("cpu_s", float), ("max_rss_mb", float)):
            v = msg.get(k)
            rep[k] = v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        if isinstance(rep["exit"], int) and rep["exit"] == C.EXIT_IMPORT:
            rep["exit"] = C.EXIT_INTERNAL  # can't happen (imported already): a lying zygote
        return self._collect(cmd, rep)

    def _from_zygote(self, timeout: float) -> dict | None:
        """The zygote's next message (it is untrusted: bounded in time and size); None on timeout or its end."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while b"\n" not in self.zbuf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_z], [], [], left)[0]:
                return None
            try:
                chunk = os.read(self.from_z, 4096)
            except OSError:
                chunk = b""
            if not chunk or len(self.zbuf) > 1 << 16:
                return {"op": "gone"}
            self.zbuf += chunk
        line, _, self.zbuf = self.zbuf.partition(b"\n")
        try:
            msg = json.loads(line)
            return msg if isinstance(msg, dict) else {"op": "garbled"}
        except ValueError:
            return {"op": "garbled"}

    def _zygote_alive(self) -> bool:
        if self.zygote is None:
            return False
        try:
            pid, _ = os.waitpid(self.zygote, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid:
            self.zygote = None
            return False
        return True

    def _kill_zygote(self) -> int | None:
        status = None
        if self.zygote is not None:
            _kill(self.zygote)
            try:
                _, status = os.waitpid(self.zygote, 0)
            except ChildProcessError:
                pass
        for fd in (self.to_z, self.from_z):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.zygote, self.to_z, self.from_z, self.zbuf = None, -1, -1, b""
        return status


def _zygote(cfg: dict, cmd: dict, sub: str, commands: int, replies: int) -> None:
    """The confined process that imports one submission and forks a process per check. Never returns.
    Everything here after the import is untrusted: the server treats its messages as the learner's."""
    code = C.EXIT_INTERNAL
    try:
        C.confine(cfg, WORK, sub, cmd["cpu"], cmd.get("cpu_max", cmd["cpu"]), keep=(commands, replies))
        permit = C.install_guard((WORK,), tuple(cfg["forbidden"] + cfg.get("protect", []))) if cfg.get("guard", True) else (lambda: None)
        C.block_imports(tuple(cfg.get("blocked", ())))
        C.seed_everything(cmd["seed"])
        code = C.EXIT_IMPORT
        module = C.load_submission(sub, WORK)
        C.write_names(module, WORK)
        C.flush()
        send = lambda obj: os.write(replies, (json.dumps(obj) + "\n").encode())  # noqa: E731
        import resource

        ru = resource.getrusage(resource.RUSAGE_SELF)
        send({"op": "imported", "cpu_s": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss})
        buf = b""
        while True:
            while b"\n" not in buf:
                chunk = os.read(commands, 4096)
                if not chunk:
                    os._exit(0)
                buf += chunk
            line, _, buf = buf.partition(b"\n")
            job = json.loads(line)
            permit()
            pid = os.fork()
            if pid == 0:
                os.close(commands)
                os.close(replies)
                code = C.EXIT_INTERNAL
                try:
                    C.redirect_output(WORK)
                    resource.setrlimit(resource.RLIMIT_CPU, (max(1, int(job["cpu"])), resource.getrlimit(resource.RLIMIT_CPU)[1]))
                    code = C.call(module, job, WORK, sub)
                except BaseException as e:  # noqa: BLE001
                    C.write_error(WORK, "internal", e, message=f"{type(e).__name__}: {e}")
                finally:
                    C.flush()
                    os._exit(code)
            send({"op": "started", "pid": pid})
            _, status, ru = os.wait4(pid, 0)
            send({"op": "done", "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                  "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  "cpu_s": ru.ru_utime + ru.ru_stime, "max_rss_mb": ru.ru_maxrss / 1024})
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else code
    except BaseException as e:  # noqa: BLE001
        C.write_error(WORK, "internal", e, message=f"{type(e).__name__}: {e}")
    finally:
        C.flush()
        os._exit(code)


# ---------------------------------------------------------------------------------------------- helpers


def _copy(src_dir_fd: int | None, src: str, dest, cap: int, truncate: bool = False) -> None:
    """Copy a regular file without following links, at most `cap` bytes (more: an error unless `truncate`).
    `dest` is a path, or (dir_fd, relative path)."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=src_dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{src} is not a regular file")
        dfd, dpath = (None, dest) if isinstance(dest, str) else dest
        out = os.open(dpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=dfd)
        try:
            left = cap
            while left > 0:
                b = os.read(fd, min(left, 1 << 20))
                if not b:
                    break
                os.write(out, b)
                left -= len(b)
            if left <= 0 and os.read(fd, 1) and not truncate:
                raise OSError(f"{src} is larger than {cap} bytes")
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _read_roots() -> list[str]:
    """What the learner's process must read: the interpreter's prefixes, sys.path, and the folders of the
    packages loaded so far (an editable install of the course lives outside site-packages)."""
    roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    roots += [p for p in sys.path if p and os.path.isabs(p)]
    for name, mod in list(sys.modules.items()):
        if "." in name:
            continue
        for p in list(getattr(mod, "__path__", []) or [])[:4]:
            roots.append(p)
        f = getattr(mod, "__file__", None)
        if f and not getattr(mod, "__path__", None):
            roots.append(os.path.dirname(f))
    out = []
    for r in dict.fromkeys(os.path.realpath(r) for r in roots if isinstance(r, str)):
        if os.path.exists(r) and r != "/":
            out.append(r)
    return out


def _in_child(probe) -> str:
    """Run `probe()` in a forked child (it may drop privileges or confine itself for good); return what it
    returned or raised, as text (empty: all went well)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            msg = (probe() or "").encode()
        except BaseException as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}".encode()
        os.write(w, msg[:500])
        os._exit(0)
    os.close(w)
    out = b""
    while chunk := os.read(r, 4096):
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode(errors="replace")


def _try_user(uid: int, gid: int) -> str:
    """Empty if `uid` can read the interpreter and libraries (after make_reachable); else why not."""
    import torch

    import course

    paths = [os.__file__, torch.__file__, course.__file__, C.__file__]

    def probe() -> str:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        for p in paths:
            try:
                os.close(os.open(p, os.O_RDONLY))
            except OSError as e:
                return f"{p}: {e.strerror}"
        return ""

    return _in_child(probe)


def _try_landlock(rules: list, version: int) -> str:
    """Empty if a process can put these Landlock rules in force and still read the interpreter; else why not."""
    from course.grading import landlock

    def probe() -> str:
        landlock.restrict([landlock.Rule(fd, a, d) for fd, a, d in rules], version)
        os.close(os.open(os.__file__, os.O_RDONLY))
        return ""

    return _in_child(probe)


def _report(status, cpu, rss, timed_out, wall, stray) -> dict:
    return {
        "op": "done",
        "exit": os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None,
        "timed_out": timed_out, "cpu_s": cpu, "max_rss_mb": rss / 1024, "wall_s": wall, "stray": stray,
    }


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _wait(pid: int, timeout: float) -> tuple[int | None, float, int, bool]:
    """Wait for `pid` up to `timeout` s. Returns (wait status, cpu seconds, max RSS in KiB, timed_out)."""
    deadline = time.monotonic() + timeout
    pidfd = None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pass
    try:
        while True:
            done, status, ru = os.wait4(pid, os.WNOHANG)
            if done:
                return status, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, False
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.005))
    finally:
        if pidfd is not None:
            os.close(pidfd)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _kill(pid)
    _, status, ru = os.wait4(pid, 0)
    return status, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, True


def _others(spare: int | None) -> list[int]:
    """Live processes in this PID namespace other than this server and `spare` (zombies left out)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, spare):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            out.append(int(name))
    return out


def _sweep(pid: int, spare: int | None = None) -> int:
    """Kill whatever the learner's processes left behind (sparing the zygote). Returns how many were found."""
    stray = 0
    if os.getpid() == 1:  # PID namespace: everything else in it is the learner's
        for _ in range(100):
            victims = _others(spare)
            if not victims:
                break
            for p in victims:
                _kill(p)
            stray += len(victims)
            time.sleep(0.001)
        else:
            if spare is None:
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
        while True:  # reap the orphans that were handed to us (never the zygote: the server reaps it by pid)
            try:
                p, _ = os.waitpid(-1, os.WNOHANG) if spare is None else _reap_not(spare)
            except ChildProcessError:
                break
            if not p:
                break
    elif pid:
        try:
            os.killpg(pid, signal.SIGKILL)
            stray += 1
        except OSError:
            pass
    return stray


def _reap_not(spare: int) -> tuple[int, int]:
    """Reap one exited child other than `spare` (waitid with WNOWAIT peeks first)."""
    info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if info is None:
        return 0, 0
    if info.si_pid == spare:
        return 0, 0  # the zygote has ended: _zygote_alive() reaps it
    return os.waitpid(info.si_pid, 0)


def _warm_up() -> None:
    """Do once here what every child would otherwise redo: building the first optimizer imports ~900 modules
    (dynamo, sympy) and takes over a second. Single-threaded, so forking afterwards stays safe."""
    try:
        import torch

        w = torch.zeros(2, requires_grad=True)
        for opt in (torch.optim.SGD([w], lr=0.1), torch.optim.Adam([w], lr=0.1)):
            (w * w).sum().backward()
            opt.step()
            opt.zero_grad()
    except Exception:  # noqa: BLE001 - only a speed-up
        pass


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


def serve() -> None:
    reply_fd = os.dup(1)  # commands on stdin, replies on the original stdout
    os.dup2(2, 1)  # anything imported libraries print goes to the log, not the protocol
    os.set_inheritable(reply_fd, False)
    replies = os.fdopen(reply_fd, "w", buffering=1)
    commands = sys.stdin

    def reply(obj: dict) -> None:
        replies.write(json.dumps(obj) + "\n")
        replies.flush()

    cfg = json.loads(commands.readline())
    if os.getpid() == 1:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    t0 = time.perf_counter()
    failed = []
    for name in ["torch", "numpy", "course.grading.codec", "course.grading.landlock", "course.grading.mounts"]:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001
            failed.append(f"{name}: {type(e).__name__}")
    t1 = time.perf_counter()
    server = Server(cfg, reply)
    os.chdir("/")
    server.setup()
    reply({"op": "ready", "pid": os.getpid(), "preload_s": time.perf_counter() - t0,
           "failed": failed + cfg.get("failed", []), "baseline_vm": cfg["baseline_vm"], "layers": server.layers,
           "fds": len(os.listdir("/proc/self/fd")), "timings": {"imports_s": t1 - t0, **server.timings}})
    for line in commands:
        cmd = json.loads(line)
        op = cmd.get("op")
        if op == "exit":
            break
        if op == "open":
            reply(server.open(cmd))
        elif op == "run":
            reply(server.run(cmd))
        elif op == "close":
            server.close()
            reply({"op": "closed", "fds": len(os.listdir("/proc/self/fd"))})
    server.close()
    _flush()
    os._exit(0)  # no interpreter teardown (torch's takes seconds): nothing here needs it


if __name__ == "__main__":
    serve()
