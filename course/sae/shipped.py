"""Loading the shipped SAEs (verified by sha256, and checked against the LM they were trained on).

    from course.sae.shipped import load, load_sae
    sae, entry = load("pylm-sae")      # the SAE in eval mode and its registry entry (config: lm, hook, ...)
    sae = load_sae("pylm-sae")         # just the SAE

Kept apart from the census and the dashboards so that a lesson can block those (they hold its answers) while
its learners still load the models.
"""

from __future__ import annotations

from course import registry
from course.errors import CourseError
from course.sae.sae import SAE


def load(name: str, device: str = "cpu") -> tuple[SAE, registry.Entry]:
    """A shipped SAE (eval mode) and its registry entry, verified by sha256."""
    state, entry = registry.load_state(name, device=device)
    lm = entry.config.get("lm")
    if lm and registry.entry(lm).sha256 != entry.config.get("lm_sha256"):
        raise CourseError(f"The SAE {name!r} was trained on another version of {lm!r} than the one installed. "
                          f"Retrain it with `course train {name}` (after `course train {lm}` if you rebuilt that).")
    return SAE.from_state(entry.config["sae"], state).to(device), entry


def load_sae(name: str = "pylm-sae", device: str = "cpu") -> SAE:
    """Just the SAE of `load` (eval mode)."""
    return load(name, device)[0]
