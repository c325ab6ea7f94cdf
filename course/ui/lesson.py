"""A lesson's page: tabs for its README, its interactive part, and the exercises with "Check my work".

    lesson_page("05")                         the generic page: Lesson | Exercises · Check my work
    lesson_page("05", interactive=explore)    a lesson's own page: Lesson | Explore (explore(lesson)) | Exercises

`check_panel(lesson)` grades the learner's workspace copy (`<workspace>/<slug>.py`, made by `course start NN`)
with the sandboxed `Grader`, shows a progress bar as checks finish, then the results with messages and hints,
and records the score with `course.progress.record` (the same best score `course list` and the home page
show). The last result is kept in `st.session_state`, so it stays on screen while the learner uses the rest
of the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from course import progress
from course.lessons import Lesson, find_lesson
from course.ui.data import (STATUS, discover, no_work_message, prerequisites_text, readme_body, result_rows, stars,
                            workspace_file)
from course.ui.errors import friendly_errors
from course.ui.resources import lesson_exercises

Interactive = Callable[[Lesson], None]


def lesson_page(lesson_id: str, interactive: Interactive | None = None) -> None:
    """Render lesson `lesson_id`'s page: its title, then tabs for the text, `interactive` (if given) and the exercises.

    Tabs, not columns: each part gets the page's full width (code blocks unclipped, figures legible at 1,400 px),
    and the selected tab survives reruns (the tabs have a key), so pressing a button in one keeps you there.
    """
    with friendly_errors(f"lesson {lesson_id}"):
        lesson = find_lesson(lesson_id)
        header(lesson)
        names = ["📖 Lesson"] + (["🧪 Explore"] if interactive is not None else []) + ["✅ Exercises · Check my work"]
        tabs = st.tabs(names, key=f"tabs-{lesson.id}")
        with tabs[0]:
            with friendly_errors(f"lesson {lesson.id}'s text"):
                readme(lesson)
        if interactive is not None:
            with tabs[1]:
                with friendly_errors(f"lesson {lesson.id}'s interactive part"):
                    interactive(lesson)
        with tabs[-1]:
            with friendly_errors(f"lesson {lesson.id}'s exercises"):
                check_panel(lesson)


def header(lesson: Lesson) -> None:
    st.title(f"{lesson.id} · {lesson.title}")
    pre = prerequisites_text(lesson, discover().lessons) if lesson.prerequisites else "none"
    st.caption(f"Difficulty {stars(lesson.difficulty)} · ~{lesson.minutes} min · Prerequisites: {pre}")


def readme(lesson: Lesson) -> None:
    st.markdown(readme_body(lesson))


def check_panel(lesson: Lesson) -> None:
    """The lesson's exercises with their points, the "Check my work" button and the last result."""
    st.subheader("Exercises")
    rows = lesson_exercises(lesson)
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "exercise": "Exercise", "checks": "Checks", "points": st.column_config.NumberColumn("Points", format="%g")})
    total = sum(r["points"] for r in rows)
    st.caption(f"{len(rows)} exercise{'s' * (len(rows) != 1)}, {total:g} point{'s' * (total != 1)} in all.")

    st.subheader("Check my work")
    path = workspace_file(lesson)
    if path.exists():
        st.caption(f"Grades `{path}`. Every check draws fresh random inputs, so a hard-coded answer won't pass.")
    else:
        st.info(no_work_message(lesson))
    key = f"course-result-{lesson.slug}"
    if st.button("Check my work", type="primary", key=f"check-{lesson.id}"):
        if path.exists():
            st.session_state[key] = _grade(lesson, path)
        else:
            st.session_state.pop(key, None)
            st.warning("Nothing to check yet: see above for how to start this lesson.")
    if key in st.session_state:
        show_result(lesson, **st.session_state[key])


def _grade(lesson: Lesson, path: Path) -> dict:
    """Grade the learner's file, with a progress bar; record the score. Returns what `show_result` needs."""
    from course.grading.grader import Grader  # imports torch: only when a learner asks for grading

    with Grader(lesson) as grader:  # closing it stops its sandbox worker
        with st.spinner("Preparing the checks (drawing inputs, computing the reference answers)..."):
            grader.prepare()  # cached: `grade` reuses it, so the bar below only counts the learner's checks
        n = len(grader.checks)
        bar = st.progress(0.0, text=f"Checking your work: 0 of {n} checks done")
        done: list = []

        def on_check(r) -> None:
            done.append(r)
            bar.progress(min(len(done) / n, 1.0),
                         text=f"Checking your work: {len(done)} of {n} checks done ({r.title}: {STATUS.get(r.status, r.status)})")

        result = grader.grade(path, on_check=on_check)
    bar.empty()
    note = ""
    try:
        if progress.record(lesson.id, result.score, result.max_score):
            note = f"New best score for lesson {lesson.id}: {result.score:g}/{result.max_score:g}."
    except OSError as e:
        note = f"Your score could not be saved in your workspace ({e})."
    return {"result": result, "note": note}


def show_result(lesson: Lesson, result, note: str = "") -> None:
    """A GradeResult: the total, a table of checks, then what went wrong in each failing check, with hints."""
    if result.max_score and result.score >= result.max_score:
        st.success(f"**{result.score:g}/{result.max_score:g}**: all checks pass! 🎉")
    else:
        st.warning(f"**{result.score:g}/{result.max_score:g}**: "
                   f"{sum(c.passed for c in result.checks)} of {len(result.checks)} checks pass.")
    if result.error:
        st.error(_md(result.error))
    if note:
        st.caption(note)
    st.dataframe(result_rows(result), hide_index=True, width="stretch", column_config={
        "#": st.column_config.NumberColumn("#", width="small"), "check": st.column_config.TextColumn("Check", width="medium"),
        "result": st.column_config.TextColumn("Result", width="medium"),
        "points": st.column_config.TextColumn("Points", width="small"),
        "details": st.column_config.TextColumn("Details", width="large")})
    if not result.error:
        for c in result.checks:
            if c.passed:
                continue
            st.markdown(f"**{STATUS.get(c.status, c.status)}: {_md(c.title)}** ({c.points:g}/{c.max_points:g})")
            if c.message:
                st.markdown(_md(c.message))
            if c.hint:
                st.info(f"Hint: {_md(c.hint)}")
            if c.printed.strip():
                with st.expander("What your code printed (for debugging; it does not affect the score)"):
                    st.code(c.printed, language=None)
    st.caption(f"Inputs were drawn with seed {result.seed}; replay this run in a terminal with "
               f"`course check {lesson.id} --seed {result.seed}`.")


def _md(text: str) -> str:
    """Text from the grader, safe for st.markdown (a `$` would otherwise start a formula)."""
    return text.replace("$", "\\$")

