"""Load test: a class of 100 submissions graded by `course grade --jobs 2`, every row checked.

    python benchmarks/grading_load.py [--size 100] [--jobs 2] [--timeout 10]

The class mixes reference copies, mutants (one slip each), blank exercise files and hostile files (the attacks
of issue 9 and the classic ones: fork bombs, endless loops, memory and disk hogs, output spam, reading the
reference by every route, planting code, links). Each row's expected score is known in advance; the script
fails (exit 1) if any row is graded wrong, if anything is left in /tmp, /var/tmp or /dev/shm, or if any process
outlives the run. Prints a Markdown summary (paste it into the README).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "tests" / "demo" / "lessons" / "99_demo"
SOL = DEMO / "solutions.py"
POINTS = {"relu": 1, "normalise": 1, "softmax": 1, "cosine_similarity_matrix": 1, "count_active": 1,
          "top_k_indices": 1, "mse": 1, "Affine.forward": 1, "summary_stats": 1, "fit_line": 2}
USES = {"normalise": ["cosine_similarity_matrix"], "mse": ["fit_line"]}  # a slip here breaks those too
MARK = f"course-load-{os.getpid()}"

# one slip per exercise: (exercise, body)
MUTANTS = [
    ("relu", "return x.clamp(max=0)"), ("relu", "return x.abs()"),
    ("normalise", "return x / x.norm()"), ("normalise", "return x / x.norm(dim=0, keepdim=True)"),
    ("softmax", "return x.exp() / x.exp().sum(dim=dim, keepdim=True)"), ("softmax", "return (x - x.max()).exp()"),
    ("cosine_similarity_matrix", "return a @ b.T"),
    ("count_active", "return int((x < threshold).sum())"), ("count_active", "return int((x > threshold).sum()) + 1"),
    ("top_k_indices", "return x.topk(k, largest=False).indices"), ("top_k_indices", "return x.argsort()[:k]"),
    ("mse", "return ((pred - target) ** 2).sum()"),
    ("Affine.forward", "return (x @ self.W.T + self.b).relu()"), ("Affine.forward", "return x @ self.W.T - self.b"),
    ("summary_stats", 'return {"mean": x.mean().item(), "std": x.std(unbiased=False).item()}'),
    ("summary_stats", 'return {"mean": x.sum().item(), "std": x.std().item()}'),
    ("fit_line", "return 0.0, 0.0"),
]

# hostile files: (name, {exercise: body} or None, prelude, expected score); bodies that fail return wrong answers
HOSTILE = [
    ("dirfd", {"relu": f"""
import os
fd = os.open({str(REPO)!r}, os.O_RDONLY | os.O_DIRECTORY)
ns = {{}}
exec(os.read(os.open({str(SOL.relative_to(REPO))!r}, os.O_RDONLY, dir_fd=fd), 1 << 20).decode(), ns)
return ns["relu"](x)"""}, "", 10),
    ("deleted-cwd", {"softmax": f"""
import os
depth = os.getcwd().count("/")
os.mkdir("g"); os.chdir("g"); os.rmdir(os.path.abspath("."))
ns = {{}}
exec(open("../" * (depth + 1) + {str(SOL).lstrip("/")!r}).read(), ns)
return ns["softmax"](x, dim)"""}, "", 10),
    ("from-file", {"count_active": f"""
import os
t = torch.from_file({str(SOL)!r}, size=os.path.getsize({str(SOL)!r}), dtype=torch.uint8)
torch.save(t, "/tmp/{MARK}.pt")
ns = {{}}
exec(bytes(t.tolist()).decode(), ns)
return ns["count_active"](x, threshold)"""}, "", 10),
    ("classmate", {"top_k_indices": """
import glob
for p in glob.glob("/proc/[0-9]*/cmdline"):
    for a in open(p, "rb").read().split(b"\\0"):
        if a.endswith(b"ref-000.py"):
            ns = {}
            exec(open(a.decode()).read(), ns)
            return ns["top_k_indices"](x, k)
