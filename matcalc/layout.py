"""Axes and layouts: where each axis of a derivative goes (SYNTAX.md, "Layouts").

The engine computes in one convention; this module orders the axes:
  mixed        axes of f, then axes of the variable
  numerator    axes of f, then axes of the variable reversed
  denominator  axes of the variable, then axes of f reversed
and states the two conventions for a symmetric variable.  It depends on expressions only,
so that every stage above (the pipeline, evaluation, the check, code) may use it.
"""
from __future__ import annotations

from fractions import Fraction

from . import expr as E

LAYOUTS = ("mixed", "numerator", "denominator")
SYMMETRIC_CONVENTIONS = ("gradient", "entries")
SYMMETRIC_NOTES = {"gradient": "symmetric gradient (G + G^T)/2",
                   "entries": "S_ij = S_ji as one variable: G + G^T - G .* I (Matrix Cookbook)"}


def axes(e: E.Expr) -> int:
    return len(axis_dims(e))


def axis_dims(e: E.Expr) -> tuple:
    """The sizes of an expression's axes: none for a scalar, one for a vector."""
    if e.is_scalar:
        return ()
    if e.shape[0] == 1 or e.shape[1] == 1:
        return (e.shape[1] if e.shape[0] == 1 else e.shape[0],)
    return tuple(e.shape)


def variable_axes(variable: E.Expr) -> int:
    return len(variable_axis_dims(variable))


def variable_axis_dims(variable: E.Expr) -> tuple:
    if variable.kind == "scalar":
        return ()
    return (variable.shape[0],) if variable.kind == "vector" else tuple(variable.shape)


def layout_order(f_count: int, v_count: int, layout: str) -> list:
    """Positions of the (f axes, variable axes) in the layout's order (SYNTAX.md, Layouts)."""
    f, v = list(range(f_count)), list(range(f_count, f_count + v_count))
    return {"mixed": f + v, "numerator": f + v[::-1], "denominator": v + f[::-1]}[layout]


def arrange(core: E.Expr, f: E.Expr, variable: E.Expr, layout: str) -> E.Expr:
    """Order the axes of the engine's result as the layout says (SYNTAX.md, Layouts)."""
    fa, va = axes(f), variable_axes(variable)
    if va == 0:
        column = E.transpose(core) if (fa == 1 and core.is_row) else core
        if layout == "denominator" and fa >= 1:
            return E.transpose(column)
        return column
    if fa == 0:
        return E.transpose(core) if layout == "numerator" else core
    return E.transpose(core) if layout == "denominator" else core


def symmetrised(gradient: E.Expr, variable: E.Expr, symmetric_as: str) -> E.Expr:
    """For symmetric S: the symmetric gradient (G + G^T)/2, or with entries S_ij = S_ji
    taken as one variable G + G^T - G .* I."""
    if variable.kind != "symmetric":
        return gradient
    if symmetric_as == "entries":
        return E.add(gradient, E.transpose(gradient), E.neg(E.hadamard(gradient, E.identity(gradient.shape[0]))))
    return E.mul(E.number(Fraction(1, 2)), E.add(gradient, E.transpose(gradient)))


def symmetrised_vec(jacobian: E.Expr, variable: E.Expr, symmetric_as: str) -> E.Expr:
    """The same conventions on d vec F / d (vec S)^T: J (I + K)/2, or J (I + K - diag(vec I))."""
    if variable.kind != "symmetric":
        return jacobian
    n = variable.shape[0]
    swapped = E.mul(jacobian, E.commutation(n, n))
    if symmetric_as == "entries":
        return E.add(jacobian, swapped, E.neg(E.mul(jacobian, E.diag(E.vec(E.identity(n))))))
    return E.mul(E.number(Fraction(1, 2)), E.add(jacobian, swapped))


def named_intermediates(result: E.Expr, analysis) -> E.Expr:
    """Where an intermediate's definition (a `let` of the analysed program) reappears in
    the result, write its name."""
    lets = {}
    for node in E.postorder(analysis.body):
        if node.op == "let":
            lets[node.args[0]] = node
    if not lets:
        return result

    def replace(node, again):
        if node in lets:
            return lets[node]
        return node if node.op == "let" else None   # a definition keeps its own body
    return E.transform(result, replace)
