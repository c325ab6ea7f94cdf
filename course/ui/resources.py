"""Caching for the app: what is loaded once and shared, and what is shared by every learner's session.

Streamlit reruns a page's script on every click, so anything slow to build is cached:

* `st.cache_data` for plain data (a lesson's exercise list): every caller gets its own copy, so it is safe to
  change. `lesson_exercises` is keyed by the lesson's files and their modification times, so editing
  checks.py or solutions.py shows up without restarting the app.
* `shared_resource` (a thin layer over `st.cache_resource`) for models, datasets and other expensive objects:
  ONE object is shared by every session of the app, in several threads at once. Treat it as read-only:
  never train it, change its weights, or move it to another device in a page; and never leave a hook on a
  shared model. Add hooks only inside a `with` block or try/finally that removes them (the handles that
  `register_forward_hook` returns), so an exception or a learner's rerun cannot leave them behind. As a
  safety net, `shared_resource` checks a cached torch module for leftover hooks each time it is handed out,
  and if it finds any, builds a fresh one (and logs a warning) instead of handing out a model with stale hooks.

    @shared_resource
    def toy_model(name: str):
        return registry.load(name).eval()
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from course.lessons import Lesson, read_lesson
from course.ui.data import exercise_points

log = logging.getLogger(__name__)

_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
               "_state_dict_hooks", "_load_state_dict_pre_hooks")


def hooks_left(obj: Any) -> list[str]:
    """Names of the submodules of a torch module that still carry hooks ([] for anything else).

    Duck-typed (no torch import): anything with `named_modules()` whose modules hold hook dictionaries.
    """
    named = getattr(obj, "named_modules", None)
    if not callable(named):
        return []
    return [name or "(the model itself)" for name, module in named()
            if any(getattr(module, d, None) for d in _HOOK_DICTS)]


def _no_hooks_left(value: Any) -> bool:
    left = hooks_left(value)
    if left:
        log.warning("A shared model had hooks left on %s; loading a fresh copy. Remove hooks when done with them.",
                    ", ".join(left[:5]))
    return not left


def shared_resource(func: Callable | None = None, **cache_options) -> Callable:
    """`st.cache_resource` for objects shared by all sessions (read-only; see the module docstring).

    Use as `@shared_resource` or `@shared_resource(max_entries=2)`; options go to `st.cache_resource`.
    """

    def wrap(f: Callable) -> Callable:
        return functools.wraps(f)(st.cache_resource(validate=_no_hooks_left, **cache_options)(f))

    return wrap(func) if func is not None else wrap


def lesson_exercises(lesson: Lesson) -> list[dict]:
    """The lesson's exercises with their points (see `data.exercise_points`), cached until its files change.

    Raises CourseError when the lesson's checks.py or solutions.py is broken (errors are not cached).
    """
    stamps = tuple(_mtime(p) for p in (lesson.path / "lesson.toml", lesson.checks_path, lesson.solutions_path))
    return _exercises(str(lesson.path), stamps)


@st.cache_data(show_spinner="Reading the lesson's exercises...", max_entries=64)
def _exercises(path: str, stamps: tuple) -> list[dict]:
    return exercise_points(read_lesson(Path(path)).load_checks())


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0