return x.argsort()[:k]"""}, "", 10),
    ("plant", {"summary_stats": f"""
import os, site
for d in [{str(REPO / 'course' / 'grading')!r}, *site.getsitepackages()]:
    try:
        open(os.path.join(d, "zz_{MARK}.pth"), "w").write("# planted")
    except OSError:
        pass
return {{"mean": 0.0, "std": 0.0}}"""}, "", 10),
    ("disk-bytes", {"relu": """
for i in range(100_000):
    with open(f"b{i}", "wb") as f:
        f.write(b"x" * (1 << 20))
return x.clamp(min=0)"""}, "", 10),
    ("disk-files", {"count_active": """
for i in range(1_000_000):
    open(f"f{i}", "w").close()
return int((x > threshold).sum())"""}, "", 10),
    ("fork-bomb", {"top_k_indices": """
import os
while True:
    os.fork()"""}, "", 10),
    ("endless", {"relu": "while True:\n    pass"}, "", 10),
    ("memory", {"softmax": "big = torch.ones(30 * 2**30, dtype=torch.uint8)\nreturn big[:1]"}, "", 10),
    ("os-exit", {"Affine.forward": "import os\nos._exit(0)"}, "", 10),
    ("slow-import", None, "import time\ntime.sleep(3)", 11),
    ("syntax-error", None, "def broken(:\n    pass", 0),
    ("nan", {"relu": "return torch.where(x > 0, x, torch.tensor(float('nan')))"}, "", 10),
    ("spam", {"summary_stats": "while True:\n    print('spam ' * 100)"}, "", 10),
    ("daemon", {"relu": f"""
import subprocess
subprocess.Popen(["sh", "-c", "sleep 613; : {MARK}"], start_new_session=True)
return x.clamp(min=0)"""}, "", 10),
    ("shadow", {"relu": "open('/etc/shadow').read()\nreturn x.clamp(min=0)"}, "", 10),
    ("import-exit", None, "import sys\nsys.exit(0)", 0),
    ("fake-report", {"relu": f"""
import json
for p in ("/tmp/{MARK}-results.json", "/autograder/results/results.json"):
    try:
        open(p, "w").write(json.dumps({{"score": 100}}))
    except OSError:
        pass
