"""The user's expression as typed: its syntax tree evaluated without the canonical constructors.

Contract: `typed_value(analysis, env, dims, backend)` evaluates the program's
syntax (its definitions and its last expression) with every operator read
literally from the text, in SymPy (`SYMPY`: exact matrices of symbols) or NumPy
(`NUMPY`: float arrays).  Only the analysis' reading of names and sizes is
shared with the engine (kinds, dimensions, which `1` is a ones vector, the
size of `I`); no canonical rewrite (folding powers, cancelling inverses,
collecting terms) touches the value.  check() starts from this reading, so a
wrong rewrite in the constructors is caught instead of shared by both sides.
`typed_sides` reads the two sides of an assumption (`assume sum(y) = 1`) the same
way, so check() can confirm that its points satisfy the equation as the user typed it.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from . import evaluate_numpy, evaluate_sympy, ops
from .evaluate_numpy import size_of
from .errors import MatcalcError
from .syntax import fold, operands


@dataclass(frozen=True)
class Backend:
    """The few array operations a literal reading needs, for one array library."""
    number: object          # Fraction -> 1 x 1
    ones: object            # (rows, cols) -> array of ones
    eye: object
    matmul: object
    power: object           # elementwise power by a scalar (1 x 1) exponent
    matrix_power: object    # square matrix to a non-negative integer power
    from_rows: object       # list of lists of 1 x 1 arrays -> array
    commutation: object
    scalar: object          # 1 x 1 array -> its entry
    apply: object           # (Operator, arrays) -> the table's definition applied


def _sympy_power(m, p):
    exponent = p[0, 0]
    return m.applyfunc(lambda v: v ** exponent)


SYMPY = Backend(
    number=lambda q: sp.Matrix([[sp.Rational(q.numerator, q.denominator)]]),
    ones=sp.ones, eye=sp.eye, matmul=lambda a, b: a * b, power=_sympy_power,
    matrix_power=lambda m, k: m ** k,
    from_rows=lambda rows: sp.Matrix([[x[0, 0] for x in row] for row in rows]),
    commutation=lambda r, c: sp.Matrix(evaluate_numpy.commutation_matrix(r, c).astype(int)),
    scalar=lambda m: m[0, 0], apply=evaluate_sympy.apply)


def _numpy_power(m, p):
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        try:
            return np.power(m, p[0, 0])
        except FloatingPointError:
            raise evaluate_numpy.DomainError("a power outside its domain") from None


NUMPY = Backend(
    number=lambda q: np.array([[float(q)]]), ones=lambda r, c: np.ones((r, c)), eye=np.eye,
    matmul=lambda a, b: a @ b, power=_numpy_power, matrix_power=np.linalg.matrix_power,
    from_rows=lambda rows: np.array([[x[0, 0] for x in row] for row in rows]),
    commutation=evaluate_numpy.commutation_matrix, scalar=lambda m: m[0, 0], apply=evaluate_numpy.apply)


def typed_value(analysis, env: dict, dims: dict, backend: Backend):
    """The value of what the user typed, as a 2-D array of the backend (scalars 1 x 1)."""
    program = analysis.program
    definitions = {definition.name: definition.node for definition in program.definitions}
    reader = _Reader(analysis, env, dims, backend, definitions)
    return reader.value(program.body)


def typed_sides(analysis, stated, env: dict, dims: dict, backend: Backend) -> tuple:
    """The values of an assumption's two sides as typed (a `syntax.Stated`)."""
    definitions = {definition.name: definition.node for definition in analysis.program.definitions}
    reader = _Reader(analysis, env, dims, backend, definitions)
    return reader.value(stated.lhs), reader.value(stated.rhs)


