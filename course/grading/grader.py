"""The trusted grader: draws inputs, runs the reference, sends the learner's code to the sandbox, compares.

    grader = Grader(find_lesson("05"), seed=1234)
    result = grader.grade("workspace/05_superposition.py")      # GradeResult
    results = grader.grade_many(paths, jobs=4)                   # one worker per submission

The learner's code only ever runs in a `sandbox.Worker`; this process computes the reference on the same inputs
(in its own address space, which the worker never sees), reads back plain data and decides. Every failure of
the learner's code, and every failure of the sandbox, becomes a scored CheckResult with a message: `grade`
does not raise for anything a submission does.
"""

from __future__ import annotations

import ast
import json
import os
import queue
import random
import re
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from course.device import deterministic
from course.errors import CourseError
from course.grading import codec
from course.grading import confine as W
from course.grading.compare import compare, nonfinite
from course.grading.limits import Limits
from course.grading.sandbox import Sandbox, Worker, WorkerDied, warnings
from course.grading.spec import Check, Verdict
from course.lessons import Lesson

PASSED, FAILED, NOT_DONE, TIMEOUT, CRASHED, ERROR = "passed", "failed", "not_implemented", "timeout", "crashed", "error"


@dataclass
class CheckResult:
    number: int
    title: str
    exercise: str
    points: float  # earned
    max_points: float
    status: str  # passed / failed / not_implemented / timeout / crashed / error
    message: str = ""
    hint: str = ""
    printed: str = ""  # what the learner's code printed (capped)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    max_rss_mb: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass
class GradeResult:
    lesson: str  # "05"
    lesson_title: str
    submission: str
    seed: int
    checks: list[CheckResult]
    seconds: float = 0.0
    error: str = ""  # a problem with the whole submission (missing file, syntax error, ...)
    sandbox: dict = field(default_factory=dict)
    import_seconds: float = 0.0  # importing the learner's file (once per submission where the sandbox allows)

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks), 6)

    def __repr__(self) -> str:
        return f"GradeResult(lesson {self.lesson}, {Path(self.submission).name}: {self.score:g}/{self.max_score:g})"


@dataclass
class Prepared:
    """A check with its inputs drawn and its reference answer computed (once per grader, shared by all)."""

    number: int
    check: Check
    seed: int
    skeleton: Any = None
    tensors: dict = field(default_factory=dict)
    inputs: Any = None  # plain view of the inputs, for judges and hints
    expected: Any = None
    error: str = ""  # the check or its reference failed: a bug in the lesson


def check_seed(seed: int, title: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(title.encode())) % (2**63 - 1)


MAX_SUBMISSION_BYTES = 5 << 20
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.py$")


def submission_file(path: str | os.PathLike, lesson: Lesson) -> Path:
    """The .py file of a submission: the file itself, or the one .py file in a folder. Symbolic links are
    refused: the submission itself, and any link in its folder that leads out of it."""
    p = Path(path)
    if p.is_symlink():
        raise CourseError(f"{p} is a symbolic link; submit the file itself (links are refused, so that a submission "
                          "can't point at someone else's file or the reference).")
    if p.is_file():
        if p.suffix != ".py":
            raise CourseError(f"{p.name} is not a Python file; submit the .py file you worked in.")
        return p
    if p.is_dir():
        top = os.path.realpath(p)
        files = []
        for folder, dirs, names in os.walk(p, followlinks=False):
            for n in sorted(dirs + names):
                f = Path(folder) / n
                if f.is_symlink():
                    target = os.path.realpath(f)
                    if not (target == top or target.startswith(top.rstrip("/") + "/")):
                        raise CourseError(f"The folder {p} holds a symbolic link, {f.relative_to(p)}, that leads out of "
                                          "it; remove it (links out of a submission are refused).")
                elif n in names and n.endswith(".py") and f.is_file() and "__pycache__" not in f.parts:
                    files.append(f)
        files.sort()
        if len(files) == 1:
            return files[0]
        for name in (f"{lesson.slug}.py", f"{lesson.name}.py", "exercises.py", "submission.py", "solutions.py"):
            named = [f for f in files if f.name == name]
            if len(named) == 1:
                return named[0]
        if not files:
            raise CourseError(f"The folder {p} holds no .py file; submit the .py file you worked in.")
        raise CourseError(f"The folder {p} holds {len(files)} .py files ({', '.join(f.name for f in files[:5])}); "
                          f"name the one to grade {lesson.slug}.py or exercises.py.")
    raise CourseError(f"{p} does not exist. Give the path of your .py file (or a folder holding it).")