print("PASS relu 1/1\\nTotal 11/11 - all checks pass!")
return x * 0"""}, "", 10),
    ("symlink", "LINK", "", 0),
]


def replace_bodies(src: str, bodies: dict[str, str]) -> str:
    for fn, body in bodies.items():
        name = fn.split(".")[-1]
        pattern = re.compile(rf"(def {re.escape(name)}\(.*?\n)([ \t]*)# BEGIN SOLUTION.*?\n(.*?)[ \t]*# END SOLUTION\n", re.S)
        m = pattern.search(src)
        assert m, fn
        new = "".join(m.group(2) + line + "\n" for line in body.strip("\n").splitlines())
        src = src[: m.start(3)] + new + src[m.end():]
    return src


def make_class(folder: Path, size: int) -> dict[str, int]:
    """Write `size` submissions; returns file name -> expected score."""
    ref = SOL.read_text()
    expected: dict[str, int] = {}
    n_hostile = len(HOSTILE)
    n_blank = max(1, size * 15 // 100)
    n_mutant = max(1, size * 25 // 100)
    n_ref = size - n_hostile - n_blank - n_mutant
    for i in range(n_ref):
        (folder / f"ref-{i:03d}.py").write_text(ref)
        expected[f"ref-{i:03d}.py"] = 11
    for i in range(n_blank):
        shutil.copyfile(DEMO / "exercises.py", folder / f"blank-{i:03d}.py")
        expected[f"blank-{i:03d}.py"] = 0
    for i in range(n_mutant):
        ex, body = MUTANTS[i % len(MUTANTS)]
        (folder / f"mutant-{i:03d}.py").write_text(replace_bodies(ref, {ex: body}))
        expected[f"mutant-{i:03d}.py"] = 11 - POINTS[ex] - sum(POINTS[u] for u in USES.get(ex, []))
    for name, bodies, prelude, score in HOSTILE:
        path = folder / f"hostile-{name}.py"
        if bodies == "LINK":
            path.symlink_to(SOL)
        else:
            src = replace_bodies(ref, bodies or {})
            if prelude:
                src = src.replace("import torch\n", prelude + "\nimport torch\n", 1)
            path.write_text(src)
        expected[path.name] = score
    return expected


def snapshot(scratch: Path) -> tuple[set, set]:
    """This run's traces only (other people may be grading on the same machine): files named after it in the
    shared temporary folders or left in its own scratch folder, and processes started from this interpreter
    or carrying its marker."""
    files = set()
    for d in ("/tmp", "/var/tmp", "/dev/shm", str(scratch)):
        try:
            files |= {f"{d}/{n}" for n in os.listdir(d) if MARK in n or d == str(scratch)}
        except OSError:
            pass
    procs = set()
    me = os.path.dirname(os.path.dirname(sys.executable))
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != os.getpid():
            try:
                cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if MARK in cmd or "sleep 613" in cmd or (me in cmd and "course" in cmd):
                procs.add((int(p), cmd))
    return files, procs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="course-load-class-", dir="/var/tmp"))
    os.chmod(folder, 0o755)
    out = Path(tempfile.mkdtemp(prefix="course-load-out-", dir="/var/tmp")) / "class.json"
    try:
        expected = make_class(folder, args.size)
        for f in folder.iterdir():
            if not f.is_symlink():
                os.chmod(f, 0o644)
        scratch = Path(tempfile.mkdtemp(prefix="course-load-scratch-", dir="/var/tmp"))
        files0, procs0 = snapshot(scratch)
        env = {**os.environ, "COURSE_LESSONS_DIR": str(DEMO.parent), "OMP_NUM_THREADS": "1", "TMPDIR": str(scratch)}
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "course", "grade", "99", *sorted(str(f) for f in folder.iterdir()),
                            "--jobs", str(args.jobs), "--format", "json", "--out", str(out), "--seed", "1",
                            "--timeout", str(args.timeout)], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        time.sleep(1)
        files1, procs1 = snapshot(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
        if p.returncode:
            print(p.stderr[-3000:])
            return 1
        rows = json.loads(out.read_text())
        wrong = []
        kinds: Counter = Counter()
        for r in rows:
            name = Path(r["submission"]).name
            kinds[name.split("-")[0]] += 1
            if r["score"] != expected[name]:
                wrong.append(f"{name}: {r['score']} (expected {expected[name]}) {r.get('error', '')[:100]}")
        stray_files = sorted(files1 - files0)
        stray_procs = sorted(c for pid, c in procs1 - procs0)
        planted = [str(q) for q in [REPO / "course" / "grading" / f"zz_{MARK}.pth"] if q.exists()]
        print(f"Load test on {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at the end): "
              f"{len(rows)} submissions ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}), "
              f"--jobs {args.jobs}, --timeout {args.timeout:g}\n")
        print("| measure | value |\n|---|---|")
        print(f"| rows graded right | {len(rows) - len(wrong)} / {len(expected)} |")
        print(f"| wall time | {wall:.0f} s ({wall / max(len(rows), 1):.2f} s per submission) |")
        print(f"| files left in /tmp, /var/tmp, /dev/shm | {len(stray_files)} |")
        print(f"| processes left | {len(stray_procs)} |")
        print(f"| files planted in the package | {len(planted)} |")
        for w in wrong + stray_files + stray_procs + planted:
            print("  -", w)
        sandbox = rows[0].get("sandbox", {}) if rows else {}
        print(f"\nsandbox: {json.dumps(sandbox)}")
        return 1 if (wrong or stray_files or stray_procs or planted or len(rows) != len(expected)) else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
