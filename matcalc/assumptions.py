"""Assumptions the user states: equations and declared structure, as rewrites a simplifier may use.

Contract: an `Assumption(lhs, rhs, text)` says that `lhs` may be replaced by `rhs`
anywhere; both are concrete expressions (no pattern variables) of one shape, and
`text` is the statement it comes from, as the user wrote it (`assume sum(y) = 1`,
`orthogonal Q`).  `violated` says which one values at a point do not satisfy.
`oriented` turns an equation into one, replacing the larger side by the smaller
(sum(y) -> 1, Q^T Q -> I; on a tie, the left side by the right, as written), so a
rewrite with it never grows the expression.  `of_structure` gives what a declaration says:

  orthogonal Q   Q^T Q -> I, Q Q^T -> I, inv(Q) -> Q^T   (Q square: each follows from the others)
  diagonal D     diag(diag(D)) -> D, D .* I -> D          (D is also of the symmetric kind: D^T is D)
  spd S          nothing beyond its kind: S is symmetric (S^T is S); positive definiteness
                 only decides where check() samples S

What a result means under assumptions: matcalc differentiates f over unconstrained
variables (a symmetric one over symmetric matrices), then simplifies the derivative
with the assumptions.  The result therefore equals the ordinary derivative at every
point where the assumptions hold.  An assumption that does not involve the variable
(sum(y) = 1, by b) constrains a constant, so the result is the derivative on that
set.  One that does (x^T x = 1, by x) gives the ambient gradient, read on the
surface: the gradient of f as a function on all of R^n, at a point where x^T x = 1.
It is not the gradient along the surface (for the sphere, (I - x x^T) times it).
So an assumption is never used on an expression that is differentiated afterwards
by a variable it involves (`usable`): f = x^T x under x^T x = 1 is not the constant 1.
A variable declared orthogonal or diagonal is refused as a variable of
differentiation (pipeline.py): its derivative along its structure is another
quantity.
"""
from __future__ import annotations

from typing import NamedTuple

from . import expr as E

# the kind a structure gives its symbol: a diagonal or symmetric positive definite matrix is symmetric
STRUCTURE_KINDS = {"orthogonal": "matrix", "diagonal": "symmetric", "spd": "symmetric"}


class Assumption(NamedTuple):
    lhs: E.Expr
    rhs: E.Expr
    text: str


def oriented(left: E.Expr, right: E.Expr, text: str) -> Assumption:
    """The equation left = right as a rewrite that does not grow: the larger side goes."""
    if right.size > left.size:
        return Assumption(right, left, text)
    return Assumption(left, right, text)


def of_structure(symbol: E.Expr, structure: str) -> tuple:
    """The rewrites that `orthogonal Q` or `diagonal D` state of a square symbol."""
    text = f"{structure} {symbol.name}"
    if structure == "orthogonal":
        n = symbol.shape[0]
        return (Assumption(E.mul(E.transpose(symbol), symbol), E.identity(n), text),
                Assumption(E.mul(symbol, E.transpose(symbol)), E.identity(n), text),
                Assumption(E.inverse(symbol), E.transpose(symbol), text))
    if structure == "diagonal":
        return (Assumption(E.diag(E.diag(symbol)), symbol, text),
                Assumption(E.hadamard(symbol, E.identity(symbol.shape[0])), symbol, text))
    return ()


def violated(assumptions: tuple, env: dict, dims: dict, tolerance: float = 1e-8):
    """The first assumption that values do not satisfy (each side's entries within `tolerance`,
    relative to the right side), or None; env and dims as evaluate_numpy.evaluate takes them."""
    import numpy as np
    from .evaluate_numpy import evaluate
    for assumption in assumptions:
        left, right = np.broadcast_arrays(evaluate(assumption.lhs, env, dims), evaluate(assumption.rhs, env, dims))
        if np.max(np.abs(left - right)) > tolerance * (1 + np.max(np.abs(right))):
            return assumption
    return None


def usable(assumptions: tuple, variables) -> tuple:
    """The assumptions that involve none of `variables` (those still to be differentiated by)."""
    names = {v.name for v in variables}
    return tuple(a for a in assumptions
                 if not (E.symbols_in(a.lhs) | E.symbols_in(a.rhs)) & names)
