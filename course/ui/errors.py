"""Errors in the app: a learner sees one friendly paragraph, never a raw traceback.

    with friendly_errors():
        ...  # a CourseError shows as st.error(message); any other exception as a short apology

A `CourseError` says what to do (see `course.errors`), so its message is shown as it is. Anything else is a
bug in the course: the learner gets a one-line summary and the traceback goes to the server's log (the
terminal that runs `course app`), where an instructor can find it. Streamlit's own control flow (`st.rerun`,
`st.switch_page`, `st.stop`) raises BaseExceptions, which pass through untouched.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

import streamlit as st

from course.errors import CourseError

log = logging.getLogger("course.ui")


@contextlib.contextmanager
def friendly_errors(what: str = "this page") -> Iterator[None]:
    try:
        yield
    except CourseError as e:
        st.error(str(e))
    except Exception as e:  # a bug: say so briefly, log the details for the instructor
        log.exception("The course app failed while showing %s", what)
        st.error(f"Something went wrong while showing {what} ({type(e).__name__}: {e}). This is a bug in the "
                 "course, not in your work; the details are in the log of the terminal running `course app`. "
                 "Please tell your instructor.")
