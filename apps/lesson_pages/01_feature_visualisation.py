"""Lesson 01's page: the feature-visualisation studio, pixels vs FFT vs transforms, and a fooled unit."""

import course.ui as ui
from course.ui.featurevis import explore

ui.lesson_page("01", interactive=explore)
