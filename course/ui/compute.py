"""Slow computations on a page: computed once per setting, shared by every session, with a progress bar.

    result = cached_compute(train_toy_models, n_features, n_hidden, steps, label="Training...")

calls `train_toy_models(n_features, n_hidden, steps, progress=callback)` only when no session has computed it
with these arguments yet (a process-wide cache, least recently used entries dropped past `max_entries`), and
while it runs draws an `st.progress` bar where the caller is, removed when done. A hit returns at once and
draws nothing. The function receives `progress(fraction, text=None)` and must return plain results (tensors,
numbers, dicts): every caller gets the same object, so treat it as read-only.

Why not `st.cache_data` with a progress callback? Streamlit records the elements a cached function draws and
replays them on a hit; a bar created outside the function and updated inside it breaks that replay on the
second press of a button, or in a second session (`CacheReplayClosureError`, lesson 05's Train button).
The rule for every page: never call a Streamlit element inside an `st.cache_data`/`st.cache_resource`
function. Cache plain results; draw progress outside, only on a miss. This module is that rule, once.

Concurrent sessions asking for the same missing entry wait for one computation (a lock per key), so a class
pressing the same button at once costs one run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

_cache: OrderedDict[Hashable, Any] = OrderedDict()
_key_locks: dict[Hashable, threading.Lock] = {}
_lock = threading.Lock()


def _key(fn: Callable, args: tuple, kwargs: dict) -> Hashable:
    key = (getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(fn)), args, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError as e:
        raise TypeError(f"cached_compute({getattr(fn, '__name__', fn)}, ...): arguments must be hashable (numbers, "
                        f"strings, tuples); got {e}. Pass tuples instead of lists, and settings instead of objects.") from None
    return key


def cached(fn: Callable, *args, **kwargs) -> tuple[bool, Any]:
    """(True, result) when `fn(*args, **kwargs)` is cached, else (False, None). Draws nothing."""
    key = _key(fn, args, kwargs)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return True, _cache[key]
    return False, None


def cached_compute(fn: Callable, *args, label: str = "Computing...", max_entries: int = 32, **kwargs) -> Any:
    """`fn(*args, progress=..., **kwargs)`, computed once per arguments for every session (see the module docstring)."""
    key = _key(fn, args, kwargs)
    hit, value = cached(fn, *args, **kwargs)
    if hit:
        return value
    with _lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        hit, value = cached(fn, *args, **kwargs)  # another session may have computed it while we waited
        if hit:
            return value
        import streamlit as st

        bar = st.progress(0.0, text=label)

        def progress(fraction: float, text: str | None = None) -> None:
            f = min(max(float(fraction), 0.0), 1.0)
            bar.progress(f, text=text or f"{label} {f:.0%}")

        try:
            value = fn(*args, progress=progress, **kwargs)
        finally:
            bar.empty()
        with _lock:
            _cache[key] = value
            _cache.move_to_end(key)
            while len(_cache) > max_entries:
                old, _ = _cache.popitem(last=False)
                _key_locks.pop(old, None)
        return value


def clear() -> None:
    """Forget every cached result (tests; or to free memory)."""
    with _lock:
        _cache.clear()
        _key_locks.clear()
