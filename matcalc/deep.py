"""Run a recursive stage on a thread with room for deep expressions.

The parser bounds nesting (syntax.MAX_DEPTH); the stages after it recurse a few
frames per level, more than Python's default limit allows for the deepest
accepted input.  A thread with a large stack lets them, instead of rewriting
every stage without recursion.
"""
from __future__ import annotations

import sys
import threading

STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 200_000


def call_deep(function, *args, **kwargs):
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    previous_stack = threading.stack_size(STACK_BYTES)
    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous_limit, RECURSION_LIMIT))
    try:
        worker = threading.Thread(target=target, name="matcalc-deep")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous_stack)
        sys.setrecursionlimit(previous_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
