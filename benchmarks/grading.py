"""Grading speed: worker start, per-check overhead, a whole lesson, a class; against a naive baseline.

    python benchmarks/grading.py [--repeats 3] [--class-size 8]

The baseline is the simple design this grader avoids: a fresh `python -I` process per check, importing torch
and the submission each time. Ours starts one fork server per job (torch and the lesson's imports loaded once)
and forks a child per check. Both run the same function on the same inputs, side by side, on this machine.
Prints a Markdown table (paste it into the README).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "tests" / "demo" / "lessons"


def naive_check_seconds(solutions: Path, repeats: int) -> float:
    """One fresh interpreter per check: import torch, import the submission, call relu, write the result."""
    code = (
        "import importlib.util, sys, torch\n"
        "from safetensors.torch import save_file\n"
        "spec = importlib.util.spec_from_file_location('submission', sys.argv[1])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "save_file({'out': m.relu(torch.randn(6, 7))}, sys.argv[2])\n"
    )
    times = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-I", "-c", code, str(solutions), os.path.join(d, "o.safetensors")],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--class-size", type=int, default=8)
    args = ap.parse_args()
    os.environ["COURSE_LESSONS_DIR"] = str(DEMO)

    from course.device import cpu_name
    from course.grading.grader import Grader
    from course.lessons import find_lesson

    lesson = find_lesson("99")
    rows = []

    cold, warm, per_check, direct = [], [], [], []
    for i in range(args.repeats):
        with Grader(lesson, seed=i) as g:
            g.prepare()
            t = time.perf_counter()
            r = g.grade(lesson.solutions_path)
            cold.append(time.perf_counter() - t)
            assert r.score == r.max_score, r
            t = time.perf_counter()
            r = g.grade(lesson.solutions_path)
            warm.append(time.perf_counter() - t)
            per_check += [c.seconds for c in r.checks if c.exercise != "fit_line"]
    import torch

    sol = lesson.load_solutions()
    x = torch.randn(6, 7)
    t = time.perf_counter()
    for _ in range(1000):
        sol.relu(x)
    direct_s = (time.perf_counter() - t) / 1000
    overhead = statistics.median(per_check) - direct_s
    naive = naive_check_seconds(lesson.solutions_path, args.repeats)
    n_checks = len(r.checks)

    subs = [lesson.solutions_path] * args.class_size
    class_times = {}
    for jobs in (1, 2):
        with Grader(lesson, seed=1) as g:
            g.prepare()
            t = time.perf_counter()
            g.grade_many(subs, jobs=jobs)
            class_times[jobs] = time.perf_counter() - t

    with Grader(lesson, seed=1) as g:
        layers = g.layers()
    print(f"Grading benchmark on {cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}, sandbox: {'; '.join(f'{k} {v}' for k, v in layers.items())}\n")
    print("| measure | ours | naive baseline (process per check) | ratio |")
    print("|---|---|---|---|")
    print(f"| overhead per check (median, trivial function) | {overhead * 1000:.0f} ms | {naive * 1000:.0f} ms | "
          f"{naive / max(overhead, 1e-9):.0f}x |")
    print(f"| demo lesson, {n_checks} checks, new grader (worker start included) | {statistics.median(cold):.1f} s | "
          f"{naive * n_checks:.1f} s (+ the 500-step fit) | {naive * n_checks / statistics.median(cold):.1f}x |")
    print(f"| demo lesson, {n_checks} checks, warm grader | {statistics.median(warm):.2f} s | | |")
    for jobs, secs in class_times.items():
        print(f"| class of {args.class_size} submissions, --jobs {jobs} | {secs:.1f} s "
              f"({secs / args.class_size:.2f} s each) | {naive * n_checks * args.class_size:.0f} s | "
              f"{naive * n_checks * args.class_size / secs:.1f}x |")


if __name__ == "__main__":
    main()
