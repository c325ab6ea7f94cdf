"""The `course` command: lessons for learners, grading for instructors, models for everyone.

    course list                          lessons, difficulty, time, exercises and points, your best scores
    course start 05 [--dir D] [--force]  copy lesson 05's exercises into your workspace
    course check 05 [FILE]               grade your copy, with hints, and record your best score
    course grade 05 SUB... [--format table|json|gradescope|csv] [--out P] [--jobs N] [--seed N]
                                         [--timeout S] [--memory MB]       grade a class's submissions
    course gradescope 05 --out autograder.zip                              a Gradescope autograder
    course app [--port N]                the Streamlit course app
    course models [--json]               shipped checkpoints;   course train NAME   rebuild one
    course census NAME [--json]          what a shipped model's units do (detectors, SAE latents)
    course featurevis MODEL LAYER [UNITS] [--out grid.png]   feature visualisations of a layer's units
    course sync [LESSON...] [--check]    regenerate exercises.py from solutions.py (course authors)
    course mutate 05 [--exercise NAME]   automatic mutants of the solution blocks: do the checks catch them?

A LESSON is a number (5, 05), a folder name (05_superposition) or a slug (superposition). Errors are one
paragraph saying what to do; exit status 2 means the command was used wrongly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from course.errors import CourseError, UsageError

STARS = lambda n: "*" * n + "." * (5 - n)  # noqa: E731


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="A mechanistic-interpretability course, offline.",
               formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    p.add_argument("--lessons-dir", help="the lessons folder (default: the clone's lessons/, or $COURSE_LESSONS_DIR)")
    p.add_argument("--device", help="auto, cpu, cuda or mps (default: $COURSE_DEVICE, else auto)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("list", help="list the lessons and your progress")
    s.add_argument("--dir", help="your workspace (default: ./workspace, or $COURSE_WORKSPACE)")

    s = sub.add_parser("start", help="copy a lesson's exercises into your workspace")
    s.add_argument("lesson")
    s.add_argument("--dir", help="your workspace (default: ./workspace, or $COURSE_WORKSPACE)")
    s.add_argument("--force", action="store_true", help="start over; your current file is kept as a backup")

    s = sub.add_parser("check", help="grade your work on a lesson, with hints")
    s.add_argument("lesson")
    s.add_argument("file", nargs="?", help="the file to grade (default: your workspace copy)")
    s.add_argument("--dir", help="your workspace (default: ./workspace, or $COURSE_WORKSPACE)")
    s.add_argument("--seed", type=int, help="replay a run with this seed")

    s = sub.add_parser("grade", help="grade many submissions (instructors)")
    s.add_argument("lesson")
    s.add_argument("submissions", nargs="+", metavar="SUBMISSION", help=".py files, or folders holding one")
    s.add_argument("--format", choices=["table", "json", "gradescope", "csv"], default="table")
    s.add_argument("--out", help="write here instead of standard output (gradescope with several submissions: a folder)")
    s.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    s.add_argument("--seed", type=int, help="seed for the checks' inputs (default: fresh, and reported)")
    s.add_argument("--timeout", type=float, help="wall-clock seconds per check (default: each check's own, 60)")
    s.add_argument("--memory", type=int, default=4096, help="MiB a check may allocate (default 4096)")

    s = sub.add_parser("gradescope", help="build a Gradescope autograder zip for a lesson")
    s.add_argument("lesson")
    s.add_argument("--out", default="autograder.zip")
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--memory", type=int, default=4096)

    s = sub.add_parser("app", help="start the Streamlit course app")
    s.add_argument("--port", type=int, default=8501)

    s = sub.add_parser("models", help="list the shipped checkpoints")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("train", help="rebuild a checkpoint from its recipe")
    s.add_argument("name")
    s.add_argument("--seed", type=int)
    s.add_argument("--out", help="folder to write to (default: the package's checkpoints)")

    s = sub.add_parser("census", help="measure what a shipped model's units do (detectors, SAE latents)")
    s.add_argument("name")
    s.add_argument("--json", action="store_true", help="print the census as JSON")

    _featurevis_parser(sub)

    s = sub.add_parser("sync", help="regenerate exercises.py from solutions.py (course authors)")
    s.add_argument("lessons", nargs="*", help="default: all")
    s.add_argument("--check", action="store_true", help="only report files out of date (exit 1 if any)")

    s = sub.add_parser("mutate", help="grade automatic mutants of a lesson's solutions (course authors)")
    s.add_argument("lesson")
    s.add_argument("--exercise", help="only this exercise's solution block (a function, or Class.method)")
    s.add_argument("--jobs", type=int, default=2, help="mutants graded at once (default 2)")
    s.add_argument("--seed", type=int, default=2024)
    s.add_argument("--limit", type=int, help="grade at most this many mutants")
    s.add_argument("--timeout", type=float, help="wall-clock seconds per check (default: each check's own)")
    s.add_argument("--list", action="store_true", help="only list the mutants, grade nothing")
    s.add_argument("--show-killed", action="store_true", help="also list the killed mutants and what caught them")
    s.add_argument("--json", action="store_true", help="every mutant with its score, as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.device:
        os.environ["COURSE_DEVICE"] = args.device
    if args.lessons_dir:
        os.environ["COURSE_LESSONS_DIR"] = str(Path(args.lessons_dir).resolve())
    try:
        return COMMANDS[args.command](args) or 0
    except UsageError as e:
        print(f"course: {e}", file=sys.stderr)
        return 2
    except CourseError as e:
        print(f"course: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("course: interrupted; nothing was lost (your files are untouched).", file=sys.stderr)
        return 130


# ------------------------------------------------------------------------------------------------- learner


def cmd_list(args) -> int:
    from course import progress
    from course.lessons import all_lessons

    lessons = all_lessons()
    if not lessons:
        print("No lessons yet.")
        return 0
    for lesson in lessons:
        best = progress.best(lesson.id, args.dir)
        mine = f"best {best[0]:g}/{best[1]:g}" if best else "not checked yet"
        pre = f", after {', '.join(f'{p:02d}' for p in lesson.prerequisites)}" if lesson.prerequisites else ""
        print(f"{lesson.id}  {lesson.title}")
        print(f"    difficulty {STARS(lesson.difficulty)}  ~{lesson.minutes} min{pre}  |  {mine}")
        try:
            checks = lesson.load_checks()
            points: dict[str, float] = {}
            for c in checks:
                points[c.exercise] = points.get(c.exercise, 0) + c.points
            total = sum(points.values())
            print(f"    {len(points)} exercises, {total:g} points: " + ", ".join(f"{k} ({v:g})" for k, v in points.items()))
        except CourseError as e:
            print(f"    (exercises unavailable: {e})")
    return 0


def workspace_file(lesson, directory) -> Path:
    from course import progress

    return progress.workspace(directory) / f"{lesson.slug}.py"


def cmd_start(args) -> int:
    from course.lessons import find_lesson

    lesson = find_lesson(args.lesson)
    if not lesson.exercises_path.is_file():
        raise CourseError(f"Lesson {lesson.id} has no exercises.py yet (course authors: run `course sync {lesson.id}`).")
    target = workspace_file(lesson, args.dir)
    where = f" --dir {_quote(args.dir)}" if args.dir else ""
    if target.exists() and not args.force:
        raise CourseError(f"You already have {target}; your work there is kept. Carry on with it and run "
                          f"`course check {lesson.id}{where}`, or start over with `course start {lesson.id}{where} "
                          "--force` (your current file is then saved as a backup first).")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        backup = target.with_name(f"{target.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(target, backup)
        print(f"Your previous work is saved as {backup}")
    shutil.copyfile(lesson.exercises_path, target)
    app = ("" if not args.dir else f" (the app's Check my work button grades the workspace it was started with: "
           f"start it with `COURSE_WORKSPACE={_quote(args.dir)} course app`)")
    print(f"Lesson {lesson.id}: {lesson.title}\nWrote {target}.\nRead {lesson.readme}, fill in each "
          f"`raise NotImplementedError`, then run `course check {lesson.id}{where}`{app}.")
    return 0


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(str(path))


def cmd_check(args) -> int:
    from course import progress
    from course.grading.grader import Grader
    from course.grading.report import text
    from course.lessons import find_lesson

    lesson = find_lesson(args.lesson)
    path = Path(args.file) if args.file else workspace_file(lesson, args.dir)
    if not path.exists():
        hint = "" if args.file else f" Start the lesson with `course start {lesson.id}`, or give the file: `course check {lesson.id} path/to/file.py`."
        raise UsageError(f"No work found at {path}.{hint}")
    with Grader(lesson, seed=args.seed) as grader:
        bar = _bar(len(grader.checks), f"checking lesson {lesson.id}")
        try:
            result = grader.grade(path, on_check=lambda r: bar.update(1))
        finally:
            bar.close()
    print(text(result))
    if progress.record(lesson.id, result.score, result.max_score, args.dir):
        print(f"  New best for lesson {lesson.id}: {result.score:g}/{result.max_score:g}.")
    return 0


# ------------------------------------------------------------------------------------------------- instructor


def cmd_grade(args) -> int:
    from course.grading import report
    from course.grading.grader import Grader, Limits
    from course.lessons import find_lesson

    lesson = find_lesson(args.lesson)
    if args.jobs < 1 or args.memory < 64 or (args.timeout is not None and args.timeout <= 0):
        raise UsageError("--jobs must be at least 1, --memory at least 64 (MiB) and --timeout positive.")
    missing = [s for s in args.submissions if not Path(s).exists()]
    if missing:
        raise UsageError(f"Not found: {', '.join(missing)}. Give .py files or folders holding one.")
    many = len(args.submissions) > 1
    with Grader(lesson, seed=args.seed, limits=Limits(timeout=args.timeout, memory_mb=args.memory)) as grader:
        bar = _bar(len(args.submissions) if many else len(grader.checks), f"grading lesson {lesson.id}")
        try:
            if many:
                results = grader.grade_many(args.submissions, jobs=args.jobs, on_done=lambda r: bar.update(1))
            else:
                results = [grader.grade(args.submissions[0], on_check=lambda r: bar.update(1))]
        finally:
            bar.close()

    if args.format == "gradescope" and many:
        out = Path(args.out or "results")
        out.mkdir(parents=True, exist_ok=True)
        for r in results:
            name = Path(r.submission).stem if Path(r.submission).is_file() else Path(r.submission).name
            (out / f"{name}.results.json").write_text(json.dumps(report.gradescope(r), indent=1))
        print(f"Wrote {len(results)} results files to {out}/", file=sys.stderr)
        return 0
    if args.format == "gradescope":
        body = json.dumps(report.gradescope(results[0]), indent=1)
    elif args.format == "json":
        body = json.dumps([report.as_json(r) for r in results] if many else report.as_json(results[0]), indent=1)
    elif args.format == "csv":
        body = report.csv_text(results)
    else:
        body = report.class_table(results) if many else report.text(results[0])
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.out).with_name(Path(args.out).name + ".tmp")
        tmp.write_text(body + "\n")
        os.replace(tmp, args.out)
        print(f"Wrote {args.out} (seed {grader.seed})", file=sys.stderr)
    else:
        print(body)
    return 0


def cmd_gradescope(args) -> int:
    from course.grading.bundle import build
    from course.lessons import find_lesson

    lesson = find_lesson(args.lesson)
    out = build(lesson, args.out, timeout=args.timeout, memory_mb=args.memory)
    print(f"Wrote {out} for lesson {lesson.id} ({lesson.title}). Upload it as the assignment's autograder "
          "(Gradescope: Configure Autograder > Zip file upload).")
    return 0


# ------------------------------------------------------------------------------------------------- app, models


def cmd_app(args) -> int:
    from course.lessons import REPO_ROOT

    app = Path(os.environ.get("COURSE_APP") or REPO_ROOT / "apps" / "app.py")
    if not app.is_file():
        raise CourseError(f"The app is not at {app}. Run the course from a clone installed with `pip install -e .`.")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.fileWatcherType", "none", "--server.port", str(args.port), "--browser.gatherUsageStats", "false"]
    from course import progress

    print(f"Starting the course app on http://localhost:{args.port} (Ctrl+C stops it). \"Check my work\" grades "
          f"your files in {progress.workspace().resolve()}.", file=sys.stderr)
    return _run_forwarding_signals(cmd)


def _run_forwarding_signals(cmd: list[str]) -> int:
    """Run `cmd` as a child; SIGTERM/SIGHUP/SIGINT sent to us go to it, and we wait for it to end, so that
    `kill <pid of course app>` stops the server too instead of leaving it serving on the port."""
    import signal

    child = subprocess.Popen(cmd)
    forwarded = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda signum, frame: child.send_signal(signum)) for sig in forwarded}
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP) else code


def cmd_models(args) -> int:
    from course import registry

    entries = registry.entries()
    if args.json:
        print(json.dumps([e.public() for e in entries], indent=1))
        return 0
    if not entries:
        print("No checkpoints shipped yet (they arrive with the lessons that need them).")
        return 0
    w = max(len(e.name) for e in entries)
    for e in entries:
        print(f"{e.name:<{w}}  {e.kind:<6}  {e.size_bytes / 1e6:6.2f} MB  {e.sha256[:12]}  {registry.describe(e.metrics)}")
    return 0


def cmd_train(args) -> int:
    from course import registry

    e = registry.train(args.name, directory=args.out, seed=args.seed, device=args.device)
    print(f"Trained {e.name}: {e.size_bytes / 1e6:.2f} MB, sha256 {e.sha256[:16]}..., {registry.describe(e.metrics, 8)}")
    return 0


def cmd_census(args) -> int:
    from course.census import command

    print(command(args.name, as_json=args.json))
    return 0


def cmd_sync(args) -> int:
    from course.lessons import all_lessons, find_lesson
    from course.markers import MarkerError, sync

    lessons = [find_lesson(a) for a in args.lessons] if args.lessons else all_lessons()
    stale = []
    for lesson in lessons:
        try:
            if sync(lesson, check_only=args.check):
                stale.append(lesson)
        except MarkerError as e:
            raise CourseError(f"Lesson {lesson.id}'s solutions.py has a marker problem: {e}") from None
    verb = "out of date" if args.check else "regenerated"
    for lesson in stale:
        print(f"{lesson.exercises_path} {verb}")
    if not stale:
        print("All exercise files are in sync with their solutions.")
    return 1 if (args.check and stale) else 0


def cmd_mutate(args) -> int:
    from course.grading import mutate
    from course.lessons import find_lesson

    lesson = find_lesson(args.lesson)
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1.")
    if args.list:
        wanted = (lambda o: o == args.exercise or o.startswith(args.exercise + ".")) if args.exercise else None
        for m in mutate.generate(lesson.solutions_path.read_text(), wanted)[: args.limit]:
            print(f"{m.number:4d}  {m.describe()}")
        return 0
    bar = _bar(0, f"grading mutants of lesson {lesson.id}")
    mutants = mutate.run(lesson, exercise=args.exercise, seed=args.seed, jobs=args.jobs, limit=args.limit,
                         timeout=args.timeout, progress=lambda done, total: (setattr(bar, "total", total), bar.update(1)))
    bar.close()
    if not mutants:
        raise UsageError(f"No mutants: lesson {lesson.id} has no solution block" +
                         (f" in {args.exercise!r}" if args.exercise else "") + ".")
    print(mutate.to_json(mutants) if args.json else mutate.report(mutants, show_killed=args.show_killed))
    return 0


# ------------------------------------------------------------------------------------------------- featurevis


def _featurevis_parser(sub) -> None:
    s = sub.add_parser("featurevis", help="feature visualisations of a layer's units, as a labelled PNG grid")
    s.add_argument("model", help="a vision model: scenenet, or inceptionv1 (its weights cached or online)")
    s.add_argument("layer", help="e.g. conv4 (scenenet) or mixed3b (inceptionv1)")
    s.add_argument("units", nargs="?", default="all", help="all (default), or numbers and ranges: 3,5,10-12")
    s.add_argument("--out", default="grid.png", help="the PNG to write (default grid.png)")
    s.add_argument("--steps", type=int, default=256, help="optimisation steps (default 256)")
    s.add_argument("--size", type=int, help="image side in pixels (default 64; 128 for inceptionv1)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--batch", type=int, help="units per optimisation (default: all at once)")
    s.add_argument("--param", choices=["fft", "pixel"], default="fft")
    s.add_argument("--no-decorrelate", dest="decorrelate", action="store_false", help="plain RGB colour")
    s.add_argument("--transforms", choices=["standard", "none"], default="standard")
    s.add_argument("--diversity", type=float, default=0.0)
    s.add_argument("--negative", action="store_true", help="images that most inhibit each unit")


def cmd_featurevis(args) -> int:
    from course.vision.fvgrid import command

    if args.steps < 0 or (args.size is not None and args.size < 8):
        raise UsageError("--steps must be >= 0 and --size >= 8.")
    print(command(args.model, args.layer, args.units, out=args.out, steps=args.steps, size=args.size, seed=args.seed,
                  batch=args.batch, param=args.param, decorrelate=args.decorrelate, transforms=args.transforms,
                  diversity=args.diversity, negative=args.negative))
    return 0


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="check" if "lesson" in desc else "item", leave=False,
                disable=not sys.stderr.isatty() and os.environ.get("COURSE_PROGRESS") != "1")


COMMANDS = {
    "list": cmd_list, "start": cmd_start, "check": cmd_check, "grade": cmd_grade, "gradescope": cmd_gradescope,
    "app": cmd_app, "models": cmd_models, "train": cmd_train, "census": cmd_census, "sync": cmd_sync,
    "mutate": cmd_mutate, "featurevis": cmd_featurevis,
}
