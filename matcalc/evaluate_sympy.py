"""Emit SymPy: an Expr at concrete sizes -> a SymPy Matrix.

Contract: `to_sympy(e, env, dims)` takes each variable as a SymPy Matrix
(scalars 1 x 1) and the sizes of symbolic dimensions, and returns a SymPy
Matrix of e's shape.  Built from SymPy objects only, never from strings:
no user text reaches sympify.
"""
from __future__ import annotations

import sympy as sp

from .evaluate_numpy import size_of, commutation_matrix
from .errors import MatcalcError
from .expr import postorder


def _sigmoid(x):
    return 1 / (1 + sp.exp(-x))


_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tanh": sp.tanh,
    "sigmoid": _sigmoid, "sqrt": sp.sqrt, "abs": sp.Abs,
    "relu": lambda x: sp.Max(0, x), "softplus": lambda x: sp.log(1 + sp.exp(x)),
    "sign": sp.sign, "step": sp.Heaviside,
}


def _inverse(m: sp.Matrix) -> sp.Matrix:
    """adj(M) / det(M), division-free: far faster than Gaussian elimination on symbolic entries."""
    if m.shape == (1, 1):
        return sp.Matrix([[1 / m[0, 0]]])
    det = m.det(method="berkowitz")
    if det == 0:
        raise ZeroDivisionError("inverse of a singular matrix")
    return m.adjugate(method="berkowitz") / det


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
        return env[node.value[0]]
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
    if op == "had":
        product = args[0]
        for a in args[1:]:
            product = product.multiply_elementwise(a)
        return product
    if op == "kron":
        product = args[0]
        for a in args[1:]:
            product = sp.kronecker_product(product, a)
        return product
    if op == "T":
        return args[0].T
    if op == "inv":
        return _inverse(args[0])
    if op in ("pow", "epow"):
        p = _scalar(args[1])
        return args[0].applyfunc(lambda v: v ** p)
    if op == "mpow":
        return args[0] ** int(_scalar(args[1]))
    if op == "fn":
        return args[0].applyfunc(_FUNCTIONS[node.value])
    if op == "tr":
        return sp.Matrix([[args[0].trace()]])
    if op == "det":
        return sp.Matrix([[args[0].det(method="berkowitz")]])
    if op == "logdet":
        return sp.Matrix([[sp.log(args[0].det(method="berkowitz"))]])
    if op == "vec":
        m = args[0]
        return sp.Matrix([m[i, j] for j in range(m.shape[1]) for i in range(m.shape[0])])
    if op == "comm":
        return sp.Matrix(commutation_matrix(size_of(node.value[0], dims), size_of(node.value[1], dims)).astype(int))
    if op == "diagm":
        return sp.diag(*list(args[0]))
    if op == "diagv":
        m = args[0]
        return sp.Matrix(m.shape[0], 1, lambda i, j: m[i, i])
    if op == "sum":
        return sp.Matrix([[sum(args[0])]])
    if op == "norm":
        x = args[0]
        if node.value == "1":
            return sp.Matrix([[sum(sp.Abs(v) for v in x)]])
        return sp.Matrix([[sp.sqrt(sum(v ** 2 for v in x))]])
    if op == "softmax":
        exps = args[0].applyfunc(sp.exp)
        return exps / sum(exps)
    if op == "logsumexp":
        return sp.Matrix([[sp.log(sum(args[0].applyfunc(sp.exp)))]])
    if op == "entry":
        i, j = node.value
        return sp.Matrix([[args[0][i - 1, j - 1]]])
    if op == "lit":
        rows, cols = size(node.shape[0]), size(node.shape[1])
        return sp.Matrix(rows, cols, lambda i, j: _scalar(args[i * cols + j]))
    raise MatcalcError(f"cannot convert {op} to SymPy")
