"""The twelve holes a hostile probe found (issue 9), each a test: a minimal submission per hole, graded the way
instructors and learners grade (the `course` command), as root and as an ordinary user where the machine
allows. Each attack must cost only the exercise it sits in, and the report must stay intact.

The gauntlet file attacks six exercises of the demo lesson and answers the other four correctly; an attack
that works returns the reference's answer (full points), one that fails returns a wrong one.
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
import time
from pathlib import Path

import pytest

from course.grading.grader import Grader, Limits

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "tests" / "demo" / "lessons" / "99_demo"
SOL = DEMO / "solutions.py"
MARK = f"course-hole-{os.getpid()}"
SITE = sysconfig.get_paths()["purelib"]
TMP_DROPS = [f"/tmp/{MARK}.pt", f"/var/tmp/{MARK}.pt", f"/dev/shm/{MARK}.pt", f"/tmp/{MARK}.st"]
PLANTED = [REPO / "course" / "grading" / f"_pwned_{MARK}.py", Path(SITE) / f"_pwned_{MARK}.pth"]


def gauntlet(classmate: Path, out: Path, progress: Path) -> dict[str, str]:
    return {
        # 1. a relative path under a dir_fd of the clone: the audit hook resolved it against the cwd
        "relu": f"""
import os
try:
    fd = os.open({str(REPO)!r}, os.O_RDONLY | os.O_DIRECTORY)
    raw = os.read(os.open({str(SOL.relative_to(REPO))!r}, os.O_RDONLY, dir_fd=fd), 1 << 20)
    ns = {{}}
    exec(raw.decode(), ns)
    return ns["relu"](x)
except Exception:
    return x * 0 - 1
""",
        # 2. a deleted working folder: the hook's resolver raised, and "unknown" meant "allowed"
        "normalise": f"""
import os
try:
    depth = os.getcwd().count("/")
    os.mkdir("g")
    os.chdir("g")
    os.rmdir(os.path.abspath("."))
    ns = {{}}
    exec(open("../" * (depth + 1) + {str(SOL).lstrip("/")!r}).read(), ns)
    return ns["normalise"](x)
except Exception:
    return x * 0
""",
        # 3. C-level reads and writes: no audit event at all
        "softmax": f"""
import os
for path in {TMP_DROPS[:3]!r}:
    try:
        torch.save(x, path)
    except Exception:
        pass
try:
    from safetensors.torch import save_file
    save_file({{"x": x.contiguous()}}, {TMP_DROPS[3]!r})
except Exception:
    pass
try:
    t = torch.from_file({str(SOL)!r}, size=os.path.getsize({str(SOL)!r}), dtype=torch.uint8)
    ns = {{}}
    exec(bytes(t.tolist()).decode(), ns)
    return ns["softmax"](x, dim)
except Exception:
    return x * 0
""",
        # 4. a classmate's file, found in /proc/*/cmdline (or known), and opened
        "cosine_similarity_matrix": f"""
import glob
found = []
for p in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        found += [a.decode() for a in open(p, "rb").read().split(b"\\0") if a.endswith(b"classmate.py")]
    except OSError:
        pass
print("CMDLINES", len(found))
for p in found + [{str(classmate)!r}]:
    try:
        ns = {{}}
        exec(open(p).read(), ns)
        return ns["cosine_similarity_matrix"](a, b)
    except Exception:
        pass
return torch.zeros(a.shape[0], b.shape[0])
""",
        # 8. as root: plant code in the course package and a .pth in site-packages; overwrite the report
        "count_active": f"""
import os
for d, name in {[(str(p.parent), p.name) for p in PLANTED] + [(str(out.parent), out.name), (str(out.parent), out.name + ".tmp")]!r}:
    try:
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=dfd)
        os.write(fd, b"# pwned\\n")
        os.close(fd)
    except OSError:
        pass
    try:
        open(os.path.join(d, name), "w").write("# pwned\\n")
    except OSError:
        pass
return -1
""",
        # 11. the learner's progress file, found through /proc/*/cmdline (or known), rewritten
        "summary_stats": f"""
