"""Simplify: rewrite with rules/simplify.rules and factor sums, then search for the shortest form.

Contract: `simplify(e, trace=None, assumptions=())` returns an expression equal to `e`
(where the assumptions hold: each `lhs` may be replaced by its `rhs`), with like terms
collected and common factors pulled out of sums (`A x + A^T x` -> `(A + A^T) x`,
`-2 y + 2 Phi theta` -> `-2 (y - Phi theta)`), then the shortest printed form the
bounded search of matcalc/search.py finds from there (the softmax cancellation, the
symmetry of S^-1, the cyclic trace...).  The rewriter's steps shrink the expression
(rules replace a side by a smaller one; factoring removes repeated factors) and it
never revisits an expression, so it terminates; the search is bounded by its budget.
Both record their steps in `trace` (rules.Step), the rules named.
"""
from __future__ import annotations

from collections import Counter
from fractions import Fraction
from math import gcd

from . import expr as E
from .rules import Rewriter, ruleset
from .search import shortest


def simplify(e: E.Expr, trace: list | None = None, assumptions=()) -> E.Expr:
    """e rewritten to a fixed point, then searched for its shortest printed form
    (matcalc/search.py), with the user's assumptions (each lhs replaced by its rhs)."""
    rewritten = Rewriter(ruleset("simplify"), trace=trace, extra=factor_sum)(e)
    return shortest(rewritten, assumptions, trace, (factor_sum,))


def factor_sum(node: E.Expr) -> E.Expr:
    """Distributivity read right to left: pull a shared factor or coefficient out of a sum."""
    if node.op != "add":
        return node
    return _factor_common_matrix(node) or _factor_common_coefficient(node) or node


def _factor_common_matrix(node: E.Expr):
    left, right = Counter(), Counter()
    for term in node.args:
        _, _, chain = E.mul_parts(term)
        if chain and term.shape == node.shape:   # a broadcast scalar shares no matrix factor
            left[chain[0]] += 1
            right[chain[-1]] += 1
    best_right = right.most_common(1)[0] if right else (None, 0)
    best_left = left.most_common(1)[0] if left else (None, 0)
    if max(best_right[1], best_left[1]) < 2:
        return None
    on_right = best_right[1] >= best_left[1]
    shared = best_right[0] if on_right else best_left[0]
    inside, outside = [], []
    for term in node.args:
        q, scalars, chain = E.mul_parts(term)
        edge = chain[-1] if on_right and chain else (chain[0] if chain else None)
        if edge is shared and term.shape == node.shape:
            rest = chain[:-1] if on_right else chain[1:]
            inside.append((q, scalars, rest))
        else:
            outside.append(term)
    size = shared.shape[0] if on_right else shared.shape[1]
    needs_identity = any(rest for _, _, rest in inside)
    remainders = [E.mul(E.number(q), *scalars, *(rest or ([E.identity(size)] if needs_identity else [])))
                  for q, scalars, rest in inside]
    factored = E.mul(E.add(*remainders), shared) if on_right else E.mul(shared, E.add(*remainders))
    return E.add(factored, *outside)


def _factor_common_coefficient(node: E.Expr):
    """Pull out what every term shares: a numeric factor (with the sign when every term
    is negative) and scalar factors: `A / s + A^T / s` -> `(A + A^T) / s`."""
    parts = [E.mul_parts(t) for t in node.args]
    numerator = 0
    denominator = 1
    for q, _, _ in parts:
        numerator = gcd(numerator, q.numerator)
        denominator = denominator * q.denominator // gcd(denominator, q.denominator)
    common = Fraction(numerator, denominator)
    if all(q < 0 for q, _, _ in parts):
        common = -common
    shared = [f for f in parts[0][1] if all(f in scalars for _, scalars, _ in parts[1:])]
    if common == 1 and not shared:
        return None
    inner = E.add(*(E.mul(E.number(q / common), *_without(scalars, shared), *chain)
                    for q, scalars, chain in parts))
    return E.mul(E.number(common), *shared, inner)


def _without(scalars: tuple, shared: list) -> list:
    rest = list(scalars)
    for f in shared:
        rest.remove(f)
    return rest
