"""Errors a learner or instructor sees: one clear paragraph that says what to do, never a traceback.

The CLI catches `CourseError` and prints its message; `UsageError` also exits with status 2.
"""


class CourseError(Exception):
    """Something went wrong that the user can fix; the message says how."""


class UsageError(CourseError):
    """Bad command-line use: unknown lesson, missing file, conflicting options (exit status 2)."""
