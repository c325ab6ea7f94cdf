"""The learner's side of the sandbox: what a process does to itself, in order, before any learner code runs.

`confine()` runs in a process freshly forked from the fork server (`worker.py`), still trusted:

  1. a new session; stdin from /dev/null; stdout and stderr into `printed.txt` in its working folder;
  2. resource limits: address space, CPU seconds, file size, open files, processes (RLIMIT_NPROC);
  3. the user: `nobody` when the grader is root (no supplementary groups); where it has to stay uid 0 (no
     `nobody`, or a user namespace) every capability is dropped instead;
  4. Landlock: from here on the kernel lets it read only the interpreter, its libraries and the submission,
     and write only its working folder (whatever the path, `dir_fd`, cwd or C library used);
  5. every inherited descriptor but stdio (and the zygote's two pipes) is closed;
  6. an audit hook (a second layer, in Python): no processes, signals, ctypes, sockets or heap walking, no
     opening of the lesson's files, no writing outside the working folder; unresolvable paths are refused;
  7. the modules holding the lesson's answers can't be imported.

Then `load_submission()` imports the learner's file and `call()` runs one exercise function on a check's
inputs, writing what it returned with `codec.save` (plain data). Errors go to `error.json` for the grader.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import resource
import sys
import traceback

EXIT_OK, EXIT_IMPORT, EXIT_LOOKUP, EXIT_INPUTS, EXIT_CALL, EXIT_OUTPUT, EXIT_INTERNAL = 0, 3, 4, 5, 6, 7, 8

BLOCKED_EVENTS = frozenset(
    {
        "os.forkpty", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "subprocess.Popen",
        "os.kill", "os.killpg", "signal.pthread_kill", "os.setns", "os.unshare", "os.chroot",
        "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.cdata/buffer",
        "ctypes.call_function", "ctypes.addressof", "ctypes.string_at", "ctypes.wstring_at",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
        "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
        "sys.remote_exec", "mmap.__new__",
    }
)
WRITE_EVENTS = frozenset(
    {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime", "os.symlink", "os.link",
     "os.chflags", "os.setxattr", "os.removexattr", "os.rename"}
)


def install_guard(allowed_dirs: tuple[str, ...], forbidden: tuple[str, ...]):
    """Audit hook for the learner's process. Returns `permit()`, which lets the next single fork through (the
    zygote forks each check's process; learner code can't reach `permit` through the hook's closure)."""
    realpath, fspath, fsdecode, getcwd = os.path.realpath, os.fspath, os.fsdecode, os.getcwd
    o_write = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    allowed = tuple(realpath(d) for d in allowed_dirs) + ("/dev/null",)
    forbid = tuple(realpath(f) for f in forbidden)
    forks = [0]

    def under(path: str, roots: tuple[str, ...]) -> bool:
        return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)

    def resolve(p) -> str | None:
        """The path's real location; None (refused) when it can't be told: a deleted working folder, odd
        types. Descriptors are left to the kernel's layer (Landlock), as are paths relative to a dir_fd."""
        p = fsdecode(fspath(p))
        if not p.startswith("/"):
            cwd = getcwd()  # raises in a deleted folder: refused
            p = cwd.rstrip("/") + "/" + p
        return realpath(p)

    def checked(p) -> str | None:
        if isinstance(p, int):
            return ""  # an open descriptor: nothing new is named
        try:
            return resolve(p)
        except Exception:
            return None

    def guard(event: str, args: tuple) -> None:
        if event == "os.fork":
            if forks[0] > 0:
                forks[0] -= 1
                return
            raise PermissionError("not allowed while grading: os.fork")
        if event in BLOCKED_EVENTS:
            raise PermissionError(f"not allowed while grading: {event}")
        if event == "open":
            if args[0] is None:
                return
            path = checked(args[0])
            if path is None:
                raise PermissionError("this path can't be checked while grading (a deleted working folder?)")
            if path == "":
                return
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & o_write)
            if under(path, forbid):
                raise PermissionError("reading the lesson's reference files is not allowed while grading")
            if writing and not under(path, allowed):
                raise PermissionError(f"writing outside your working directory is not allowed while grading: {path}")
        elif event in ("os.listdir", "os.scandir"):
            path = checked(args[0]) if args and args[0] is not None else ""
            if path is None or (path and under(path, forbid)):
                raise PermissionError("listing the lesson's files is not allowed while grading")
        elif event in WRITE_EVENTS:
            for p in args[:2] if event == "os.rename" else args[:1]:
                path = checked(p)
                if path is None or (path != "" and not under(path, allowed)):
                    raise PermissionError(f"changing files outside your working directory is not allowed: {path}")

    def permit() -> None:
        forks[0] = 1

    sys.addaudithook(guard)
    return permit


def block_imports(blocked: tuple[str, ...]) -> None:
    """Make the library modules that hold a lesson's answers unimportable (their files are also hidden)."""
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


def write_error(directory: str, stage: str, exc: BaseException | None, message: str = "", submission: str = "") -> None:
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


