"""Emit SymPy: an Expr at concrete sizes -> a SymPy Matrix.

Contract: `to_sympy(e, env, dims)` takes each variable as a SymPy Matrix
(scalars 1 x 1) and the sizes of symbolic dimensions, and returns a SymPy
Matrix of e's shape.  Built from SymPy objects only, never from strings:
no user text reaches sympify.
"""
from __future__ import annotations

import sympy as sp

from .evaluate_numpy import size_of, commutation_matrix
from . import ops
from .errors import MatcalcError
from .expr import postorder


def symbol_matrix(name: str, kind: str, rows: int, cols: int) -> sp.Matrix:
    if kind == "scalar":
        return sp.Matrix([[sp.Symbol(name, real=True)]])
    if kind == "vector":
        return sp.Matrix(rows, 1, lambda i, j: sp.Symbol(f"{name}_{i + 1}", real=True))
    if kind == "symmetric":
        return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{min(i, j) + 1}{max(i, j) + 1}",
                                                            real=True))
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def to_sympy(e, env: dict, dims: dict) -> sp.Matrix:
    values: dict = {}
    for node in postorder(e):
        values[node] = _node(node, [values[a] for a in node.args], env, dims)
    return values[e]


def _scalar(m: sp.Matrix):
    return m[0, 0]


def _node(node, args, env, dims) -> sp.Matrix:
    op = node.op
    size = lambda d: size_of(d, dims)  # noqa: E731
    if op == "sym":
        return env[node.name]
    if op == "let":
        return args[0]
    if op == "num":
        return sp.Matrix([[sp.Rational(node.value.numerator, node.value.denominator)]])
    if op == "I":
        return sp.eye(size(node.shape[0]))
    if op == "ones":
        return sp.ones(size(node.shape[0]), size(node.shape[1]))
    if op == "zero":
        return sp.zeros(size(node.shape[0]), size(node.shape[1]))
    if op == "dim":
        return sp.Matrix([[size(node.value)]])
    if op == "add":
        rows, cols = size(node.shape[0]), size(node.shape[1])
        total = sp.zeros(rows, cols)
        for a in args:
            total += a if a.shape == (rows, cols) else _scalar(a) * sp.ones(rows, cols)
        return total
    if op == "mul":
        coefficient, k = node.value
        scale = sp.Rational(coefficient.numerator, coefficient.denominator)
        for s in args[:k]:
            scale *= _scalar(s)
        chain = args[k:]
        if not chain:
            return sp.Matrix([[scale]])
        product = chain[0]
        for m in chain[1:]:
            product = product * m
        return scale * product
    if op in ("pow", "epow"):
        p = _scalar(args[1])
        return args[0].applyfunc(lambda v: v ** p)
    if op == "comm":
        return sp.Matrix(commutation_matrix(size_of(node.value[0], dims), size_of(node.value[1], dims)).astype(int))
    if op == "norm":
        x = args[0]
        if node.value == "1":
            return sp.Matrix([[sum(sp.Abs(v) for v in x)]])
        return sp.Matrix([[sp.sqrt(sum(v ** 2 for v in x))]])
    if op == "entry":
        i, j = node.value
        return sp.Matrix([[args[0][i - 1, j - 1]]])
    if op == "lit":
        rows, cols = size(node.shape[0]), size(node.shape[1])
        return sp.Matrix(rows, cols, lambda i, j: _scalar(args[i * cols + j]))
    return apply(ops.of(node), args)


def apply(operator: ops.Operator, args: list) -> sp.Matrix:
    """The table's SymPy definition of an operator on matrices (n-ary ones left to right);
    an elementwise function's applies to every entry."""
    if operator.sympy is None:
        raise MatcalcError(f"cannot convert {operator.name} to SymPy")
    if operator.is_function:
        return args[0].applyfunc(lambda z: operator.sympy(sp, z))
    value = operator.sympy(sp, *args[:2])
    for more in args[2:]:
        value = operator.sympy(sp, value, more)
    return value
