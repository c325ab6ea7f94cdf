"""Resource limits for each check of a learner's code (no torch here: the CLI checks them before importing it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from course.errors import UsageError


@dataclass
class Limits:
    """Resource limits for each check of a learner's code."""

    timeout: float | None = None  # wall-clock seconds per check; None: the check's own, else 60
    memory_mb: int = 4096  # address space a check may map beyond the worker's baseline (torch alone maps ~3 GiB)
    cpu_seconds: float | None = None  # CPU seconds per check; None: the wall-clock limit + 5
    file_mb: int = 256  # largest file the learner's code may write (printed output included)
    disk_mb: int = 512  # all the files one check may write, in MiB (a tmpfs per check, where mounts are allowed)
    files: int = 4096  # files and folders one check may create (ditto)
    processes: int = 512  # RLIMIT_NPROC for the unprivileged user (threads count too)
    printed_chars: int = 2000  # how much of what the learner's code printed goes into the report

    def timeout_for(self, check) -> float:
        if self.timeout is not None:
            return float(self.timeout)
        return float(check.timeout or 60.0)

    def validate(self) -> "Limits":
        """Raise UsageError (one paragraph) for limits no check could run under: NaN, infinite, non-positive."""
        bad = []
        for name, value, lowest in (("timeout", self.timeout, 0), ("cpu_seconds", self.cpu_seconds, 0),
                                    ("memory_mb", self.memory_mb, 64), ("file_mb", self.file_mb, 1),
                                    ("disk_mb", self.disk_mb, 1), ("files", self.files, 16),
                                    ("processes", self.processes, 1), ("printed_chars", self.printed_chars, 0)):
            if value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                    or value < lowest or (lowest == 0 and name in ("timeout", "cpu_seconds") and value <= 0):
                bad.append(f"{name} = {value!r}")
        if self.timeout is not None and math.isfinite(self.timeout) and self.timeout > 24 * 3600:
            bad.append(f"timeout = {self.timeout!r} (more than a day)")
        if bad:
            raise UsageError(f"Invalid grading limits: {', '.join(bad)}. The timeout (--timeout) and CPU seconds must be "
                             "finite numbers of seconds above 0, memory (--memory) at least 64 MiB, and sizes positive "
                             "whole numbers. Nothing was graded.")
        return self