def redirect_output(work: str) -> None:
    """stdin from /dev/null; stdout and stderr into `printed.txt` in `work` (capped by RLIMIT_FSIZE)."""
    devnull = os.open("/dev/null", os.O_RDONLY)
    out = os.open(os.path.join(work, "printed.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(devnull)
    os.close(out)
    sys.stdin = open(os.devnull)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    os.chdir(work)
    for var in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
        os.environ[var] = work
    import tempfile

    tempfile.tempdir = work


def confine(cfg: dict, work: str, submission: str, cpu: float, cpu_hard: float, keep: tuple[int, ...] = ()) -> None:
    """Steps 1-5 of the module docstring. Raises if a layer the worker promised can't be put in place."""
    from course.grading import landlock, mounts

    os.setsid()
    redirect_output(work)
    limit = lambda r, soft, hard=None: resource.setrlimit(r, (int(soft), int(hard if hard else soft)))  # noqa: E731
    limit(resource.RLIMIT_CORE, 0)
    limit(resource.RLIMIT_FSIZE, cfg["fsize"])
    limit(resource.RLIMIT_CPU, max(1, cpu), max(1, cpu_hard) + 2)
    limit(resource.RLIMIT_AS, cfg["baseline_vm"] + cfg["memory"])
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], cfg.get("nofile", 1024))
    limit(resource.RLIMIT_NOFILE, nofile)
    rules = [landlock.Rule(fd, access, is_dir) for fd, access, is_dir in cfg.get("rules", [])]
    if cfg.get("landlock") and not cfg.get("private"):  # the check's own folder and file (no private mounts)
        rules.append(landlock.Rule(os.open(work, os.O_PATH | os.O_CLOEXEC), landlock.WRITE, True))
        rules.append(landlock.Rule(os.open(submission, os.O_PATH | os.O_CLOEXEC), landlock.READ_FILE, False))
    if cfg.get("uid") is not None:
        limit(resource.RLIMIT_NPROC, cfg["nproc"])
        os.setgroups([])
        os.setgid(cfg["gid"])
        os.setuid(cfg["uid"])
    elif os.geteuid() == 0 and cfg.get("drop_caps", True):
        mounts.drop_capabilities()
    if cfg.get("landlock"):
        landlock.restrict(rules, cfg["landlock"])
    for fd in sorted(set(range(3, nofile)) - set(keep)) if nofile <= 65536 else ():
        try:
            os.close(fd)
        except OSError:
            pass


def load_submission(submission: str, work: str):
    """Import the learner's file as the module `submission`; on failure write error.json and exit."""
    try:
        spec = importlib.util.spec_from_file_location("submission", submission)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        spec.loader.exec_module(module)
        return module
    except BaseException as e:  # noqa: BLE001 - SystemExit/KeyboardInterrupt at import are the learner's too
        write_error(work, "import", e, submission=submission)
        raise SystemExit(EXIT_IMPORT)


def seed_everything(seed: int) -> None:
    import random

    import torch

    torch.manual_seed(seed)
    random.seed(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            np.random.seed(seed % 2**32)
        except Exception:
            pass


def write_names(module, work: str) -> None:
    names = sorted(n for n in vars(module) if not n.startswith("_"))
    with open(os.path.join(work, "names.json"), "w") as f:
        json.dump(names, f)


def call(module, cmd: dict, work: str, submission: str) -> int:
    """Build the check's inputs, call the exercise function, save what it returned. Returns the exit code."""
    from course.grading import codec

    name = cmd["function"]
    owner, _, method = name.partition(".")
    if not hasattr(module, owner):
        write_error(work, "lookup", None, f"your file has no `{owner}`: keep the names the exercise file gives")
        return EXIT_LOOKUP
    try:
        seed_everything(cmd["seed"])
        inputs = codec.load(work, "inputs", build=True)
        kwargs = codec.materialise(inputs, module)
        fn = getattr(kwargs.pop("self"), method) if method else getattr(module, owner)
        if not callable(fn):
            write_error(work, "lookup", None, f"`{name}` in your file is not a function")
            return EXIT_LOOKUP
    except BaseException as e:  # noqa: BLE001
        write_error(work, "inputs", e, submission=submission)
        return EXIT_INPUTS
    try:
        seed_everything(cmd["seed"])  # as the reference is called: seeded right before the call
        result = fn(**kwargs)
        if cmd.get("after"):  # Check.after: what the call left behind, measured here, in the same process
            result = codec.resolve(cmd["after"], None)(result, **kwargs)
    except BaseException as e:  # noqa: BLE001 - includes sys.exit() and KeyboardInterrupt
        write_error(work, "call", e, submission=submission)
        return EXIT_CALL
    try:
        codec.save(result, work, "output")
    except BaseException as e:  # noqa: BLE001
        write_error(work, "output", e, message=str(e)[:1000])
        return EXIT_OUTPUT
    return EXIT_OK


def flush() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