import glob, json, os
targets = [{str(progress)!r}]
for p in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        args = open(p, "rb").read().split(b"\\0")
        if b"--dir" in args:
            targets.append(os.path.join(args[args.index(b"--dir") + 1].decode(), ".progress.json"))
    except Exception:
        pass
fake = json.dumps({{"99": {{"best": 11, "max": 11, "when": "never", "attempts": 1}}}}).encode()
for t in targets:
    try:
        dfd = os.open(os.path.dirname(t), os.O_RDONLY | os.O_DIRECTORY)
        fd = os.open(os.path.basename(t), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644, dir_fd=dfd)
        os.write(fd, fake)
        os.close(fd)
    except OSError:
        pass
return {{"mean": 0.0, "std": 0.0}}
""",
    }


def _cleanup() -> None:
    for p in [*TMP_DROPS, *PLANTED]:
        try:
            os.unlink(p)
        except OSError:
            pass


@pytest.fixture(scope="module")
def runs(mode, public_dir, course_cli):
    """The gauntlet graded twice in `mode`: by `course grade` beside a classmate's correct file, and by
    `course check` with a progress file to protect. Returns what each left behind."""
    folder = public_dir / mode
    folder.mkdir(mode=0o755)
    ws = folder / "workspace"
    ws.mkdir(mode=0o755)
    progress = ws / ".progress.json"
    progress.write_text(json.dumps({"99": {"best": 3, "max": 11, "when": "earlier", "attempts": 1}}))
    out = folder / "results" / "class.json"
    out.parent.mkdir(mode=0o755)
    classmate = folder / "classmate.py"
    shutil.copyfile(SOL, classmate)
    attacker = folder / "attacker.py"
    attacker.write_text(_replace_bodies(SOL.read_text(), gauntlet(classmate, out, progress)))
    for p in (classmate, attacker, progress):
        os.chmod(p, 0o644)
    uid = 4242 if mode == "user" else 0  # conftest's UNPRIVILEGED_UID
    for p in (ws, progress, out.parent):
        os.chown(p, uid, uid)
    _cleanup()
    try:
        grade = course_cli(["grade", "99", attacker, classmate, "--format", "json", "--out", out, "--seed", "5",
                            "--timeout", "30"], as_user=mode == "user")
        check = course_cli(["check", "99", attacker, "--dir", ws, "--seed", "5"], as_user=mode == "user")
        left = {"drops": [p for p in TMP_DROPS if os.path.exists(p)],
                "planted": [str(p) for p in PLANTED if p.exists()]}
    finally:
        _cleanup()
    assert grade.returncode == 0, grade.stderr[-3000:]
    report = json.loads(out.read_text())
    by_sub = {Path(r["submission"]).name: r for r in report}
    return {"grade": by_sub, "check": check, "progress": json.loads(progress.read_text()), "left": left,
            "stderr": grade.stderr}


def _replace_bodies(src: str, bodies: dict[str, str]) -> str:
    import re

    for fn, body in bodies.items():
        pattern = re.compile(rf"(def {re.escape(fn)}\(.*?\n)([ \t]*)# BEGIN SOLUTION.*?\n(.*?)[ \t]*# END SOLUTION\n", re.S)
        m = pattern.search(src)
        assert m, fn
        indent = m.group(2)
        new = "".join(indent + line + "\n" for line in body.strip("\n").splitlines())
        src = src[: m.start(3)] + new + src[m.end():]
    return src


def _summary(runs) -> str:
    return "\n".join(f"{t['exercise']}: {t['score']} {t['status_detail']} {t['message'][:300]}"
                     for t in runs["grade"]["attacker.py"]["tests"])


def _test(runs, exercise: str) -> dict:
    return {t["exercise"]: t for t in runs["grade"]["attacker.py"]["tests"]}[exercise]


def test_case_1_dir_fd_relative_path(runs):
    t = _test(runs, "relu")
    assert t["score"] == 0, t


def test_case_2_deleted_working_folder(runs):
    t = _test(runs, "normalise")
    assert t["score"] == 0, t


def test_case_3_c_level_reads_and_writes(runs):
    t = _test(runs, "softmax")
    assert t["score"] == 0, t
    assert runs["left"]["drops"] == []  # nothing written to /tmp, /var/tmp or /dev/shm


def test_case_4_classmates_file(runs):
    t = _test(runs, "cosine_similarity_matrix")
    assert t["score"] == 0, t
    assert "CMDLINES 0" in t["output"]  # no grader's command line is visible
    mate = runs["grade"]["classmate.py"]
    assert mate["score"] == mate["max_score"] == 11


def test_case_8_no_code_planted_in_the_package_or_site_packages(runs):
    assert runs["left"]["planted"] == []
    assert _test(runs, "count_active")["score"] == 0
    # the report written after grading is the grader's own
    assert runs["grade"]["attacker.py"]["score"] == 5, _summary(runs)


def test_case_11_progress_file(runs):
    check = runs["check"]
    assert check.returncode == 0, check.stderr[-3000:]
    assert "Total 5/11" in check.stdout, check.stdout[-2000:]
    assert runs["progress"]["99"]["best"] == 5, runs["progress"]


def test_the_rest_is_graded_as_usual(runs):
    for name in ("top_k_indices", "Affine.forward", "mse", "fit_line"):
        t = _test(runs, name)
        assert t["score"] == t["max_score"], _summary(runs)


# ------------------------------------------------------------------------------------------------ in-process cases


@pytest.fixture(scope="module")
def grader():
    from course.lessons import find_lesson

    with Grader(find_lesson("99", DEMO.parent), seed=21, limits=Limits(timeout=30, disk_mb=16, files=64)) as g:
        yield g


def _submission(folder: Path, name: str, bodies: dict[str, str] | None = None, prelude: str = "") -> Path:
    src = _replace_bodies(SOL.read_text(), bodies or {})
    if prelude:
        src = src.replace("import torch\n", prelude.strip("\n") + "\nimport torch\n", 1)
    p = folder / name
    p.write_text(src)
    return p


@pytest.mark.parametrize("kind", ["link-to-reference", "folder-with-link", "link-to-shadow", "folder-with-dir-link"])
def test_case_5_links_are_refused(grader, tmp_path, kind):
    t = time.perf_counter()
    if kind == "link-to-reference":
        sub = tmp_path / "mine.py"
        sub.symlink_to(SOL)
    elif kind == "folder-with-link":
        sub = tmp_path / "folder"
        sub.mkdir()
        (sub / "work.py").symlink_to(SOL)
    elif kind == "link-to-shadow":
        sub = tmp_path / "shadow.py"
        sub.symlink_to("/etc/shadow")
    else:
        sub = tmp_path / "folder"
        sub.mkdir()
        (sub / "lesson").symlink_to(DEMO, target_is_directory=True)
        (sub / "mine.py").write_text("x = 1\n")
    r = grader.grade(sub)
    assert r.score == 0 and "link" in r.error, r.error
    assert "root:" not in r.error and "def relu" not in r.error
    assert time.perf_counter() - t < 5  # refused before anything runs


def test_case_5_bundle_ships_no_readable_answer_modules(tmp_path):
    """Gradescope: the zip's copy of the course is readable by root only, and Landlock keeps it out anyway."""
    from course.grading.bundle import SETUP

    assert "chmod -R go-rwx /autograder/source" in SETUP