class _Reader:
    def __init__(self, analysis, env, dims, backend, definitions):
        self.analysis = analysis
        self.env = env
        self.dims = dims
        self.b = backend
        self.definitions = definitions
        self.memo: dict = {}

    def size(self, d) -> int:
        return size_of(d, self.dims)

    def shape(self, node):
        rows, cols = self.analysis.node_shape(node)
        return self.size(rows), self.size(cols)

    def value(self, node):
        return fold(node, self._children, self._one, self.memo)

    def _children(self, node) -> list:
        return operands(node, self.definitions)

    @staticmethod
    def _is_scalar(m) -> bool:
        return m.shape == (1, 1)

    def _broadcast(self, a, b):
        if self._is_scalar(a) and not self._is_scalar(b):
            a = self.b.scalar(a) * self.b.ones(*b.shape)
        elif self._is_scalar(b) and not self._is_scalar(a):
            b = self.b.scalar(b) * self.b.ones(*a.shape)
        return a, b

    def _one(self, node, kids: list):
        op, b = node.op, self.b
        if op == "number":
            shape = self.shape(node)
            return b.ones(*shape) if shape != (1, 1) else b.number(node.value)
        if op == "name":
            if node.value == "I":
                return b.eye(self.shape(node)[0])
            if node.value in self.definitions:
                return kids[0]
            if node.value in ops.CONSTANTS and node.value not in self.analysis.symbols:
                return b.apply(ops.CONSTANTS[node.value], [])
            return self.env[node.value]
        if op == "neg":
            return -kids[0]
        if op == "divide":
            return kids[0] * b.scalar(b.power(kids[1], b.number(-1)))
        if op == "elementwise_divide":
            x, y = self._broadcast(*kids)
            return self._times(x, b.power(y, b.number(-1)))
        if op == "sub":
            x, y = self._broadcast(*kids)
            return x - y
        if op in ("power", "elementwise_power"):
            base, exponent = kids
            if op == "elementwise_power" or self._is_scalar(base):
                return b.power(base, exponent)
            k = int(b.scalar(exponent))
            raised = b.matrix_power(base, abs(k))
            return self._apply("inv", raised) if k < 0 else raised
        if op == "inverse":
            return b.power(kids[0], b.number(-1)) if self._is_scalar(kids[0]) else self._apply("inv", kids[0])
        if op == "entry":
            return self._entry(node, kids[0])
        if op == "norm":
            return self._norm(node.value, kids[0])
        if op == "literal":
            width = len(node.args[0])
            return b.from_rows([kids[i:i + width] for i in range(0, len(kids), width)])
        if op == "call":
            return self._call(node, kids)
        operator = ops.SYNTAX.get(op)
        if operator is None:
            raise MatcalcError(f"the check cannot read {op} as typed")
        if operator.arity == 1:
            return self.b.apply(operator, kids)
        return self._operator(operator, kids)

    def _apply(self, name: str, *kids):
        return self.b.apply(ops.OPERATORS[name], list(kids))

    def _times(self, x, y):
        return self._apply("had", x, y)

    def _operator(self, operator, kids: list):
        """A product or sum of two operands, read as typed: a scalar operand scales."""
        x, y = kids
        if operator.shape == "broadcast":
            return self.b.apply(operator, list(self._broadcast(x, y)))
        if self._is_scalar(x) or self._is_scalar(y):
            return x * self.b.scalar(y) if self._is_scalar(y) else self.b.scalar(x) * y
        return self.b.matmul(x, y) if operator.shape == "chain" else self.b.apply(operator, [x, y])

    def _entry(self, node, m):
        indices = node.value
        if len(indices) == 1:
            indices = (indices[0], 1) if m.shape[1] == 1 else (1, indices[0])
        i, j = indices
        return self.b.from_rows([[m[i - 1:i, j - 1:j]]])

    def _norm(self, kind: str, m):
        b = self.b
        if kind == "1":
            return self._total(self._apply("abs", m))
        squares = self._total(self._times(m, m))
        return b.power(squares, b.number(Fraction(1, 2)))

    def _total(self, m):
        return self.b.matmul(self.b.matmul(self.b.ones(1, m.shape[0]), m), self.b.ones(m.shape[1], 1))

    def _call(self, node, kids: list):
        operator, b = ops.CALLS[node.value], self.b
        if operator.shape == "leaf":     # commutation(m, n): its arguments are sizes
            rows, cols = (self.size(a.value) if a.op == "name" else int(a.value) for a in node.args)
            return b.commutation(rows, cols)
        if operator.arity != 1:
            return self._operator(operator, kids)
        x = kids[0]
        if operator.is_function:
            return b.apply(operator, [x])
        if operator.name == "norm":
            return self._norm("2", x)
        if self._is_scalar(x) and operator.shape in ("square-scalar", "square-same", "diag", "scalar"):
            if operator.name == "inv":
                return b.power(x, b.number(-1))
            return self._apply(operator.of_scalar, x) if operator.of_scalar else x
        if operator.shape == "diag":
            return self._diag(x)
        if operator.shape == "scalar":
            return self._total(x)
        return b.apply(operator, [x])

    def _diag(self, x):
        b = self.b
        if x.shape[0] == 1 or x.shape[1] == 1:
            entries = [x[i:i + 1, 0:1] if x.shape[1] == 1 else x[0:1, i:i + 1] for i in range(max(x.shape))]
            n = len(entries)
            zero = b.number(0)
            return b.from_rows([[entries[i] if i == j else zero for j in range(n)] for i in range(n)])
        return b.from_rows([[x[i:i + 1, i:i + 1]] for i in range(x.shape[0])])
