"""The grader end to end on the demo lesson: deterministic per seed, fresh inputs per seed, hints,
behavioural judges, clear errors for bad submissions, and every report format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from course.grading import report
from course.grading.grader import Grader, Limits, check_seed


@pytest.fixture(scope="module")
def grader():
    from course.lessons import find_lesson

    DEMO_LESSONS = Path(__file__).resolve().parents[1] / "demo" / "lessons"

    with Grader(find_lesson("99", DEMO_LESSONS), seed=11) as g:
        yield g


def test_same_seed_same_inputs_new_seed_new_inputs(grader):
    again = Grader(grader.lesson, seed=11)
    other = Grader(grader.lesson, seed=12)
    a, b, c = grader.prepare()[0], again.prepare()[0], other.prepare()[0]
    assert a.tensors["t0"].equal(b.tensors["t0"]) and a.expected.equal(b.expected)
    assert not a.tensors["t0"].equal(c.tensors["t0"])
    assert check_seed(1, "a") != check_seed(1, "b") != check_seed(2, "a")


def test_hints_and_messages(grader, make_submission):
    sub = make_submission({"normalise": "return x / x.norm()", "top_k_indices": "return x.topk(k).indices.int()",
                           "count_active": "return float((x > threshold).sum()) + 0.5"})
    r = {c.exercise: c for c in grader.grade(sub).checks}
    assert r["normalise"].hint.startswith("You divided by the norm of the whole matrix")
    assert "dtype" in r["top_k_indices"].message
    assert "whole number" in r["count_active"].message
    assert r["relu"].passed and r["relu"].seconds < 5


def test_behavioural_judge(grader, make_submission):
    sub = make_submission({"fit_line": "return 0.0, 0.0"})
    c = {c.exercise: c for c in grader.grade(sub).checks}["fit_line"]
    assert c.status == "failed" and "least squares gives" in c.message


@pytest.mark.parametrize("case, phrase", [
    ("missing-function", "no `relu`"),
    ("wrong-type", "can't be graded"),
    ("raises", "ZeroDivisionError"),
])
def test_learner_errors_explained(grader, make_submission, case, phrase):
    if case == "missing-function":
        sub = make_submission()
        sub.write_text(sub.read_text().replace("def relu(", "def relu_renamed("))
    elif case == "wrong-type":
        sub = make_submission({"relu": "return object()"})
    else:
        sub = make_submission({"relu": "return 1 / 0"})
    c = grader.grade(sub).checks[0]
    assert c.points == 0 and phrase in c.message, c.message
    if case == "raises":
        assert "line" in c.message


def test_missing_or_odd_submissions(grader, tmp_path):
    r = grader.grade(tmp_path / "nope.py")
    assert r.score == 0 and "does not exist" in r.error
    (tmp_path / "notes.txt").write_text("hi")
    assert "not a Python file" in grader.grade(tmp_path / "notes.txt").error
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "a.py").write_text("")
    (folder / "b.py").write_text("")
    assert "2 .py files" in grader.grade(folder).error


def test_folder_submission_and_reports(grader, tmp_path, demo):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "whatever_name.py").write_text(demo.solutions_path.read_text())
    r = grader.grade(folder)
    assert r.score == r.max_score == 11

    gs = report.gradescope(r)
    assert set(gs) >= {"score", "max_score", "execution_time", "output", "tests"}
    for t in gs["tests"]:
        assert set(t) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed") and isinstance(t["number"], str)
    js = report.as_json(r)
    assert js["seed"] == 11 and all("time_s" in t for t in js["tests"])
    json.dumps(js)
    rows = list(csv.reader(io.StringIO(report.csv_text([r, r]))))
    assert rows[0][0] == "submission" and rows[0][1] == "relu" and len(rows) == 3 and rows[1][-4] == "11"
    assert "Total 11/11" in report.text(r)
    assert "11/11" in report.class_table([r])


def test_grade_many_in_parallel_keeps_order(grader, demo, make_submission):
    subs = [demo.solutions_path, demo.exercises_path, make_submission({"relu": "return x"})]
    out = grader.grade_many(subs, jobs=3)
    assert [r.score for r in out] == [11, 0, 10]


def test_reference_failure_is_reported_not_raised(demo, make_submission, monkeypatch):
    g = Grader(demo, seed=1)
    monkeypatch.setattr(g.checks[0], "inputs", lambda gen: 1 / 0)
    g._prepared = None
    r = g.grade(demo.solutions_path)
    assert r.checks[0].status == "error" and "instructor" in r.checks[0].message
    assert r.checks[1].passed


def test_blocked_third_party_module_that_is_missing_is_skipped():
    """Lesson 00 blocks captum (a test dependency): a learner's machine without it must still grade."""
    from course.errors import CourseError
    from course.grading.grader import module_paths

    paths = module_paths(("no_such_package_for_the_course", "course.vision.circuits"))
    assert len(paths) == 1 and paths[0].endswith("circuits.py")
    with pytest.raises(CourseError, match="not an importable module"):
        module_paths(("course.no_such_module",))
