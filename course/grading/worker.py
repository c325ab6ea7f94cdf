"""The sandboxed side of the autograder: a fork server that runs one learner function per child process.

Started by `sandbox.Worker` as `python -I -m course.grading.worker` with a scrubbed environment, inside a
fresh PID (and, where possible, network) namespace. It imports torch and the lesson's libraries once, then for
every check (of any number of submissions) forks a child that:

  1. starts a new session, points stdin at /dev/null and stdout/stderr at a capped file in its own directory;
  2. sets resource limits (address space, CPU seconds, file size, processes) and, when the grader runs as root,
     drops to an unprivileged user;
  3. installs an audit hook that refuses to open the lesson's files (solutions, checks), to write outside its
     directory, to start processes, to send signals, to use ctypes or the network, or to walk the heap;
  4. imports the learner's file, builds the inputs, calls the function and writes what it returned as plain
     data (`codec.save`: JSON + safetensors, never pickle), then leaves with `os._exit`.

The fork server itself never runs learner code. After each child it kills everything left in the namespace
(it is PID 1 there), so nothing a submission starts, detached or not, survives into the next check. The grader
decides pass/fail from the files alone; this process never sees a reference output.

Protocol: one JSON object per line on stdin (commands) and stdout (replies).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import resource
import select
import signal
import sys
import time
import traceback

EXIT_OK, EXIT_IMPORT, EXIT_LOOKUP, EXIT_INPUTS, EXIT_CALL, EXIT_OUTPUT, EXIT_INTERNAL = 0, 3, 4, 5, 6, 7, 8

BLOCKED_EVENTS = frozenset(
    {
        "os.fork", "os.forkpty", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "subprocess.Popen",
        "os.kill", "os.killpg", "signal.pthread_kill", "os.setns", "os.unshare",
        "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.cdata/buffer",
        "ctypes.call_function", "ctypes.addressof", "ctypes.string_at", "ctypes.wstring_at",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents",
        "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
        "sys.remote_exec", "mmap.__new__",
    }
)
WRITE_EVENTS = frozenset(
    {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime", "os.symlink", "os.link",
     "os.chflags", "os.setxattr", "os.removexattr"}
)


def _install_guard(allowed_dirs: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    """Audit hook for the learner's process. Built in a closure so nothing global points at it."""
    realpath, fspath, fsdecode = os.path.realpath, os.fspath, os.fsdecode
    o_write = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    allowed = tuple(realpath(d) for d in allowed_dirs) + ("/dev/null",)
    forbid = tuple(realpath(f) for f in forbidden)

    def under(path: str, roots: tuple[str, ...]) -> bool:
        return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)

    def resolve(p) -> str | None:
        if isinstance(p, int) or p is None:
            return None
        try:
            return realpath(fsdecode(fspath(p)))
        except Exception:
            return None

    def guard(event: str, args: tuple) -> None:
        if event in BLOCKED_EVENTS:
            raise PermissionError(f"not allowed while grading: {event}")
        if event == "open":
            path = resolve(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & o_write)
            if under(path, forbid):
                raise PermissionError("reading the lesson's reference files is not allowed while grading")
            if writing and not under(path, allowed):
                raise PermissionError(f"writing outside your working directory is not allowed while grading: {path}")
        elif event in ("os.listdir", "os.scandir"):
            path = resolve(args[0]) if args else None
            if path is not None and under(path, forbid):
                raise PermissionError("listing the lesson's files is not allowed while grading")
        elif event in WRITE_EVENTS or event == "os.rename":
            for p in args[:2] if event == "os.rename" else args[:1]:
                path = resolve(p)
                if path is not None and not under(path, allowed):
                    raise PermissionError(f"changing files outside your working directory is not allowed: {path}")

    sys.addaudithook(guard)


def _block_imports(blocked: tuple[str, ...]) -> None:
    """Make the library modules that hold a lesson's answers unimportable (their files are also unreadable)."""
    if not blocked:
        return
    import importlib.abc

    def hit(name: str) -> bool:
        return any(name == b or name.startswith(b + ".") for b in blocked)

    for name in [n for n in sys.modules if hit(n)]:
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and getattr(sys.modules[parent], child, None) is sys.modules[name]:
            delattr(sys.modules[parent], child)
        del sys.modules[name]

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if hit(name):
                raise ImportError(f"`{name}` holds this lesson's answers, so it can't be imported while your work is "
                                  "graded: write the exercise yourself")
            return None

    sys.meta_path.insert(0, Blocker())


