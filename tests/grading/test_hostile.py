"""Hostile submissions: each attack costs only the exercise it sits in, and grading finishes in bounds.

The demo lesson has ten exercises. Each gauntlet puts a different attack in five of them and leaves the other
five correct; the grader must fail exactly the attacked ones, pass the rest, say why, and stay up.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from course.grading.grader import Grader, Limits

ATTACKS_A = {
    # an object whose __eq__ always says yes
    "relu": "class Yes:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\nreturn Yes()",
    # a tensor subclass that claims to be close to anything, holding wrong numbers
    "Affine.forward": (
        "class Liar(torch.Tensor):\n"
        "    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        if func in (torch.allclose, torch.equal): return True\n"
        "        return super().__torch_function__(func, types, args, kwargs or {})\n"
        "    def __eq__(self, other): return True\n"
        "return torch.zeros(x.shape[0], 3).as_subclass(Liar)"
    ),
    # os._exit before returning
    "softmax": "import os\nos._exit(0)",
    # an endless loop
    "count_active": "while True:\n    pass",
    # a 30 GiB allocation
    "top_k_indices": "big = torch.ones(30 * 2**30, dtype=torch.uint8)\nreturn big[:k].long()",
}

ATTACKS_B = {
    # sys.exit instead of returning
    "summary_stats": "import sys\nsys.exit(0)",
    # a fork bomb, through every door
    "top_k_indices": (
        "import os, subprocess\n"
        "for spawn in (lambda: os.fork(), lambda: subprocess.Popen(['sleep', '1000']), lambda: os.system('sleep 1000 &')):\n"
        "    try:\n        spawn()\n    except PermissionError:\n        pass\n"
        "while True:\n    os.fork()"
    ),
    # read the reference solutions, then the checks
    "relu": (
        "import pathlib\n"
        f"src = pathlib.Path({str(Path(__file__).resolve().parents[1] / 'demo' / 'lessons' / '99_demo' / 'solutions.py')!r}).read_text()\n"
        "return x.clamp(min=0)"
    ),
    # import the reference by putting the lesson on sys.path
    "normalise": (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[1] / 'demo' / 'lessons' / '99_demo')!r})\n"
        "import solutions\n"
        "return solutions.normalise(x)"
    ),
    # write a fake results.json where a report might go, then return a wrong answer
    "cosine_similarity_matrix": (
        "import json, os\n"
        "for p in ('/tmp/results.json', os.path.expanduser('~/../results.json'), '/autograder/results/results.json'):\n"
        "    try:\n        open(p, 'w').write(json.dumps({'score': 100}))\n    except OSError:\n        pass\n"
        "return torch.zeros(a.shape[0], b.shape[0])"
    ),
    # print fake PASSED lines and a perfect total, return nonsense
    "softmax": "print('PASS  softmax  1/1\\nTotal 11/11  - all checks pass!\\nPASSED')\nreturn x * 0",
}


@pytest.fixture(scope="module")
def shared():
    """One grader (one fork server) for the hostile files below, graded one after another: each attack must
    also leave the server fit for the next submission."""
    from course.lessons import find_lesson

    with Grader(find_lesson("99", Path(__file__).resolve().parents[1] / "demo" / "lessons"), seed=7,
                limits=Limits(timeout=5, file_mb=2)) as g:
        yield g


def _method_key(name: str) -> str:
    return name.split(".")[-1]


@pytest.mark.parametrize("attacks", [ATTACKS_A, ATTACKS_B], ids=["gauntlet-A", "gauntlet-B"])
def test_each_attack_costs_only_its_exercise(shared, make_submission, attacks, tmp_path):
    sub = make_submission({_method_key(k): v for k, v in attacks.items()})
    t = time.perf_counter()
    result = shared.grade(sub)
    elapsed = time.perf_counter() - t
    by_ex = {c.exercise: c for c in result.checks}
    for name in attacks:
        assert by_ex[name].points == 0, (name, by_ex[name])
        assert by_ex[name].message, f"{name}: a failure must say why"
    for name, c in by_ex.items():
        if name not in attacks:
            assert c.passed, (name, c.status, c.message)
    assert elapsed < 60, f"grading took {elapsed:.1f} s"
    if attacks is ATTACKS_A:
        assert "os._exit" in by_ex["softmax"].message or "ended the process" in by_ex["softmax"].message
        assert by_ex["count_active"].status == "timeout"
        assert "memory" in by_ex["top_k_indices"].message
    else:
        assert "sys.exit" in by_ex["summary_stats"].message
        assert "not allowed" in by_ex["relu"].message
        assert not Path("/tmp/results.json").exists() or "100" not in Path("/tmp/results.json").read_text()
        assert "PASS" in by_ex["softmax"].printed  # shown to the learner, labelled, and ignored


IMPORT_ATTACKS = {
    "keyboard-interrupt": ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    "system-exit": ("import sys\nsys.exit(0)", "SystemExit"),
    "os-exit": ("import os\nos._exit(0)", "exit code 0"),
    "endless-import": ("while True:\n    pass", "longer than"),
    "syntax-error": ("def broken(:\n    pass", "line 3"),
    "patch-everything": (
        "import torch, sys, types\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.equal = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "sys.modules['course.grading.compare'] = types.SimpleNamespace(compare=lambda *a, **k: None)\n",
        None,
    ),
    # tampering with the transport helper only garbles the tamperer's own answers
    "tamper-codec": ("import course.grading.codec as c\nc.encode = lambda v: ({'__tensor__': 't0'}, {})", "tampered"),
}


@pytest.mark.parametrize("case", sorted(IMPORT_ATTACKS))
def test_import_time_attacks(shared, make_submission, case):
    prelude, expected = IMPORT_ATTACKS[case]
    if case == "patch-everything":
        # patching the grader's tools inside the sandbox changes nothing outside it: wrong answers still fail
        sub = make_submission({"relu": "return x", "mse": "return (pred - target).abs().mean()"}, prelude=prelude)
    else:
        sub = make_submission(prelude=prelude)
    t = time.perf_counter()
    result = shared.grade(sub)
    assert time.perf_counter() - t < 60
    if expected == "tampered":
        assert result.score == 0 and all(c.message for c in result.checks)
        return
    if expected is None:
        by_ex = {c.exercise: c for c in result.checks}
        assert by_ex["relu"].points == 0 and by_ex["mse"].points == 0
        assert by_ex["softmax"].passed  # the rest is graded as usual
        return
    assert result.score == 0
    assert expected in result.error, result.error
    assert all(c.points == 0 and c.message for c in result.checks)


def test_nothing_outlives_grading(shared, make_submission, tmp_path):
    """Detached, double-forked processes: refused by the audit hook, and killed by the namespace if not."""
    marker = f"course-test-daemon-{os.getpid()}"
    body = (
        "import os, subprocess\n"
        f"subprocess.Popen(['sh', '-c', 'sleep 300; : {marker}'], start_new_session=True)\n"
        "return x.clamp(min=0)"
    )
    result = shared.grade(make_submission({"relu": body}))
    assert {c.exercise: c for c in result.checks}["relu"].points == 0
    time.sleep(0.2)
    assert marker not in os.popen("ps -eo args").read()


@pytest.fixture
def bare_sandbox(monkeypatch):
    """The sandbox of a machine without namespaces, Landlock or a user to drop to: rlimits and the audit hook."""
    from course.grading.sandbox import Sandbox

    monkeypatch.setenv("COURSE_SANDBOX_NO_NAMESPACES", "1")
    monkeypatch.setenv("COURSE_SANDBOX_NO_DROP", "1")
    monkeypatch.setenv("COURSE_SANDBOX_NO_LANDLOCK", "1")
    Sandbox.probe.cache_clear()
    yield Sandbox.probe()
    Sandbox.probe.cache_clear()


def test_fallback_sandbox_still_holds(demo, make_submission, bare_sandbox):
    assert not bare_sandbox.pid_namespace and bare_sandbox.uid is None
    attacks = {**ATTACKS_B, "count_active": ATTACKS_A["count_active"], "Affine.forward": ATTACKS_A["Affine.forward"]}
    sub = make_submission({_method_key(k): v for k, v in attacks.items()})
    result = Grader(demo, seed=5, limits=Limits(timeout=5)).grade(sub)
    assert result.sandbox["pid_namespace"] is False and not result.sandbox["landlock"].startswith("ABI")
    assert result.sandbox["import"] == "once per check"
    by_ex = {c.exercise: c for c in result.checks}
    for name in attacks:
        assert by_ex[name].points == 0 and by_ex[name].message, name
    assert by_ex["mse"].passed and by_ex["fit_line"].passed


def test_output_spam_is_capped(shared, make_submission):
    sub = make_submission({"relu": "while True:\n    print('spam ' * 100)"})
    result = shared.grade(sub)
    relu = result.checks[0]
    assert relu.points == 0 and "File too large" in relu.message or "MiB" in relu.message, relu.message
    assert len(relu.printed) < 3000 and "more bytes not shown" in relu.printed
    assert result.checks[1].passed


def test_blocked_library_modules(demo, make_submission, tmp_path, monkeypatch):
    """A lesson can keep the library module holding its answers out of reach while it is graded."""
    import shutil

    from course.lessons import find_lesson

    lessons = tmp_path / "lessons"
    shutil.copytree(demo.path, lessons / demo.slug)
    toml = lessons / demo.slug / "lesson.toml"
    toml.write_text(toml.read_text() + 'blocked_imports = ["course.superposition"]\n')
    lesson = find_lesson("99", lessons)
    import course.superposition.model as library

    sub = make_submission({
        "relu": "from course.superposition import analysis\nreturn x.clamp(min=0)",
        "normalise": f"src = open({library.__file__!r}).read()\nreturn x / x.norm(dim=-1, keepdim=True)",
        "softmax": "import importlib\nimportlib.import_module('course.superposition.model')\nreturn x.softmax(dim)",
    })
    result = Grader(lesson, seed=4, limits=Limits(timeout=10)).grade(sub)
    by_ex = {c.exercise: c for c in result.checks}
    assert "holds this lesson's answers" in by_ex["relu"].message
    assert by_ex["normalise"].points == 0 and "not allowed" in by_ex["normalise"].message
    assert by_ex["softmax"].points == 0
    assert by_ex["mse"].passed
