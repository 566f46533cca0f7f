"""Run a recursive stage on a thread with room for deep expressions.

The parser bounds nesting (syntax.MAX_DEPTH); the stages after it recurse a few
frames per level, more than Python's default limit allows for the deepest
accepted input.  A thread with a large stack lets them, instead of rewriting
every stage without recursion.  The stack size and the recursion limit are
process-wide settings: they are changed under a lock, the stack size only while
the worker starts, and the recursion limit only while some worker runs, so
calls from many threads at once leave both as they found them.
"""
from __future__ import annotations

import contextvars
import sys
import threading

STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 200_000

_lock = threading.Lock()
_running = 0
_limit_before = None


def call_deep(function, *args, **kwargs):
    global _running, _limit_before
    outcome: dict = {}
    context = contextvars.copy_context()   # the caller's time budget goes along

    def target():
        try:
            outcome["value"] = context.run(function, *args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    with _lock:
        if _running == 0:
            _limit_before = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_limit_before, RECURSION_LIMIT))
        _running += 1
    try:
        with _lock:
            previous_stack = threading.stack_size(STACK_BYTES)
            try:
                worker = threading.Thread(target=target, name="matcalc-deep")
                worker.start()
            finally:
                threading.stack_size(previous_stack)
        worker.join()
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                sys.setrecursionlimit(_limit_before)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
