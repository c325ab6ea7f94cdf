"""The learner's best score per lesson, kept beside their work in `<workspace>/.progress.json`.

Writes are atomic (a temporary file renamed into place), so an interrupted `course check` never loses the
record; a damaged file is set aside as `.progress.json.damaged` rather than silently overwritten.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FILE = ".progress.json"


def workspace(explicit: str | os.PathLike | None = None) -> Path:
    """The learner's workspace: --dir, else $COURSE_WORKSPACE, else ./workspace."""
    return Path(explicit or os.environ.get("COURSE_WORKSPACE") or "workspace")


def load(ws: str | os.PathLike | None = None) -> dict:
    path = workspace(ws) / FILE
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        try:
            path.replace(path.with_name(FILE + ".damaged"))
        except OSError:
            pass
        return {}


def record(lesson_id: str, score: float, max_score: float, ws: str | os.PathLike | None = None) -> bool:
    """Remember a score; returns True when it is a new best for that lesson."""
    data = load(ws)
    old = data.get(lesson_id, {})
    best = score > old.get("best", -1) or max_score != old.get("max")
    if best:
        data[lesson_id] = {"best": score, "max": max_score, "when": time.strftime("%Y-%m-%d %H:%M")}
    data.setdefault(lesson_id, {})["attempts"] = old.get("attempts", 0) + 1
    path = workspace(ws) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
    return best


def best(lesson_id: str, ws: str | os.PathLike | None = None) -> tuple[float, float] | None:
    entry = load(ws).get(lesson_id)
    if not entry or "best" not in entry:
        return None
    return entry["best"], entry["max"]
