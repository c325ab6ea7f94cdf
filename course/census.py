"""`course census NAME [--json]`: measure what a shipped model's units do, by the model's kind.

Vision models get the detector census (curve, high-low frequency and edge detectors per conv layer, measured
with synthetic stimuli: `course.vision.census`); SAEs get their metrics and the latents that ground-truth
properties explain (`course.sae.census`). Each kind's module provides `census(name) -> dict` (the `--json`
record) and `render(record) -> str` (the table for people).
"""

from __future__ import annotations

import importlib
import json

from course import registry
from course.errors import CourseError

MODULES = {"vision": "course.vision.census", "sae": "course.sae.census"}


def census(name: str) -> dict:
    entry = registry.entry(name)
    module_name = MODULES.get(entry.kind)
    if module_name is None:
        raise CourseError(f"{name!r} is a {entry.kind} model; the census measures vision models and SAEs "
                          f"({', '.join(e.name for e in registry.entries() if e.kind in MODULES) or 'none shipped yet'}).")
    return importlib.import_module(module_name).census(name)


def command(name: str, as_json: bool = False) -> str:
    record = census(name)
    if as_json:
        return json.dumps(record, indent=1)
    entry = registry.entry(name)
    return importlib.import_module(MODULES[entry.kind]).render(record)
