"""Lesson 04's page: the README beside the circuit workbench (inputs, ablation and editing, a unit built by hand,
equivariance)."""

import course.ui as ui
from course.ui.circuits import explore

ui.lesson_page("04", interactive=explore)
