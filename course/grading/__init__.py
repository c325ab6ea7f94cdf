"""The autograder: checks (`spec`), plain-data transport (`codec`), comparison (`compare`), the sandbox
(`sandbox`, `worker`), the trusted grader (`grader`), report formats (`report`) and Gradescope bundles
(`bundle`). Lesson authors need only what is exported here.
"""

from course.grading.codec import Build, ModuleOutput
from course.grading.compare import Tol
from course.grading.spec import Check, Hint, Verdict

__all__ = ["Build", "Check", "Hint", "ModuleOutput", "Tol", "Verdict"]
