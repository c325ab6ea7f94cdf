"""Exercises are generated from solutions: markers become `raise NotImplementedError`, hints stay."""

import pytest

from course.markers import MarkerError, make_exercises

SOURCE = '''import torch


def f(x):
    """Doc."""
    # BEGIN SOLUTION hint: use clamp
    y = x.clamp(min=0)
    return y
    # END SOLUTION


class M:
    def g(self):
        # BEGIN SOLUTION
        return 1
        # END SOLUTION
'''


def test_blocks_become_raises_with_hints():
    out = make_exercises(SOURCE, lesson="01: Demo", number="01")
    assert out.startswith("# Exercises for lesson 01: Demo")
    assert "clamp(min=0)" not in out and "return 1" not in out
    assert '    # Hint: use clamp\n    raise NotImplementedError("f: your code here")\n' in out
    assert '        raise NotImplementedError("g: your code here")\n' in out
    assert '"""Doc."""' in out
    compile(out, "exercises.py", "exec")  # still valid Python


@pytest.mark.parametrize("bad, where", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without a BEGIN"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n", "nested"),
    ("x = 1\n", "no BEGIN"),
])
def test_marker_errors(bad, where):
    with pytest.raises(MarkerError, match=where):
        make_exercises(bad)
