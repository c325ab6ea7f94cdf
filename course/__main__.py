"""`python -m course` is the `course` command."""

from course.cli import main

raise SystemExit(main())
