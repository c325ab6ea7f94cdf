"""The Gradescope autograder zip, run locally with /autograder faked."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course.grading.bundle import FIXED_TIME, SETUP, build, extract
from course.lessons import find_lesson

REPO = Path(__file__).resolve().parents[2]


def _copy_demo(demo, tmp_path: Path, extra_toml: str) -> object:
    lessons = tmp_path / "lessons"
    shutil.copytree(demo.path, lessons / demo.slug)
    toml = lessons / demo.slug / "lesson.toml"
    toml.write_text(toml.read_text() + extra_toml)
    return find_lesson("99", lessons)


def test_bundle_layout_and_run(demo, tmp_path):
    """The zip grades a submission end to end; a submission reading the zip's own copy of an answer module
    (hole 5 of issue 9) gets nothing for it."""
    lesson = _copy_demo(demo, tmp_path, 'blocked_imports = ["course.superposition"]\n')
    z = build(lesson, tmp_path / "autograder.zip", timeout=30)
    names = zipfile.ZipFile(z).namelist()
    assert "setup.sh" in names and "run_autograder" in names
    assert "course_src/pyproject.toml" in names and "course_src/course/grading/grader.py" in names
    assert "course_src/lessons/99_demo/checks.py" in names
    assert not any("mutants" in n or "__pycache__" in n for n in names)
    assert not any(n.startswith("course_src/course/checkpoints/") for n in names)  # the demo loads none

    root = tmp_path / "autograder"
    extract(z, root / "source")
    assert os.access(root / "source" / "run_autograder", os.X_OK)
    (root / "submission").mkdir()
    copy = root / "source" / "course_src" / "course" / "superposition" / "model.py"
    src = demo.solutions_path.read_text().replace(
        "    return x.clamp(min=0)", f"    open({str(copy)!r}).read()\n    return x.clamp(min=0)", 1)
    assert str(copy) in src
    (root / "submission" / "my_work.py").write_text(src)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": sys.executable}
    p = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["max_score"] == 11 and results["score"] == 10, results
    relu = results["tests"][0]
    assert relu["name"] == "relu" and relu["status"] == "failed", relu
    assert {t["status"] for t in results["tests"][1:]} == {"passed"}


def test_bundle_ships_only_listed_checkpoints_with_fixed_timestamps(demo, tmp_path):
    shipped = sorted(p.name.split(".", 1)[0] for p in (REPO / "course" / "checkpoints").glob("*.safetensors"))
    if not shipped:
        pytest.skip("no checkpoints shipped yet")
    one = shipped[0]
    lesson = _copy_demo(demo, tmp_path, f'checkpoints = ["{one}"]\n')
    a = build(lesson, tmp_path / "a.zip")
    b = build(lesson, tmp_path / "b.zip")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()  # reproducible
    infos = zipfile.ZipFile(a).infolist()
    assert {i.date_time for i in infos} == {FIXED_TIME}
    ckpts = {i.filename.rsplit("/", 1)[1].split(".", 1)[0] for i in infos
             if i.filename.startswith("course_src/course/checkpoints/")}
    assert ckpts == {one}, ckpts
    assert "chmod -R go-rwx /autograder/source" in SETUP  # the copy of the course is root's alone in the image
    bad = _copy_demo(demo, tmp_path / "bad", 'checkpoints = ["no-such-model"]\n')
    with pytest.raises(Exception, match="no-such-model"):
        build(bad, tmp_path / "c.zip")
    assert not (tmp_path / "c.zip").exists()


def test_run_autograder_always_leaves_results(demo, tmp_path):
    root = tmp_path / "autograder"
    extract(build(demo, tmp_path / "a.zip"), root / "source")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": "/bin/false"}
    p = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    assert p.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not grade" in results["output"]
