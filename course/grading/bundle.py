"""`course gradescope NN --out autograder.zip`: an upload-ready Gradescope autograder for one lesson.

The zip holds, at its root, Gradescope's two entry points and the course source:

    setup.sh         installs Python, a venv and this package (CPU wheels of torch) into the image
    run_autograder   grades /autograder/submission into /autograder/results/results.json
    course_src/      pyproject.toml, course/ and lessons/NN_slug/ (all readable by root only once installed)

Only the checkpoints the lesson's `lesson.toml` lists under `checkpoints` are shipped (default: none), and every
entry has the same fixed timestamp and mode, in a fixed order, so the same sources give the same zip, byte for
byte. Each submission runs in its own Gradescope container; inside it, `course grade` runs the learner's code
in the usual sandbox (as `nobody`; with Landlock where the container allows it, so neither the reference nor the
zip's copy of the answer modules can be read). `AUTOGRADER_ROOT` and `COURSE_PYTHON` let a test run
`run_autograder` against a fake /autograder tree.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

from course.errors import CourseError
from course.lessons import REPO_ROOT, Lesson

FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # every entry's timestamp: the zip depends only on the sources

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi
python3 -m venv /opt/course-venv
/opt/course-venv/bin/pip install --quiet --upgrade pip
# CPU wheels of torch: graders need no GPU, and they are a tenth of the size
/opt/course-venv/bin/pip install --quiet --extra-index-url https://download.pytorch.org/whl/cpu /autograder/source/course_src
# the learner's code runs as `nobody`: it must not read the reference, the checks, or this copy of the course
# (its answer modules are blocked only in the installed copy)
chmod -R go-rwx /autograder/source
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this once per submission. It always leaves a results.json behind.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{COURSE_PYTHON:-/opt/course-venv/bin/python}}"
mkdir -p "$ROOT/results"
export COURSE_LESSONS_DIR="$ROOT/source/course_src/lessons"
"$PY" -m course grade {lesson} "$ROOT/submission" --format gradescope --out "$ROOT/results/results.json" \\
  --timeout {timeout} --memory {memory}
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  cat > "$ROOT/results/results.json" <<EOF
{{"score": 0, "max_score": {max_score}, "execution_time": 0, "visibility": "visible", "tests": [],
 "output": "The autograder could not grade this submission (exit status $status). Please tell your instructor."}}
EOF
fi
exit 0
"""

SKIP = {"__pycache__", "mutants", ".pytest_cache"}


def _add_tree(zf: zipfile.ZipFile, src: Path, dest: str, skip=lambda rel: False) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in SKIP or part.endswith(".egg-info") for part in rel.parts) or path.suffix == ".pyc" or skip(rel):
            continue
        if path.is_file() and not path.is_symlink():
            _add_bytes(zf, f"{dest}/{rel.as_posix()}", path.read_bytes(), executable=bool(path.stat().st_mode & 0o100))


def _add_bytes(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, wherever the zip is built
    zf.writestr(info, data)


def _add_text(zf: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    _add_bytes(zf, name, text.encode(), executable)


def checkpoint_files(lesson: Lesson, directory: Path) -> list[Path]:
    """The files of the checkpoints the lesson lists (NAME.safetensors, NAME.json and extras such as a
    tokenizer); a CourseError if one is not shipped."""
    files = sorted(p for p in directory.glob("*") if p.is_file()) if directory.is_dir() else []
    out = []
    for name in lesson.checkpoints:
        mine = [p for p in files if p.name.split(".", 1)[0] == name]
        if not any(p.suffix == ".safetensors" for p in mine):
            raise CourseError(f"Lesson {lesson.id}'s lesson.toml lists the checkpoint {name!r}, which is not in "
                              f"{directory} (see `course models`); fix the name or train it with `course train {name}`.")
        out += mine
    return out


def build(lesson: Lesson, out: str | os.PathLike, timeout: float = 60, memory_mb: int = 4096) -> Path:
    """Write the autograder zip for `lesson`; returns its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    max_score = sum(c.points for c in lesson.load_checks())
    checkpoints = REPO_ROOT / "course" / "checkpoints"
    keep = {p.name for p in checkpoint_files(lesson, checkpoints)}
    tmp = out.with_name(f".{out.name}.partial")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_text(zf, "setup.sh", SETUP, executable=True)
        _add_text(zf, "run_autograder", RUN.format(lesson=lesson.id, timeout=timeout, memory=memory_mb,
                                                   max_score=f"{max_score:g}"), executable=True)
        for name in ("pyproject.toml", "README.md"):
            if (REPO_ROOT / name).is_file():
                _add_bytes(zf, f"course_src/{name}", (REPO_ROOT / name).read_bytes())
        _add_tree(zf, REPO_ROOT / "course", "course_src/course",
                  skip=lambda rel: rel.parts[0] == "checkpoints" and len(rel.parts) > 1 and rel.parts[1] not in keep)
        _add_tree(zf, lesson.path, f"course_src/lessons/{lesson.slug}")
    os.replace(tmp, out)
    return out


def extract(zip_path: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Unzip keeping the executable bits (as Gradescope does); used by the tests."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = Path(dest) / info.filename
            zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
