"""Reading expression trees: traversal and the parts of a product, never building.

Contract: functions of nodes that have `op`, `args`, `value` and `shape` (matcalc.expr's
Expr); nothing here constructs a node, so the printers (emit_text, emit_latex) and the
constructors (expr) both read trees through it without importing each other's modules.
"""
from __future__ import annotations

from fractions import Fraction


def postorder(e) -> list:
    """Children before parents, each node once, without recursion."""
    order, seen = [], set()
    stack = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((a, False) for a in reversed(node.args) if a not in seen)
    return order


def mul_parts(e) -> tuple[Fraction, tuple, tuple]:
    """(coefficient, scalar factors, matrix chain) of any expression."""
    if e.op == "mul":
        k = e.value[1]
        return e.value[0], e.args[:k], e.args[k:]
    if e.op == "num":
        return e.value, (), ()
    if e.shape == (1, 1):
        return Fraction(1), (e,), ()
    return Fraction(1), (), (e,)
