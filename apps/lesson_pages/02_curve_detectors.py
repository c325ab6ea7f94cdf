"""Lesson 02's page: the README beside the curve lab (the family round the circle, one unit's tuning, stimuli,
dataset examples, an arc shaped with sliders, the census of every layer)."""

import course.ui as ui
from course.ui.curves import explore

ui.lesson_page("02", interactive=explore)