def read_submission(path: Path) -> bytes:
    """The submission's bytes, read without following a link (a swap after the check above is refused too)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise CourseError(f"{path} can't be read ({e.strerror}); submit a plain .py file.") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CourseError(f"{path} is not a regular file; submit a plain .py file.")
        if st.st_size > MAX_SUBMISSION_BYTES:
            raise CourseError(f"{path} is {st.st_size >> 20} MiB; a submission may be at most "
                              f"{MAX_SUBMISSION_BYTES >> 20} MiB of Python.")
        chunks, left = [], MAX_SUBMISSION_BYTES + 1
        while left > 0 and (b := os.read(fd, min(left, 1 << 20))):
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def imported_modules(path: Path) -> list[str]:
    """Top-level modules a trusted file imports (preloaded in the worker so learners' imports are quick)."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return sorted(set(names))


def module_paths(names: tuple[str, ...]) -> list[str]:
    """Where the named modules' source lives (a package's folder, or a module's file).

    A course module that can't be found is an error in the lesson; a third-party one (a lesson may block
    captum, say) that isn't installed here has nothing to hide, so it is skipped."""
    import importlib.util

    paths = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None and not (name == "course" or name.startswith("course.")):
            continue
        if spec is None:
            raise CourseError(f"blocked_imports names {name!r}, which is not an importable module")
        if spec.submodule_search_locations:
            paths += list(spec.submodule_search_locations)
        elif spec.origin:
            paths.append(spec.origin)
    return paths


class Grader:
    """Grades submissions of one lesson with one seed. Thread-safe: `grade` may run in parallel."""

    def __init__(self, lesson: Lesson, seed: int | None = None, limits: Limits | None = None,
                 protect: list[str | os.PathLike] = ()):
        """`protect`: more paths the learner's code must not see (the report's destination, the progress file,
        the other submissions); the sandbox hides them where it can (Landlock keeps them out in any case)."""
        self.lesson = lesson
        self.seed = int(seed) if seed is not None else secrets.randbelow(2**31)
        self.limits = (limits or Limits()).validate()
        self.checks = lesson.load_checks()
        self.solutions = sys.modules[f"course_lessons.l{lesson.id}.solutions"]
        self.sandbox = Sandbox.probe()
        deterministic()  # references in float32 exactly, even where a GPU would use TF32
        blocked = lesson.blocked_imports
        self.preload = [m for m in imported_modules(lesson.solutions_path)
                        if not any(m == b or m.startswith(b + ".") for b in blocked)]
        self.forbidden = [str(lesson.path.parent), *module_paths(blocked)]
        self.protect = [os.path.abspath(p) for p in protect]
        self._prepared: list[Prepared] | None = None
        self._lock = threading.RLock()
        self._idle: queue.SimpleQueue = queue.SimpleQueue()  # fork servers ready for the next submission
        self._workers: list[Worker] = []
        self._root: str | None = None  # scratch folder, reachable by the worker's user

    def __repr__(self) -> str:
        return f"Grader(lesson {self.lesson.id}, {len(self.checks)} checks, seed {self.seed})"

    # -------------------------------------------------------------------------------------------- reference

    def prepare(self) -> list[Prepared]:
        """Draw every check's inputs and compute the reference answers (cached)."""
        with self._lock:
            if self._prepared is None:
                self._prepared = [self._prepare(i + 1, c) for i, c in enumerate(self.checks)]
            return self._prepared

    def _prepare(self, number: int, check: Check) -> Prepared:
        prep = Prepared(number, check, check_seed(self.seed, check.title))
        try:
            g = torch.Generator().manual_seed(prep.seed)
            prep.skeleton, prep.tensors = codec.encode(check.inputs(g))
            prep.inputs = codec.decode(json.loads(json.dumps(prep.skeleton)), prep.tensors)
            if check.reference is not False:
                out = self._call_reference(prep)
                prep.expected = codec.roundtrip(out)
                if check.output is not None:
                    prep.expected = check.output(prep.expected)
        except Exception as e:
            prep.error = f"this check could not run its reference ({type(e).__name__}: {e}); tell your instructor"
            traceback.print_exc(file=sys.stderr)
        return prep

    def _call_reference(self, prep: Prepared) -> Any:
        check = prep.check
        kwargs = codec.materialise(
            codec.decode(prep.skeleton, {k: v.clone() for k, v in prep.tensors.items()}, build=True), self.solutions
        )
        owner, _, method = check.exercise.partition(".")
        if callable(check.reference):
            fn = check.reference
        elif method:
            fn = getattr(kwargs.pop("self"), method)
        else:
            fn = getattr(self.solutions, owner)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(prep.seed)
            state = random.getstate()
            random.seed(prep.seed)
            try:
                out = fn(**kwargs)
                return codec.resolve(check.after, None)(out, **kwargs) if check.after else out
            finally:
                random.setstate(state)

    # -------------------------------------------------------------------------------------------- grading

    def grade(self, submission: str | os.PathLike, on_check: Callable[[CheckResult], None] | None = None) -> GradeResult:
        """Grade one submission. Never raises for anything the submission does. The file is imported (in the
        sandbox) before any reference is computed, so a syntax error costs seconds, not a grading run."""
        t0 = time.perf_counter()
        result = GradeResult(self.lesson.id, self.lesson.title, str(submission), self.seed, [])

        def zero(status: str, message: str) -> None:
            for i, check in enumerate(self.checks):
                if len(result.checks) <= i:
                    r = CheckResult(i + 1, check.title, check.exercise, 0.0, check.points, status, message)
                    result.checks.append(r)
                    if on_check:
                        on_check(r)

        try:
            path = submission_file(submission, self.lesson)
            source = read_submission(path)
        except CourseError as e:
            result.error = str(e)
            zero(ERROR, str(e))
            return self._finish(result, t0)

        root = ""
        worker: Worker | None = None
        try:
            root = tempfile.mkdtemp(prefix="submission-", dir=self._scratch_root())
            os.chmod(root, 0o711)
            name = path.name if SAFE_NAME.match(path.name) else "submission.py"
            fd = os.open(Path(root) / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(source)
            (Path(root) / "checks").mkdir(mode=0o711)
            worker = self._acquire()
            t = time.perf_counter()
            problem = self._open(worker, root, name, len(source), path)
            result.import_seconds = time.perf_counter() - t
            result.sandbox = worker.layers
            if problem:
                result.error = problem
                zero(FAILED, problem)
                return self._finish(result, t0)
            for prep in self.prepare():
                r = self._run(worker, root, prep)
                result.checks.append(r)
                if on_check:
                    on_check(r)
        except Exception as e:  # the grader's own failure: still a report, never a crash
            traceback.print_exc(file=sys.stderr)
            message = f"the grader failed ({type(e).__name__}: {e}); tell your instructor"
            result.error = result.error or message
            zero(ERROR, message)
        finally:
            if worker is not None:
                try:
                    worker.end()
                except (WorkerDied, OSError, ValueError):
                    worker.kill()
                self._idle.put(worker)
            if root and os.environ.get("COURSE_GRADER_KEEP") != "1":  # keep them when debugging the sandbox
                shutil.rmtree(root, ignore_errors=True)
        return self._finish(result, t0)

    def layers(self) -> dict:
        """The sandbox layers in force (starts a worker if none is running yet)."""
        worker = self._acquire()
        try:
            worker._ensure()
            return worker.layers
        finally:
            self._idle.put(worker)

    def warnings(self) -> list[str]:
        """What this machine's sandbox lacks, in words (empty when every layer is in force)."""
        return warnings(self.layers())

    # -------------------------------------------------------------------------------------------- workers

    def _acquire(self) -> Worker:
        """An idle fork server, or a new one. Workers never run learner code themselves, so one serves many
        submissions: each check still gets a fresh process, and the worker kills whatever a check leaves."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        root = self._scratch_root()
        n = len(self._workers)
        w = Worker(self.sandbox, scratch=root, forbidden=self.forbidden, protect=self.protect,
                   blocked=list(self.lesson.blocked_imports), preload=self.preload,
                   memory=self.limits.memory_mb << 20, fsize=self.limits.file_mb << 20, disk=self.limits.disk_mb << 20,
                   inodes=self.limits.files, nproc=self.limits.processes, log=str(Path(root) / f"worker-{n}.log"))
        with self._lock:
            self._workers.append(w)
        return w

    def _scratch_root(self) -> str:
        with self._lock:
            if self._root is None:
                self._root = tempfile.mkdtemp(prefix="course-grade-", dir=self._scratch())
                os.chmod(self._root, 0o711)
            return self._root

    def close(self) -> None:
        """Stop the workers and remove the scratch folder (also done when the grader is garbage-collected)."""
        with self._lock:
            workers, self._workers = self._workers, []
            root, self._root = self._root, None
        for w in workers:
            w.close()
        self._idle = queue.SimpleQueue()
        if root:
            if os.environ.get("COURSE_GRADER_KEEP") == "1":
                print(f"course: kept the grading files in {root}", file=sys.stderr)
            else:
                shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def grade_many(self, submissions: list, jobs: int = 1,
                   on_done: Callable[[GradeResult], None] | None = None) -> list[GradeResult]:
        """Grade many submissions, `jobs` at a time, in the given order."""
        if jobs <= 1 or len(submissions) <= 1:
            out = []
            for s in submissions:
                out.append(self.grade(s))
                if on_done:
                    on_done(out[-1])
            return out
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(self.grade, s) for s in submissions]
            out = []
            for f in futures:
                out.append(f.result())
                if on_done:
                    on_done(out[-1])
            return out

    def _scratch(self) -> str:
        """A temporary folder the worker's unprivileged user can reach (every ancestor searchable by others)."""
        if self.sandbox.uid is None:
            return tempfile.gettempdir()
        for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
            p = Path(candidate)
            if p.is_dir() and all(q.stat().st_mode & 0o001 for q in [p, *p.parents]):
                return str(p)
        raise RuntimeError("no temporary folder is reachable by the unprivileged user; set TMPDIR to one")

    def _finish(self, result: GradeResult, t0: float) -> GradeResult:
        result.seconds = time.perf_counter() - t0
        return result

    def _make_dir(self, root: str, name: str, prep: Prepared | None) -> str:
        """A folder for one check's inputs and results; returns its path relative to the scratch folder."""
        d = Path(root) / name
        d.mkdir(mode=0o700, parents=False)
        if prep is not None and prep.skeleton is not None:
            from safetensors.torch import save_file

            save_file(prep.tensors, str(d / "inputs.safetensors"))
            (d / "inputs.json").write_text(json.dumps(prep.skeleton))
            for f in ("inputs.safetensors", "inputs.json"):
                os.chmod(d / f, 0o644)  # readable by the worker's unprivileged user (without private mounts)
        if self.sandbox.uid is not None:
            os.chown(d, self.sandbox.uid, self.sandbox.gid)
        return os.path.relpath(d, self._scratch_root())

    def _abs(self, rel: str) -> str:
        return os.path.join(self._scratch_root(), rel)

    def _open(self, worker: Worker, root: str, name: str, size: int, original: Path) -> str:
        """Import the submission once in the sandbox; a message if that fails (syntax error, crash, hang)."""
        d = self._make_dir(root, "checks/import", None)
        limit = self.limits.timeout_for(Check("import"))
        cpu = self.limits.cpu_seconds or limit + 5
        cpu_max = max([cpu] + [self.limits.cpu_seconds or self.limits.timeout_for(c) + 5 for c in self.checks])
        sub = os.path.relpath(Path(root) / name, self._scratch_root())
        try:
            rep = worker.open(sub, name, size, d, self.seed, limit, cpu, cpu_max)
        except WorkerDied as e:
            return f"Importing your file stopped the grader's worker ({e}). Nothing was graded."
        if rep.get("timed_out"):
            return (f"Importing {original.name} took longer than {limit:.0f} s, so nothing could be graded. Move slow "
                    "code (training, loops) into functions, or under `if __name__ == '__main__':`.")
        if rep.get("exit") == W.EXIT_OK and Path(self._abs(d), "names.json").is_file():
            return ""
        err = self._read_error(self._abs(d))
        if rep.get("exit") == W.EXIT_IMPORT and err:
            where = f" on line {err['line']}" if err.get("line") else ""
            text = f"\n    {err['text'].strip()}" if err.get("text") else ""
            kind = err.get("type", "Error")
            if kind in ("SystemExit", "KeyboardInterrupt"):
                return (f"{original.name} raised {kind}{where} while being imported, so nothing could be graded. "
                        f"Don't exit or interrupt at import time; put scripts under `if __name__ == '__main__':`.")
            return (f"{original.name} could not be imported: {kind}{where}: {err.get('message', '')}{text}\n"
                    f"Fix this first (run `python {original}` to see it); every check needs the file to import.")
        return f"Importing {original.name} " + self._crash_text(rep, limit) + "; nothing could be graded."

    def _run(self, worker: Worker, root: str, prep: Prepared) -> CheckResult:
        check = prep.check
        r = CheckResult(prep.number, check.title, check.exercise, 0.0, check.points, ERROR)
        if prep.error:
            r.message = prep.error
            return r
        t = time.perf_counter()
        limit = self.limits.timeout_for(check)
        try:
            rel = self._make_dir(root, f"checks/{prep.number:03d}", prep)
            d = self._abs(rel)
            try:
                rep = worker.run(rel, check.exercise, prep.seed, limit, self.limits.cpu_seconds or limit + 5,
                                 after=check.after)
            except WorkerDied as e:
                r.status, r.message = CRASHED, f"the sandbox stopped answering ({e}); this check gets no points"
                return r
            r.cpu_seconds, r.max_rss_mb = rep.get("cpu_s") or 0.0, rep.get("max_rss_mb") or 0.0
            r.printed = self._printed(d, rep.get("printed_size"))
            self._judge(r, rep, d, prep, limit)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            r.status, r.points = ERROR, 0.0
            r.message = f"the grader failed on this check ({type(e).__name__}: {e}); tell your instructor"
        finally:
            r.seconds = time.perf_counter() - t
        return r

    def _judge(self, r: CheckResult, rep: dict, d: str, prep: Prepared, limit: float) -> None:
        check, name = prep.check, prep.check.exercise
        code = rep.get("exit")
        if rep.get("timed_out"):
            r.status = TIMEOUT
            r.message = (f"`{name}` took longer than {limit:.0f} s and was stopped (an endless loop, or much more "
                         "work than the exercise needs?)")
            return
        if code == W.EXIT_INTERNAL:
            err = self._read_error(d)
            r.status = ERROR
            r.message = f"the sandbox could not run this check ({err.get('message', 'no details')}); tell your instructor"
            return
        if code == W.EXIT_IMPORT and not rep.get("signal"):
            r.status = CRASHED
            r.message = (f"`{name}` could not run: importing your file failed this time, though it had imported "
                         "before (does your file's import depend on time, randomness or an earlier check?)")
            return
        if code is None or code not in (W.EXIT_OK, W.EXIT_LOOKUP, W.EXIT_INPUTS, W.EXIT_CALL, W.EXIT_OUTPUT):
            r.status, r.message = CRASHED, f"`{name}` " + self._crash_text(rep, limit)
            return
        err = self._read_error(d) if code != W.EXIT_OK else {}
        if rep.get("disk_full") and code != W.EXIT_OK:
            r.status = FAILED
            r.message = (f"`{name}` wrote more than a check may ({self.limits.disk_mb} MiB, {self.limits.files} files "
                         f"in its own folder)" + (f"; it raised {_exception(err)}" if err.get("type") else ""))
            return
        if code == W.EXIT_LOOKUP:
            r.status, r.message = FAILED, err.get("message") or f"your file has no function `{name}`"
            return
        if code == W.EXIT_INPUTS:
            if err.get("type") == "NotImplementedError":
                r.status, r.message = NOT_DONE, f"not done yet: `{name}` needs code that still raises NotImplementedError ({_line(err)})"
            else:
                r.status, r.message = FAILED, f"setting up `{name}` failed: {_exception(err)}"
            return
        if code == W.EXIT_CALL:
            kind = err.get("type", "")
            if kind == "NotImplementedError":
                r.status, r.message = NOT_DONE, f"not done yet: `{name}` still raises NotImplementedError"
            elif kind == "SystemExit":
                r.status, r.message = FAILED, f"`{name}` called sys.exit()/exit() ({_line(err)}); return the result instead"
            elif kind == "MemoryError" or "can't allocate memory" in err.get("message", "") or "DefaultCPUAllocator" in err.get("message", ""):
                r.status = FAILED
                r.message = f"`{name}` ran out of memory (the limit is {self.limits.memory_mb} MiB; {_line(err)})"
            elif "No space left on device" in err.get("message", ""):
                r.status = FAILED
                r.message = (f"`{name}` wrote more than a check may ({self.limits.disk_mb} MiB, {self.limits.files} files "
                             f"in its own folder; {_line(err)})")
            else:
                r.status, r.message = FAILED, f"`{name}` raised {_exception(err)}"
            return
        if code == W.EXIT_OUTPUT:
            msg = err.get("message", "")
            if "No space left on device" in msg or not msg:
                msg = f"its folder is full (a check may write {self.limits.disk_mb} MiB and {self.limits.files} files)"
            r.status, r.message = FAILED, f"`{name}` returned something that can't be graded: {msg}"
            return
        try:
            got = codec.load(d, "output", max_bytes=self.limits.file_mb << 20)
        except FileNotFoundError:
            r.status, r.message = CRASHED, f"`{name}` ended the process before returning (os._exit()?); return the result instead"
            return
        except codec.CodecError as e:
            r.status, r.message = FAILED, f"`{name}` returned something that can't be graded: {e}"
            return
        try:
            if check.output is not None:
                got = check.output(got)
            bad = nonfinite(got, prep.expected if check.reference is not False else None)
            if bad:  # NaN (or inf) where the reference has none: wrong, whatever a judge's comparisons say
                r.status, r.points, r.message = FAILED, 0.0, f"`{name}` returned {bad}"  # the hints below still run
            elif check.judge is not None:
                verdict = check.judge(got, prep.inputs, prep.expected)
                if not isinstance(verdict, Verdict):
                    raise TypeError("judge must return a Verdict")
                r.points = round(check.points * verdict.fraction, 6)
                r.status = PASSED if verdict.passed else FAILED
                r.message = verdict.message
            else:
                msg = compare(prep.expected, got, check.tol, check.check_dtype)
                r.status, r.message = (FAILED, msg) if msg else (PASSED, "")
                r.points = 0.0 if msg else float(check.points)
        except Exception as e:  # a judge tripping over odd learner data: the learner's answer is wrong
            r.status, r.points = FAILED, 0.0
            r.message = f"`{name}` returned a result this check could not use ({type(e).__name__}: {e})"
        if r.status != PASSED:
            for h in check.hints:
                try:
                    if h.when(got, prep.expected, prep.inputs):
                        r.hint = h.say
                        break
                except Exception:
                    continue

    def _crash_text(self, rep: dict, limit: float) -> str:
        sig, code = rep.get("signal"), rep.get("exit")
        if sig == signal.SIGXCPU:
            return f"used more CPU time than allowed ({self.limits.cpu_seconds or limit + 5:.0f} s)"
        if sig == signal.SIGXFSZ:
            return f"wrote more than {self.limits.file_mb} MiB (printing in a loop?) and was stopped"
        if sig == signal.SIGKILL:
            return "was killed (it probably used too much memory)"
        if sig == signal.SIGSEGV:
            return "crashed the Python process (segmentation fault)"
        if sig:
            return f"was killed by signal {signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig}"
        return f"ended the process with exit code {code} before returning (sys.exit or os._exit?)"

    def _read_error(self, d: str) -> dict:
        try:
            err = json.loads(codec.read_capped(Path(d) / "error.json", 1 << 16))
            return {k: v for k, v in err.items() if isinstance(k, str) and isinstance(v, (str, int))} if isinstance(err, dict) else {}
        except (OSError, ValueError, codec.CodecError):
            return {}

    def _printed(self, d: str, size: int | None = None) -> str:
        try:
            if size is None:
                size = os.lstat(Path(d) / "printed.txt").st_size
            raw = codec.read_capped(Path(d) / "printed.txt", self.limits.printed_chars, truncate=True)
        except (OSError, codec.CodecError):
            return ""
        text = raw.decode("utf-8", errors="replace")
        return text if size <= len(raw) else text + f"\n... ({size - len(raw)} more bytes not shown)"


def _line(err: dict) -> str:
    return f"line {err['line']} of your file" if err.get("line") else "see your file"


def _exception(err: dict) -> str:
    s = f"{err.get('type', 'an error')}: {err.get('message', '')}".rstrip(": ")
    if err.get("line"):
        s += f" (line {err['line']}"
        s += f": `{err['text'].strip()}`)" if err.get("text") else ")"
    return s
