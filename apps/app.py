"""The course app: one Streamlit multipage app, a home page and a page per lesson.

    course app [--port N]          or          streamlit run apps/app.py

Pages follow the lessons that `course.ui.discover()` finds (the clone's `lessons/`, or `$COURSE_LESSONS_DIR`),
so a new lesson folder gets a page without touching this file. For each lesson:

* if `apps/lesson_pages/<slug>.py` exists (the lesson folder's name, e.g. `apps/lesson_pages/05_superposition.py`), that
  file is the lesson's page: a lesson with its own interactive part ships one. It is a normal Streamlit
  script, typically ending with `course.ui.lesson_page("05", interactive=explore)` so the README and
  "Check my work" look the same on every lesson (tests/test_app.py expects every lesson page to show the
  "Check my work" panel, and every file in apps/lesson_pages/ to be named after a lesson folder);
* otherwise the page is the generic `course.ui.lesson_page(lesson_id)`: the README beside the exercises and
  "Check my work".

Either way the page's URL is `/<slug>` and its title "NN · Title". This file only wires pages together; what
they show lives in `course.ui` (importable and tested), which never imports anything from `apps/`. Expensive
objects (models) are loaded with `course.ui.shared_resource` (`st.cache_resource`) and are read-only: never
leave hooks on a shared model.

The folder is `lesson_pages/`, not `pages/`: while a `pages/` folder sits beside the entry script, Streamlit
looks a URL up there before `st.navigation` runs, and the first session that opens a lesson URL directly gets
a spurious "Page not found" dialog (streamlit/streamlit#9992).
"""

from functools import partial
from pathlib import Path

import streamlit as st

import course.ui as ui

PAGES = Path(__file__).resolve().parent / "lesson_pages"

st.set_page_config(page_title="Mech interp course", page_icon="🔬", layout="wide")

lesson_pages = {}
for lesson in ui.discover().lessons:
    title, custom = f"{lesson.id} · {lesson.title}", PAGES / f"{lesson.slug}.py"
    source = custom if custom.is_file() else partial(ui.lesson_page, lesson.id)
    lesson_pages[lesson.id] = st.Page(source, title=title, url_path=lesson.slug)

home = st.Page(partial(ui.home, lesson_pages), title="Home", icon="🏠", url_path="home", default=True)
st.navigation({"Course": [home], "Lessons": list(lesson_pages.values())}).run()
