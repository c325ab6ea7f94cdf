"""Lesson 00's page: the README beside one image seen through three lenses (attribution maps and their sanity
check, probes by layer, ablation of conv4's curve detectors with the predictions redrawn)."""

import course.ui as ui
from course.ui.three_lenses import explore

ui.lesson_page("00", interactive=explore)