def test_case_6_disk_is_capped_per_check_and_others_keep_their_points(grader, public_dir):
    folder = public_dir / "disk"
    folder.mkdir(mode=0o755)
    hog = _submission(folder, "hog.py", {
        "relu": f"""
import os
for d in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        open(os.path.join(d, "{MARK}-hog"), "wb").write(b"x" * (1 << 20))
    except OSError:
        pass
for i in range(10_000):
    with open(f"many-{{i}}", "wb") as f:
        f.write(b"x" * (1 << 20))
return x.clamp(min=0)
""",
        "count_active": """
for i in range(100_000):
    open(f"tiny-{i}", "w").close()
return int((x > threshold).sum())
"""})
    refs = [folder / f"ref{i}.py" for i in range(3)]
    for r in refs:
        shutil.copyfile(SOL, r)
    t = time.perf_counter()
    out = grader.grade_many([refs[0], hog, refs[1], refs[2]], jobs=2)
    assert time.perf_counter() - t < 240
    assert [r.score for r in out] == [11, 9, 11, 11], [(c.exercise, c.message) for r in out for c in r.checks if not c.passed]
    by = {c.exercise: c for c in out[1].checks}
    assert "wrote more than a check may" in by["relu"].message, by["relu"].message
    assert "wrote more than a check may" in by["count_active"].message, by["count_active"].message
    assert not any(os.path.exists(f"{d}/{MARK}-hog") for d in ("/tmp", "/var/tmp", "/dev/shm"))


