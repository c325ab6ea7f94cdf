"""Lesson 03's page: the README beside gratings, the boundary explorer, scenes and factorised weights of any unit."""

import course.ui as ui
from course.ui.frequency import explore

ui.lesson_page("03", interactive=explore)
