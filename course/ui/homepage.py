"""The home page: the course title, the course map (a card per lesson) and the learner's progress.

`home(lesson_pages)` is called by the app's home page; `lesson_pages` maps a lesson id ("05") to the
`st.Page` that `apps/app.py` registered for it, so each card's "Open" button can switch to it (a button,
not a link, so `AppTest` can follow it too).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from course import progress
from course.lessons import Lesson
from course.ui.data import best_score, discover, prerequisites_text, stars
from course.ui.errors import friendly_errors

TITLE = "Mechanistic interpretability, hands on"
TAGLINE = ("Graded lessons that open up small neural networks, run offline on a laptop CPU. Read a lesson, "
           "fill in its exercises in your workspace, then press **Check my work** on its page.")
START_HERE = ("**Start with lesson 00, three lenses.** One question asked of a CNN three ways: *attribution* "
              "(which pixels mattered?), *probing* (what does a layer hold?) and *mechanism* (what does the model "
              "use, shown by intervening?). The lessons after it sharpen each lens.")


def home(lesson_pages: dict | None = None) -> None:
    """Render the home page."""
    st.title(TITLE)
    st.markdown(TAGLINE)
    with friendly_errors():
        found = discover()
        for problem in found.problems:
            st.error(problem)
        if not found.lessons:
            if not found.problems:
                st.info("No lessons yet. Lessons live in the course's `lessons/` folder (or the folder that "
                        "`COURSE_LESSONS_DIR` names); they will appear here as soon as one is added.")
            return
        _progress_summary(found.lessons)
        st.header("Course map")
        if any(lesson.id == "00" for lesson in found.lessons):
            st.markdown(START_HERE)
        cols = st.columns(2, gap="medium")
        for i, lesson in enumerate(found.lessons):
            with cols[i % 2]:
                _card(lesson, found.lessons, (lesson_pages or {}).get(lesson.id))


def _progress_summary(lessons: list[Lesson]) -> None:
    ws = progress.workspace()
    bests = {l.id: best_score(l) for l in lessons}
    solved = sum(1 for b in bests.values() if b and b[1] and b[0] >= b[1])
    tried = sum(1 for b in bests.values() if b)
    st.header("Your progress")
    c1, c2, c3 = st.columns(3)
    c1.metric("Lessons solved", f"{solved} / {len(lessons)}")
    c2.metric("Lessons checked", f"{tried} / {len(lessons)}")
    c3.metric("Minutes of material", sum(l.minutes for l in lessons))
    st.progress(solved / len(lessons), text=f"{solved} of {len(lessons)} lessons fully solved")
    st.caption(f"Your workspace: `{Path(ws).resolve()}` (set `COURSE_WORKSPACE` to use another folder).")


def _card(lesson: Lesson, everything: list[Lesson], page) -> None:
    with st.container(border=True):
        st.subheader(f"{lesson.id} · {lesson.title}")
        pre = prerequisites_text(lesson, everything)
        st.markdown(f"**Difficulty** {stars(lesson.difficulty)} &nbsp;·&nbsp; **~{lesson.minutes} min** "
                    f"&nbsp;·&nbsp; **Prerequisites:** {pre}")
        if lesson.summary:
            st.markdown(lesson.summary)
        best = best_score(lesson)
        if best is None:
            st.caption("Not checked yet.")
        else:
            score, top = best
            done = " · all checks pass ✅" if top and score >= top else ""
            st.progress(min(score / top, 1.0) if top else 0.0, text=f"Best score {score:g}/{top:g}{done}")
        if page is not None and st.button(f"Open lesson {lesson.id}", key=f"open-{lesson.id}"):
            st.switch_page(page)
