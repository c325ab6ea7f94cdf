"""The Gradescope autograder zip, run locally with /autograder faked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

from course.grading.bundle import build, extract


def test_bundle_layout_and_run(demo, tmp_path):
    z = build(demo, tmp_path / "autograder.zip", timeout=30)
    names = zipfile.ZipFile(z).namelist()
    assert "setup.sh" in names and "run_autograder" in names
    assert "course_src/pyproject.toml" in names and "course_src/course/grading/grader.py" in names
    assert "course_src/lessons/99_demo/checks.py" in names
    assert not any("mutants" in n or "__pycache__" in n for n in names)

    root = tmp_path / "autograder"
    extract(z, root / "source")
    assert os.access(root / "source" / "run_autograder", os.X_OK)
    (root / "submission").mkdir()
    (root / "submission" / "my_work.py").write_text(demo.solutions_path.read_text())
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": sys.executable}
    p = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == results["max_score"] == 11, results
    assert {t["status"] for t in results["tests"]} == {"passed"}


def test_run_autograder_always_leaves_results(demo, tmp_path):
    root = tmp_path / "autograder"
    extract(build(demo, tmp_path / "a.zip"), root / "source")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": "/bin/false"}
    p = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    assert p.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not grade" in results["output"]
