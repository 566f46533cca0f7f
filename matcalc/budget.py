"""A time budget for one computation, so that no input runs without a stated limit.

Contract: inside `within(seconds)`, `spend()` raises LimitError once the budget is
spent; the long-running loops of the engine (rewriting, differentiating,
identifying, checking) call it once per step.  Outside any budget `spend()`
does nothing.  The budget is a context variable: it follows the computation
into the worker thread of deep.call_deep and is private to each caller, so
requests served side by side (a web page) each have their own.
"""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager

from .errors import LimitError

DEFAULT_SECONDS = 60.0

_deadline: contextvars.ContextVar = contextvars.ContextVar("matcalc_deadline", default=None)


@contextmanager
def within(seconds: float | None):
    """Run the body with `seconds` to spend (None: no limit)."""
    if seconds is not None and not (isinstance(seconds, (int, float)) and seconds > 0):
        raise LimitError(f"a time limit is a positive number of seconds, not {seconds!r}")
    token = _deadline.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def spend() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline[0]:
        raise LimitError(f"gave up after the time limit of {deadline[1]:g} s: the expression is too "
                         f"large to finish in time (diff(..., time_limit=...) or --time-limit changes it)")
