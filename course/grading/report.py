"""Report formats for grading results: the learner's friendly text, a class table, CSV, JSON and Gradescope.

Gradescope's `results.json` (https://gradescope-autograders.readthedocs.io/en/latest/specs/) gets exactly its
fields: top-level `score`, `max_score`, `execution_time`, `output`, `visibility`, `stdout_visibility` and
`tests[]` with `name`, `number`, `score`, `max_score`, `status` ("passed"/"failed"), `output`, `visibility`.
Our `json` format is the same structure plus `seed`, `lesson`, `submission`, `sandbox` and per-test
`status_detail` and timings, so a run can be replayed with `--seed`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from course.grading.grader import PASSED, GradeResult

MARK = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "timeout": "TIME", "crashed": "CRASH", "error": "ERROR"}


def _check_output(c) -> str:
    parts = [c.message] if c.message else []
    if c.hint:
        parts.append(f"Hint: {c.hint}")
    if c.printed.strip():
        parts.append("Your code printed (shown for debugging; it does not affect the score):\n" + c.printed.rstrip())
    return "\n".join(parts)


def gradescope(r: GradeResult) -> dict:
    head = f"Lesson {r.lesson}: {r.lesson_title}. Score {r.score:g}/{r.max_score:g}. Inputs drawn with seed {r.seed}."
    return {
        "score": r.score,
        "max_score": r.max_score,
        "execution_time": round(r.seconds, 3),
        "output": head + (f"\n\n{r.error}" if r.error else ""),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": c.title,
                "number": str(c.number),
                "score": c.points,
                "max_score": c.max_points,
                "status": "passed" if c.status == PASSED else "failed",
                "output": _check_output(c),
                "visibility": "visible",
            }
            for c in r.checks
        ],
    }


def as_json(r: GradeResult) -> dict:
    out = gradescope(r)
    out.update(seed=r.seed, lesson=r.lesson, lesson_title=r.lesson_title, submission=r.submission,
               error=r.error, sandbox=r.sandbox)
    for t, c in zip(out["tests"], r.checks):
        t.update(exercise=c.exercise, status_detail=c.status, message=c.message, hint=c.hint,
                 time_s=round(c.seconds, 4), cpu_s=round(c.cpu_seconds, 4), max_rss_mb=round(c.max_rss_mb, 1))
    return out


def text(r: GradeResult, width: int = 100) -> str:
    """The learner's report: a line per check, what went wrong and a hint, then the total."""
    lines = [f"Lesson {r.lesson}: {r.lesson_title}  ({Path(r.submission).name}, seed {r.seed})", ""]
    if r.error:
        lines += [_indent(r.error, "  "), ""]
    title_w = min(max((len(c.title) for c in r.checks), default=10), 48)
    for c in r.checks:
        pts = f"{c.points:g}/{c.max_points:g}"
        lines.append(f"  {MARK.get(c.status, c.status.upper()):5} {c.title[:title_w]:<{title_w}}  {pts:>7}")
        if c.status != PASSED and not r.error:
            if c.message:
                lines.append(_indent(c.message, "          "))
            if c.hint:
                lines.append(_indent("Hint: " + c.hint, "          "))
            if c.printed.strip():
                lines.append(_indent("printed: " + c.printed.strip()[:300], "          "))
    lines += ["", f"  Total {r.score:g}/{r.max_score:g}" + ("  - all checks pass!" if r.score == r.max_score and r.max_score else "")]
    return "\n".join(lines)


def class_table(results: list[GradeResult]) -> str:
    """One line per submission: the totals an instructor scans first."""
    if not results:
        return "(no submissions)"
    name_w = max(len(_name(r)) for r in results)
    lines = [f"{'submission':<{name_w}}  {'score':>9}  {'passed':>7}  note"]
    for r in results:
        passed = sum(c.status == PASSED for c in r.checks)
        note = r.error.splitlines()[0][:60] if r.error else ""
        lines.append(f"{_name(r):<{name_w}}  {r.score:>4g}/{r.max_score:<4g}  {passed:>3}/{len(r.checks):<3}  {note}")
    return "\n".join(lines)


def csv_text(results: list[GradeResult]) -> str:
    """One row per submission, one column per check (its points), then the total."""
    buf = io.StringIO()
    titles = [c.title for c in results[0].checks] if results else []
    w = csv.writer(buf)
    w.writerow(["submission", *titles, "score", "max_score", "seed", "error"])
    for r in results:
        w.writerow([r.submission, *[f"{c.points:g}" for c in r.checks], f"{r.score:g}", f"{r.max_score:g}", r.seed,
                    r.error.splitlines()[0] if r.error else ""])
    return buf.getvalue()


def _name(r: GradeResult) -> str:
    return r.submission


def _indent(s: str, pad: str) -> str:
    return "\n".join(pad + line for line in s.splitlines())
