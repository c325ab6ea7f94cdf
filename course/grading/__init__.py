"""The autograder: checks (`spec`), plain-data transport (`codec`), comparison (`compare`), the sandbox
(`sandbox`, `worker`, `confine`, `landlock`, `mounts`), the trusted grader (`grader`), report formats (`report`)
and Gradescope bundles (`bundle`). Lesson authors need only what is exported here (loaded on first use, so
`course.grading.limits` and the command line stay quick to import).
"""

__all__ = ["Build", "Check", "Hint", "ModuleOutput", "Tol", "Verdict"]
_HOME = {"Build": "codec", "ModuleOutput": "codec", "Tol": "compare", "Check": "spec", "Hint": "spec", "Verdict": "spec"}


def __getattr__(name: str):
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(f"course.grading.{_HOME[name]}"), name)
    raise AttributeError(f"module 'course.grading' has no attribute {name!r}")
