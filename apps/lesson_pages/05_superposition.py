"""Lesson 05's page: the README beside live toy-model training, geometry plots and the phase diagram."""

import course.ui as ui
from course.ui.superposition import explore

ui.lesson_page("05", interactive=explore)
