"""Lesson 07's page: the README, a feature browser (latents by index or by the property that explains them, a
neuron beside each for contrast) and a steering playground with the effect measured by Python's tokenizer."""

import course.ui as ui
from course.ui.sae_lm import explore

ui.lesson_page("07", interactive=explore)
