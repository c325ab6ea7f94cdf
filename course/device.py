"""One place that picks the device and seeds every random number generator.

`get_device()` prefers an explicit argument, then `$COURSE_DEVICE` (the CLI's `--device` sets it), then
cuda > mps > cpu. Grading always runs on the CPU (deterministic, and the same for every learner).
"""

from __future__ import annotations

import os
import random

import torch

VALID = ("cpu", "cuda", "mps")


def get_device(prefer: str | None = None) -> torch.device:
    """The device to use; raises ValueError with the choices when asked for one this machine lacks."""
    choice = (prefer or os.environ.get("COURSE_DEVICE") or "auto").strip().lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = choice.split(":")[0]
    if kind not in VALID:
        raise ValueError(f"Unknown device {choice!r}: use one of auto, {', '.join(VALID)}.")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but is not available here; use --device cpu (or auto).")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("MPS was asked for but is not available here; use --device cpu (or auto).")
    return torch.device(choice)


def cpu_name() -> str:
    """The CPU's model name (for benchmark reports), e.g. "AMD EPYC"."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); returns a CPU generator seeded the same way."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover
        pass
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def deterministic() -> None:
    """Exact float32 matmuls on GPUs too (TF32 off), as the grader and the shipped metrics assume."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
