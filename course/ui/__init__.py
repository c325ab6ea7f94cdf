"""The Streamlit course app's pages and helpers; `apps/app.py` and `apps/lesson_pages/*.py` are thin shells over this.

    home(lesson_pages)                  the home page: title, course map, the learner's progress
    lesson_page("05", interactive=fn)   a lesson's page: README | fn(lesson) (if given) + "Check my work"
    check_panel(lesson)                 exercises with points, "Check my work", the last result
    readme(lesson), header(lesson)      pieces for lessons that lay out their own page
    friendly_errors()                   show CourseError as st.error, never a raw traceback
    shared_resource                     st.cache_resource for read-only models shared by all sessions
    cached_compute(fn, *args)           slow work computed once per arguments for all sessions, progress bar on a miss
    lesson_exercises(lesson)            a lesson's exercises and points, cached until its files change
    discover()                          every readable lesson, and why others could not be read

A lesson with its own interactive page ships `apps/lesson_pages/<slug>.py` (e.g. `apps/lesson_pages/05_superposition.py`);
`apps/app.py` uses it instead of the generic page. Such a page usually ends with

    import course.ui as ui
    ui.lesson_page("05", interactive=explore)    # explore(lesson) draws the widgets and plots

and loads its models through `@ui.shared_resource` (read-only, never leave hooks on them; see `resources`).
Slow computations go through `ui.cached_compute(fn, *settings, label=...)` (see `compute`): never call a
Streamlit element inside an `st.cache_data`/`st.cache_resource` function. Its test presses every button twice
in two sessions with `course.ui.testing.press_every_button(page)`, which also checks every figure is legible
at 1,400 px wide (`course.ui.figures`).

Why here and not in apps/: the logic is importable and testable like the rest of the package. The package
never imports from `apps/`. Streamlit is imported only when one of these names is first used, so
`import course.ui` stays cheap; `data` holds the parts that need no Streamlit at all.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "home": "course.ui.homepage",
    "lesson_page": "course.ui.lesson",
    "check_panel": "course.ui.lesson",
    "show_result": "course.ui.lesson",
    "readme": "course.ui.lesson",
    "header": "course.ui.lesson",
    "friendly_errors": "course.ui.errors",
    "shared_resource": "course.ui.resources",
    "cached_compute": "course.ui.compute",
    "lesson_exercises": "course.ui.resources",
    "hooks_left": "course.ui.resources",
    "discover": "course.ui.data",
    "workspace_file": "course.ui.data",
    "stars": "course.ui.data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'course.ui' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
