"""A mechanistic-interpretability course: graded lessons, Streamlit apps and a safe autograder.

Sub-packages load lazily, so `import course` stays cheap:
    course.lessons    lesson discovery and metadata        course.grading    checks, sandboxed grader, reports
    course.markers    exercises generated from solutions   course.registry   shipped checkpoints and recipes
    course.device     device choice and seeding            course.progress   the learner's best scores
"""

__version__ = "0.1.0"