def _error(directory: str, stage: str, exc: BaseException | None, message: str = "", submission: str = "") -> None:
    info: dict = {"stage": stage, "message": message}
    if exc is not None:
        info["type"] = type(exc).__name__
        try:
            info["message"] = message or str(exc)[:2000]
        except Exception:
            info["message"] = message or "(the exception's message could not be read)"
        frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
        mine = [f for f in frames if submission and os.path.realpath(f.filename) == submission]
        if isinstance(exc, SyntaxError) and exc.lineno:
            info["line"] = exc.lineno
            info["text"] = (exc.text or "").rstrip()[:200]
        elif mine:
            info["line"] = mine[-1].lineno
            info["text"] = (mine[-1].line or "")[:200]
        info["traceback"] = "".join(traceback.format_list(mine[-5:]))[-3000:] if mine else ""
    try:
        with open(os.path.join(directory, "error.json"), "w") as f:
            json.dump(info, f)
    except Exception:
        pass


def _child(cmd: dict, cfg: dict) -> None:
    """Runs in the forked child. Never returns."""
    code = EXIT_INTERNAL
    directory = cmd["dir"]
    try:
        os.setsid()
        os.close(cfg["reply_fd"])  # the learner's code must not be able to talk to the grader
        devnull = os.open("/dev/null", os.O_RDONLY)
        out = os.open(os.path.join(directory, "printed.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(devnull)
        os.close(out)
        sys.stdin = open(os.devnull)
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        os.chdir(directory)
        for var in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
            os.environ[var] = directory

        limit = lambda r, soft, hard=None: resource.setrlimit(r, (int(soft), int(hard if hard else soft)))  # noqa: E731
        limit(resource.RLIMIT_CORE, 0)
        limit(resource.RLIMIT_FSIZE, cfg["fsize"])
        limit(resource.RLIMIT_CPU, cmd["cpu"], cmd["cpu"] + 2)
        limit(resource.RLIMIT_AS, cfg["baseline_vm"] + cfg["memory"])
        if cfg.get("uid") is not None:
            limit(resource.RLIMIT_NPROC, cfg["nproc"])
            os.setgroups([])
            os.setgid(cfg["gid"])
            os.setuid(cfg["uid"])

        import random

        import torch

        torch.set_num_threads(1)
        torch.manual_seed(cmd["seed"])
        random.seed(cmd["seed"])
        try:
            import numpy

            numpy.random.seed(cmd["seed"] % 2**32)
        except Exception:
            pass

        from course.grading import codec

        inputs = codec.load(directory, "inputs", build=True)
        if cfg.get("guard", True):  # only the sandbox's own tests turn it off, to test the other layers alone
            _install_guard((directory,), tuple(cfg["forbidden"]))

        _block_imports(tuple(cfg.get("blocked", ())))
        submission = os.path.realpath(cmd["submission"])
        code = EXIT_IMPORT
        try:
            spec = importlib.util.spec_from_file_location("submission", submission)
            module = importlib.util.module_from_spec(spec)
            sys.modules["submission"] = module
            spec.loader.exec_module(module)
        except BaseException as e:  # noqa: BLE001 - SystemExit/KeyboardInterrupt at import are the learner's too
            _error(directory, "import", e, submission=submission)
            raise SystemExit(EXIT_IMPORT)

        if cmd.get("probe"):
            names = sorted(n for n in vars(module) if not n.startswith("_"))
            with open(os.path.join(directory, "names.json"), "w") as f:
                json.dump(names, f)
            raise SystemExit(EXIT_OK)

        code = EXIT_LOOKUP
        name = cmd["function"]
        owner, _, method = name.partition(".")
        if not hasattr(module, owner):
            _error(directory, "lookup", None, f"your file has no `{owner}`: keep the names the exercise file gives")
            raise SystemExit(EXIT_LOOKUP)

        code = EXIT_INPUTS
        try:
            kwargs = codec.materialise(inputs, module)
            if method:
                fn = getattr(kwargs.pop("self"), method)
            else:
                fn = getattr(module, owner)
            if not callable(fn):
                _error(directory, "lookup", None, f"`{name}` in your file is not a function")
                raise SystemExit(EXIT_LOOKUP)
        except SystemExit:
            raise
        except BaseException as e:  # noqa: BLE001
            _error(directory, "inputs", e, submission=submission)
            raise SystemExit(EXIT_INPUTS)

        code = EXIT_CALL
        try:
            result = fn(**kwargs)
            if cmd.get("after"):  # Check.after: what the call left behind, measured here, in the same process
                result = codec.resolve(cmd["after"], None)(result, **kwargs)
        except BaseException as e:  # noqa: BLE001 - includes sys.exit() and KeyboardInterrupt
            _error(directory, "call", e, submission=submission)
            raise SystemExit(EXIT_CALL)

        code = EXIT_OUTPUT
        try:
            codec.save(result, directory, "output")
        except BaseException as e:  # noqa: BLE001
            _error(directory, "output", e, message=str(e)[:1000])
            raise SystemExit(EXIT_OUTPUT)
        code = EXIT_OK
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else code
    except BaseException as e:  # noqa: BLE001
        _error(directory, "internal", e, message=f"{type(e).__name__}: {e}")
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code)


def _wait(pid: int, timeout: float) -> tuple[int | None, float, int, bool]:
    """Wait for `pid` up to `timeout` s. Returns (wait status, cpu seconds, max RSS in KiB, timed_out)."""
    deadline = time.monotonic() + timeout
    pidfd = None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pass
    timed_out = False
    while True:
        done, status, ru = os.wait4(pid, os.WNOHANG)
        if done:
            return status, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, False
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        if pidfd is not None:
            select.select([pidfd], [], [], left)
        else:
            time.sleep(min(left, 0.005))
    if pidfd is not None:
        os.close(pidfd)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    _, status, ru = os.wait4(pid, 0)
    return status, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, timed_out


def _sweep(pid: int) -> int:
    """Kill whatever the child left behind. Returns how many stray processes were found."""
    stray = 0
    if os.getpid() == 1:  # PID namespace: everything else in it is the learner's
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        while True:
            try:
                p, _ = os.waitpid(-1, 0)
                stray += 1
            except ChildProcessError:
                break
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
            stray += 1
        except OSError:
            pass
    return stray


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


def serve() -> None:
    reply_fd = os.dup(1)  # commands on stdin, replies on the original stdout
    os.dup2(2, 1)  # anything imported libraries print goes to the log, not the protocol
    replies = os.fdopen(reply_fd, "w", buffering=1)
    commands = sys.stdin

    def reply(obj: dict) -> None:
        replies.write(json.dumps(obj) + "\n")
        replies.flush()

    cfg = json.loads(commands.readline())
    cfg["reply_fd"] = reply_fd
    if os.getpid() == 1:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    t0 = time.perf_counter()
    loaded, failed = [], []
    for name in ["torch", "numpy", "course.grading.codec", *cfg.get("preload", [])]:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception as e:  # noqa: BLE001 - a missing optional module is the learner's problem later
            failed.append(f"{name}: {type(e).__name__}")
    _warm_up()
    cfg["baseline_vm"] = _vm_size()
    reply({"op": "ready", "pid": os.getpid(), "preload_s": time.perf_counter() - t0, "failed": failed,
           "baseline_vm": cfg["baseline_vm"]})

    for line in commands:
        cmd = json.loads(line)
        if cmd.get("op") == "exit":
            break
        sys.stdout.flush()
        sys.stderr.flush()
        t = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _child(cmd, cfg)
        status, cpu, rss, timed_out = _wait(pid, float(cmd["timeout"]))
        stray = _sweep(pid)
        reply({
            "op": "done",
            "exit": os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None,
            "timed_out": timed_out,
            "cpu_s": cpu,
            "max_rss_mb": rss / 1024,
            "wall_s": time.perf_counter() - t,
            "stray": stray,
        })


if __name__ == "__main__":
    serve()
