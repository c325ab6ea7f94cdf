"""Sparse autoencoders: models (ReLU + L1, TopK, BatchTopK), a streaming trainer, metrics, toy ground truth.

    from course.sae import SAE, SAEConfig, SAETrainConfig, train_sae, evaluate

The names are imported on first use (PEP 562), so `import course.sae.sae` loads the SAE class alone: while a
lesson is graded, the modules holding its answers (e.g. `course.sae.metrics`) are blocked, and loading an SAE
must not drag them in.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SAE": "course.sae.sae", "SAEConfig": "course.sae.sae",
    "SAETrainConfig": "course.sae.train", "train_sae": "course.sae.train",
    "evaluate": "course.sae.metrics", "mean_max_cosine": "course.sae.metrics",
}

__all__ = ["SAE", "SAEConfig", "SAETrainConfig", "evaluate", "mean_max_cosine", "train_sae"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'course.sae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