def _worker_pids(grader) -> list[int]:
    pids = []
    for w in grader._workers:
        if w.proc is None:
            continue
        pids.append(w.proc.pid)
        try:  # under `unshare --fork` the fork server is the child of the unshare process
            pids += [int(p) for p in Path(f"/proc/{w.proc.pid}/task/{w.proc.pid}/children").read_text().split()]
        except OSError:
            pass
    return pids


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_case_7_no_descriptor_leaks(grader):
    grader.grade(SOL)
    before = {p: _fds(p) for p in _worker_pids(grader)}
    mine = _fds(os.getpid())
    for _ in range(3):  # 30 checks: the old fork server kept a pidfd open for each
        assert grader.grade(SOL).score == 11
    after = {p: _fds(p) for p in _worker_pids(grader)}
    assert after == before, (before, after)
    assert _fds(os.getpid()) == mine


def test_case_9_nan_is_never_a_value(tmp_path):
    """Lesson 05's first check is a judge (`got.min() < 0`, `(got > 0).mean()`): NaN slipped past it."""
    from course.lessons import find_lesson

    lesson = find_lesson("05", REPO / "lessons")
    src = (lesson.solutions_path).read_text()
    nan = _replace_bodies(src, {"generate_batch": """
n_instances = feature_probability.shape[0]
values = torch.rand(batch_size, n_instances, n_features)
active = torch.rand(batch_size, n_instances, n_features) < feature_probability[None, :, None]
return torch.where(active, values, torch.tensor(float("nan")))
"""})
    (tmp_path / "nan.py").write_text(nan)
    (tmp_path / "ref.py").write_text(src)
    with Grader(lesson, seed=3) as g:
        g.checks = g.checks[:1]
        bad, good = g.grade(tmp_path / "nan.py"), g.grade(tmp_path / "ref.py")
    assert good.score == good.max_score == 2
    assert bad.score == 0 and "NaN" in bad.checks[0].message, bad.checks[0].message


CASE_10 = [
    (["--timeout", "nan"], "timeout = nan"),
    (["--timeout", "inf"], "timeout = inf"),
    (["--timeout", "0"], "timeout = 0"),
    (["--memory", "10"], "memory_mb = 10"),
    (["--jobs", "0"], "--jobs"),
    (["--out", "/proc/no/such/report.json"], "can't write a folder for the results there"),
    (["--out", "FILE/report.json"], "is a file, not a folder"),
]


def test_case_10_options_are_checked_before_grading(tmp_path, capsys, course_cli):
    from course.cli import main

    (tmp_path / "FILE").write_text("")
    for args, phrase in CASE_10:
        args = [str(tmp_path / "FILE/report.json") if a == "FILE/report.json" else a for a in args]
        t = time.perf_counter()
        code = main(["grade", "99", str(SOL), str(SOL), "--format", "gradescope", *args])
        err = capsys.readouterr().err
        assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1, (args, code, err)
        assert time.perf_counter() - t < 5  # nothing was graded
    assert not list(tmp_path.rglob("*.tmp")) and sorted(f.name for f in tmp_path.iterdir()) == ["FILE"]
    p = course_cli(["grade", "99", SOL, "--timeout", "nan"])  # and the command itself: exit 2, one paragraph
    assert p.returncode == 2 and "timeout = nan" in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_case_12_a_slow_import_is_paid_once(grader, tmp_path):
    sub = _submission(tmp_path, "slow.py", prelude="import time\ntime.sleep(4)")
    t = time.perf_counter()
    r = grader.grade(sub)
    elapsed = time.perf_counter() - t
    assert r.score == 11, [(c.exercise, c.message) for c in r.checks]
    assert r.import_seconds >= 4
    if r.sandbox.get("import") == "once per submission":
        assert elapsed < 4 * 10, elapsed  # once per check would be 44 s and more
