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
    return shortest(rewritten, assumptions, trace, (factor_sum, factor_common_power))


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


def factor_common_power(node: E.Expr):
    """A common denominator: a scalar every term of a sum divides by, to integer powers,
    pulled out at the least of them: `a / s + b / s^2` -> `(a + b / s) / s` (s^-j s^-k =
    s^-(j+k), s nonzero where it divides).  Positive powers stay (the books write
    `x^2 a + x b`, not `x (x a + b)`).  Not always shorter, so a move of the search only;
    None where no scalar qualifies or every term divides by the same power (factor_sum's case)."""
    if node.op != "add":
        return None
    parts = [E.mul_parts(t) for t in node.args]
    powers = [dict(_power_of(f) for f in scalars) for _, scalars, _ in parts]
    for base in powers[0]:
        exponents = [p.get(base) for p in powers]
        if any(k is None for k in exponents) or len(set(exponents)) == 1:
            continue
        if not all(k < 0 for k in exponents):
            continue
        least = max(exponents)
        terms = []
        for (q, scalars, chain), k in zip(parts, exponents):
            rest = [f for f in scalars if _power_of(f)[0] is not base]
            terms.append(E.mul(E.number(q), *rest, *([E.power(base, E.number(k - least))] if k != least else []),
                               *chain))
        return E.mul(E.power(base, E.number(least)), E.add(*terms))
    return None


def _power_of(factor: E.Expr) -> tuple:
    """(base, integer exponent) of a scalar factor: s^k, or s itself to the power 1."""
    if factor.op == "pow" and factor.args[1].op == "num" and factor.args[1].value.denominator == 1:
        return factor.args[0], factor.args[1].value
    return factor, Fraction(1)


def _without(scalars: tuple, shared: list) -> list:
    rest = list(scalars)
    for f in shared:
        rest.remove(f)
    return rest
