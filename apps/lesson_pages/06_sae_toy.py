"""Lesson 06's page: the README, live SAE training on toy data with ground-truth metrics, the frontier, absorption."""

import course.ui as ui
from course.ui.sae_toy import explore

ui.lesson_page("06", interactive=explore)
