"""A grammar-driven generator of matcalc programs, with its own evaluator: the fuzzer's oracle.

Contract:
- `programs()` is a hypothesis strategy of `Program`s: random well-shaped texts in the
  language of SYNTAX.md (declarations, definitions `u = ...;`, then an expression), built
  as a tree whose every node knows its symbolic shape (dims "n", "m", the literal size
  "2", and "1"), so that what is generated is well-shaped by construction.  Depth is
  bounded (`max_depth`); the user's names and the dimension names are drawn from pools
  that include Python keywords, builtins and `np`.
- `Program.value(env)` evaluates the tree with NumPy directly, never through matcalc.
  It raises `Undefined` where the point is outside the function's domain, near a kink
  (abs, relu, the 1-norm), badly conditioned for an inverse, or overflowing: there the
  finite differences below mean nothing, and another point is drawn.
- `expected_derivative(program, variable, layout, env)` is the derivative by central
  finite differences, arranged with the layout's axis order (SYNTAX.md, Layouts):
  mixed = axes of f then of the variable, numerator = axes of f then of the variable
  reversed, denominator = axes of the variable then of f reversed; a one-axis result is a
  column except numerator by a vector and denominator of a vector; None where two step
  sizes disagree (the point is not smooth enough to judge).  By a symmetric matrix it is
  the symmetric gradient (G + G^T)/2; `expected_second_derivative` is the derivative of
  the mixed-layout first derivative, by second differences.
- `mutations()` edits valid texts by random insertions, deletions and replacements;
  `odd_calls()` calls diff, evaluate and check with arguments of wrong types and values.
- `judge()` compares matcalc's answers with the oracle and names what is wrong, by property.
- `Guard` runs matcalc calls in a forked worker process with a wall-clock limit: an
  input that runs past it is reported, and the worker is replaced.
Everything matcalc is asked runs in the worker (`run_case`); what it answers is compared
with this module's oracle in the parent.
"""
from __future__ import annotations

import math
import multiprocessing
import re
import traceback
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

LAYOUTS = ("mixed", "numerator", "denominator")
SIZES = {"1": 1, "2": 2, "n": 3, "m": 4}     # concrete sizes of the generator's dims
SCALAR = ("1", "1")
SQUARE_DIMS = ("n", "m", "2")
ATOM, POSTFIX, POWER, PREFIX, PRODUCT, SUM = 6, 5, 4, 3, 2, 1

# Names a user may pick, some colliding with Python keywords, builtins and NumPy's alias.
VECTOR_NAMES = ("x", "y", "w", "z2", "y_hat", "theta", "lambda", "def", "np", "float", "e", "len")
SYMMETRIC_NAMES = ("S", "Sigma_s", "K", "False")
MATRIX_NAMES = ("A", "B", "W", "X1", "Sigma", "True", "None", "Phi", "M_2")
SCALAR_NAMES = ("a", "b", "n", "lambda", "alpha", "np", "sum_", "m", "t")
CONVENTIONAL = {"vector": ("x", "y", "w", "z2"), "matrix": ("A", "B", "W", "X1")}
DIM_NAMES = (("n", "m"), ("n", "m"), ("n", "m"), ("k", "p"), ("lambda", "def"), ("True", "np"),
             ("float", "x"), ("m", "n"), ("derivative", "A"), ("len", "int"))


class Undefined(Exception):
    """The point is outside the domain, near a kink, ill-conditioned or overflowing."""


# ------------------------------------------------------------------ the tree
@dataclass(frozen=True)
class Node:
    """A generated expression: its text in the language, its symbolic shape, its precedence
    level (to decide parentheses) and what the oracle's evaluator needs (op, args, value)."""
    op: str
    args: tuple
    shape: tuple
    text: str
    level: int
    value: object = None

    def __repr__(self) -> str:
        return f"<{self.op} {self.text!r}>"


def is_scalar(shape) -> bool:
    return shape == SCALAR


def axis_sizes(shape) -> tuple:
    """The axes of a value of this symbolic shape: none, one (a column or a row), or two."""
    rows, cols = shape
    if rows == "1" and cols == "1":
        return ()
    if cols == "1":
        return (rows,)
    if rows == "1":
        return (cols,)
    return (rows, cols)


def wrap(node: Node, level: int) -> str:
    return node.text if node.level >= level else f"({node.text})"


@dataclass
class Program:
    declarations: list            # "x: vector[n]" and the like, or "scalar a"
    definitions: list             # (name, Node)
    body: Node
    symbols: dict                 # name -> (kind, shape in generator dims)
    dim_names: dict               # generator dim -> the name written in the text
    extra: list = field(default_factory=list)   # declared names the text does not use
    by_keyword: bool = False      # declarations passed as diff(..., scalars=, declare=), not in the text

    def __repr__(self) -> str:
        return f"Program({self.text!r})"

    @property
    def text(self) -> str:
        inline = [] if self.by_keyword else list(self.declarations)
        statements = inline + [f"{name} = {node.text}" for name, node in self.definitions]
        return "; ".join(statements + [self.body.text])

    @property
    def preamble(self) -> str:
        """The declarations in the text, to read printed results back with."""
        return "" if self.by_keyword else "".join(d + "; " for d in self.declarations)

    @property
    def options(self) -> dict:
        """The declarations as diff's and parse's keyword arguments (scalars=, declare=)."""
        if not self.by_keyword:
            return {}
        scalars = [d.split()[1] for d in self.declarations if d.startswith("scalar ")]
        typed = [d for d in self.declarations if not d.startswith("scalar ")]
        return {"scalars": ",".join(scalars), "declare": typed}

    def used_symbols(self) -> list:
        used: list = []
        for node in [n for _, n in self.definitions] + [self.body]:
            for s in postorder(node):
                if s.op == "sym" and s.value not in used:
                    used.append(s.value)
        return used

    def value(self, env: dict) -> np.ndarray:
        """The program's value at a point (every symbol a 2-D array), with NumPy."""
        scope = dict(env)
        for name, node in self.definitions:
            scope[name] = evaluate(node, scope)
        return evaluate(self.body, scope)


def postorder(node: Node):
    """The node's subexpressions, each before the node that holds it."""
    for a in node.args:
        yield from postorder(a)
    yield node


# ------------------------------------------------------------------ the generator
class _Context:
    """The symbols of one program as it is drawn: names per slot, never reused across kinds."""

    def __init__(self, draw, dim_names, declare_all):
        self.draw = draw
        self.dim_names = dim_names
        self.declare_all = declare_all
        self.symbols: dict = {}       # name -> (kind, shape)
        self.by_shape: dict = {}      # shape -> [names] (symbols and definitions)
        self.taken: set = set()

    def dim(self, d: str) -> str:
        return self.dim_names.get(d, d)

    def new_name(self, pool) -> str | None:
        free = [n for n in pool if n not in self.taken]
        if not free:
            return None
        name = self.draw(st.sampled_from(free))
        self.taken.add(name)
        return name

    def symbol(self, shape, fresh: bool = False) -> Node | None:
        """An existing name of this shape, or a new symbol (None for rows: no such symbol)."""
        rows, cols = shape
        if rows == "1" and cols != "1":
            return None
        known = [] if fresh else self.by_shape.get(shape, [])
        if known and (len(known) >= 2 or self.draw(st.integers(0, 3)) > 0):
            name = self.draw(st.sampled_from(known))
            return Node("sym" if name in self.symbols else "ref", (), shape, name, ATOM, name)
        kind = "scalar" if is_scalar(shape) else "vector" if cols == "1" else "matrix"
        if kind == "matrix" and rows == cols and self.draw(st.integers(0, 4)) == 0:
            kind = "symmetric"
        name = self.new_name({"scalar": SCALAR_NAMES, "vector": VECTOR_NAMES, "matrix": MATRIX_NAMES,
                              "symmetric": SYMMETRIC_NAMES}[kind])
        if name is None:
            if not known:
                return None
            name = known[0]
            return Node("sym" if name in self.symbols else "ref", (), shape, name, ATOM, name)
        self.symbols[name] = (kind, shape)
        self.by_shape.setdefault(shape, []).append(name)
        return Node("sym", (), shape, name, ATOM, name)

    def declaration(self, name) -> str | None:
        kind, (rows, cols) = self.symbols[name]
        # only names every reading agrees on go undeclared (Greek coefficients may read as scalars)
        conventional = name in CONVENTIONAL[kind] if kind in CONVENTIONAL else False
        if kind == "scalar":
            return f"{name}: scalar" if self.declare_all or self.draw(st.booleans()) else f"scalar {name}"
        if not self.declare_all and conventional and "2" not in (rows, cols) and kind != "symmetric":
            return None     # inferred: lowercase names are vectors, uppercase ones matrices
        if kind == "vector":
            return f"{name}: vector[{self.dim(rows)}]"
        if kind == "symmetric":
            return f"{name}: symmetric[{self.dim(rows)}]"
        return f"{name}: matrix[{self.dim(rows)},{self.dim(cols)}]"


# Not 1: beside a vector or matrix, `X 1` and `1 x^T` mean the ones vector (SYNTAX.md)
NUMBERS = (("2", 2.0, ATOM), ("3", 3.0, ATOM), ("0.5", 0.5, ATOM), ("1.5", 1.5, ATOM),
           ("1/2", 0.5, PRODUCT), ("0.25", 0.25, ATOM))
ELEMENTWISE = ("exp", "sin", "cos", "tanh", "sigmoid", "softplus", "abs", "relu", "erf")
POSITIVE_ONLY = ("log", "sqrt")
INTEGER_EXPONENTS = (("2", 2), ("3", 3))
FRACTIONAL_EXPONENTS = (("0.5", 0.5), ("1.5", 1.5), ("(1/2)", 0.5), ("(3/2)", 1.5), ("-0.5", -0.5),
                        ("-1", -1.0), ("(-2)", -2.0), ("2.5", 2.5))


class _Generator:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.draw = ctx.draw

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def coin(self, chance: float = 0.5) -> bool:
        # hypothesis draws small integers more often than their share; a wide range and a
        # remainder make the odds near the stated chance
        return self.draw(st.integers(0, 2**32 - 1)) % 1000 < chance * 1000

    # ---- leaves
    def leaf(self, shape) -> Node:
        rows, cols = shape
        if is_scalar(shape) and self.coin(0.35):
            text, value, level = self.pick(NUMBERS)
            return Node("num", (), shape, text, level, value)
        if rows == cols and rows != "1" and self.coin(0.1):
            return Node("I", (), shape, "I", ATOM)
        if rows == "1" and cols != "1":
            if self.coin(0.1):
                return Node("ones_row", (), shape, "1^T", POSTFIX)
            return self.transpose(self.leaf((cols, rows)))
        if set(shape) <= {"1", "2"} and not is_scalar(shape) and self.coin(0.4):
            return self.literal(shape)
        node = self.ctx.symbol(shape)
        return node if node is not None else self.literal(shape)

    def literal(self, shape) -> Node:
        rows, cols = (SIZES[d] for d in shape)
        entries = [self.expr(SCALAR, 0) for _ in range(rows * cols)]
        lines = ["; ".join(", ".join(e.text for e in entries[r * cols:(r + 1) * cols]) for r in range(rows))]
        return Node("lit", tuple(entries), shape, f"[{lines[0]}]", ATOM, (rows, cols))

    # ---- compound nodes
    def transpose(self, a: Node) -> Node:
        mark = self.pick(("^T", "'", "ᵀ", "^⊤", "^T"))
        return Node("T", (a,), (a.shape[1], a.shape[0]), wrap(a, POSTFIX) + mark, POSTFIX)

    def expr(self, shape, depth: int) -> Node:
        if depth <= 0 or self.coin(0.05):
            return self.leaf(shape)
        choices = self.productions(shape)
        production = self.pick(choices)
        return production(shape, depth - 1)

    def productions(self, shape):
        """The productions that give this shape, some listed twice to draw them more often."""
        rows, cols = shape
        common = [self.p_add, self.p_add, self.p_neg, self.p_scale, self.p_hadamard, self.p_divide,
                  self.p_function, self.p_function, self.p_power, self.p_power, self.p_product,
                  self.p_product, self.p_product, self.p_transpose]
        if not is_scalar(shape):
            common += [self.p_broadcast]
        if is_scalar(shape):
            common += [self.p_trace, self.p_trace, self.p_det, self.p_det, self.p_logdet, self.p_logdet,
                       self.p_sum, self.p_sum, self.p_norm, self.p_norm, self.p_logsumexp, self.p_logsumexp,
                       self.p_entry, self.p_scalar_power, self.p_scalar_power, self.p_kron_scalar]
        if cols == "1" and rows != "1":
            common += [self.p_softmax, self.p_softmax, self.p_diag_of]
        if rows == cols and rows != "1":
            common += [self.p_inverse, self.p_inverse, self.p_matrix_power, self.p_matrix_power,
                       self.p_diag_matrix]
        if rows != "1" and cols != "1":
            common += [self.p_kron_outer]
        return common

    def p_add(self, shape, depth):
        a, b = self.expr(shape, depth), self.expr(shape, depth)
        op = self.pick(("+", "-"))
        return Node("add" if op == "+" else "sub", (a, b), shape, f"{wrap(a, SUM)} {op} {wrap(b, PRODUCT)}", SUM)

    def p_broadcast(self, shape, depth):
        s, a = self.expr(SCALAR, depth - 1), self.expr(shape, depth)
        op = self.pick(("+", "-"))
        if self.coin():
            return Node("add" if op == "+" else "sub", (s, a), shape, f"{wrap(s, SUM)} {op} {wrap(a, PRODUCT)}", SUM)
        return Node("add" if op == "+" else "sub", (a, s), shape, f"{wrap(a, SUM)} {op} {wrap(s, PRODUCT)}", SUM)

    def p_neg(self, shape, depth):
        a = self.expr(shape, depth)
        return Node("neg", (a,), shape, "-" + wrap(a, PREFIX), PREFIX)

    def _product_text(self, a: Node, b: Node) -> str:
        spelling = self.pick((" ", " ", " * ", " @ ")) if not (is_scalar(a.shape) or is_scalar(b.shape)) \
            else self.pick((" ", " ", " * "))
        right = wrap(b, POWER) if spelling == " " else wrap(b, PREFIX)
        return f"{wrap(a, PRODUCT)}{spelling}{right}"

    def p_scale(self, shape, depth):
        s, a = self.expr(SCALAR, depth - 1), self.expr(shape, depth)
        if self.coin(0.3) and not is_scalar(shape):
            divisor = self.nonzero_scalar(depth - 1)
            return Node("div", (a, divisor), shape, f"{wrap(a, PRODUCT)} / {wrap(divisor, PREFIX)}", PRODUCT)
        first, second = (s, a) if self.coin(0.7) else (a, s)
        return Node("mul", (first, second), shape, self._product_text(first, second), PRODUCT)

    def p_product(self, shape, depth):
        rows, cols = shape
        inner = self.pick(("1", "n", "m", "2", "n", "m")) if not is_scalar(shape) else self.pick(("n", "m", "2"))
        if rows == "1" and cols == "1" and inner == "1":
            inner = "n"
        a, b = self.expr((rows, inner), depth), self.expr((inner, cols), depth)
        return Node("mul", (a, b), shape, self._product_text(a, b), PRODUCT)

    def p_hadamard(self, shape, depth):
        a, b = self.expr(shape, depth), self.expr(shape, depth)
        mark = self.pick((".*", "∘", "⊙", ".*"))
        return Node("had", (a, b), shape, f"{wrap(a, PRODUCT)} {mark} {wrap(b, PREFIX)}", PRODUCT)

    def p_divide(self, shape, depth):
        a, b = self.expr(shape, depth), self.positive(shape, depth)
        if is_scalar(shape):
            return Node("ediv", (a, b), shape, f"{wrap(a, PRODUCT)} / {wrap(b, PREFIX)}", PRODUCT)
        return Node("ediv", (a, b), shape, f"{wrap(a, PRODUCT)} ./ {wrap(b, PREFIX)}", PRODUCT)

    def p_function(self, shape, depth):
        if self.coin(0.25):
            name, a = self.pick(POSITIVE_ONLY), self.positive(shape, depth)
        else:
            name, a = self.pick(ELEMENTWISE), self.expr(shape, depth)
        return Node("fun", (a,), shape, f"{name}({a.text})", ATOM, name)

    def p_power(self, shape, depth):
        if self.coin(0.4):
            text, p = self.pick(INTEGER_EXPONENTS)
            base = self.expr(shape, depth)
        else:
            text, p = self.pick(FRACTIONAL_EXPONENTS)
            base = self.positive(shape, depth)
        mark = " .^ " if not is_scalar(shape) or self.coin() else "^"
        return Node("epow", (base,), shape, f"{wrap(base, POSTFIX)}{mark}{text}", POWER, p)

    def p_scalar_power(self, shape, depth):
        """A positive base to a scalar exponent that is itself an expression (s^(sum(x)))."""
        base = self.positive(SCALAR, depth)
        exponent = self.expr(SCALAR, depth)
        if exponent.op == "sym":
            text = exponent.text
        elif exponent.op == "num" and exponent.level == ATOM:
            text = exponent.text
        else:
            text = f"({exponent.text})"
        return Node("spow", (base, exponent), shape, f"{wrap(base, POSTFIX)}^{text}", POWER)

    def p_transpose(self, shape, depth):
        return self.transpose(self.expr((shape[1], shape[0]), depth))

    def p_trace(self, shape, depth):
        k = self.pick(SQUARE_DIMS)
        a = self.expr((k, k), depth)
        return Node("tr", (a,), shape, f"tr({a.text})", ATOM)

    def p_det(self, shape, depth):
        a = self.well_conditioned(self.pick(SQUARE_DIMS), depth)
        return Node("det", (a,), shape, f"det({a.text})", ATOM)

    def p_logdet(self, shape, depth):
        a = self.well_conditioned(self.pick(SQUARE_DIMS), depth)
        return Node("logdet", (a,), shape, f"logdet({a.text})", ATOM)

    def p_sum(self, shape, depth):
        inner = self.pick((("n", "1"), ("m", "1"), ("n", "n"), ("n", "m"), ("1", "m"), ("2", "1"), ("2", "2")))
        a = self.expr(inner, depth)
        return Node("sum", (a,), shape, f"sum({a.text})", ATOM)

    def p_norm(self, shape, depth):
        kind = self.pick(("2", "2", "sq", "F", "1"))
        if kind == "F":
            a = self.expr(self.pick((("n", "n"), ("n", "m"), ("2", "2"))), depth)
            bars = ("||", "||_F") if "|" not in a.text and self.coin() else ("‖", "‖_F")
            return Node("norm", (a,), shape, f"{bars[0]}{a.text}{bars[1]}", ATOM, "2")
        a = self.expr(self.pick((("n", "1"), ("m", "1"), ("2", "1"))), depth)
        ascii_ok = "|" not in a.text
        if kind == "1":
            bars = ("||", "||_1") if ascii_ok and self.coin() else ("‖", "‖_1")
            return Node("norm", (a,), shape, f"{bars[0]}{a.text}{bars[1]}", ATOM, "1")
        if kind == "sq":
            bars = ("||", "||") if ascii_ok and self.coin() else ("‖", "‖")
            return Node("normsq", (a,), shape, f"{bars[0]}{a.text}{bars[1]}^2", POWER)
        spellings = [("‖", "‖"), ("norm(", ")")] + ([("||", "||"), ("||", "||_2")] if ascii_ok else [])
        bars = self.pick(spellings)
        return Node("norm", (a,), shape, f"{bars[0]}{a.text}{bars[1]}", ATOM, "2")

    def p_logsumexp(self, shape, depth):
        a = self.expr((self.pick(("n", "m", "2")), "1"), depth)
        return Node("logsumexp", (a,), shape, f"logsumexp({a.text})", ATOM)

    def p_softmax(self, shape, depth):
        a = self.expr(shape, depth)
        return Node("softmax", (a,), shape, f"softmax({a.text})", ATOM)

    def p_diag_of(self, shape, depth):
        a = self.expr((shape[0], shape[0]), depth)
        return Node("diagv", (a,), shape, f"diag({a.text})", ATOM)

    def p_diag_matrix(self, shape, depth):
        a = self.expr((shape[0], "1"), depth)
        return Node("diagm", (a,), shape, f"diag({a.text})", ATOM)

    def p_entry(self, shape, depth):
        """x[i] or X[i, j] of a symbol or a parenthesised expression (1-based)."""
        # an entry makes the sizes concrete (SYNTAX.md): of what has the literal size 2 only
        matrix = self.coin(0.4)
        inner = ("2", "2") if matrix else ("2", "1")
        a = self.expr(inner, depth) if self.coin(0.3) else self.leaf(inner)
        # an index bracket touches what it indexes; anything but a name is parenthesised
        text = a.text if a.op in ("sym", "ref") else f"({a.text})"
        i = self.draw(st.integers(1, 2))
        if matrix:
            j = self.draw(st.integers(1, 2))
            return Node("entry", (a,), shape, f"{text}[{i}, {j}]", POSTFIX, (i, j))
        return Node("entry", (a,), shape, f"{text}[{i}]", POSTFIX, (i, 1))

    def p_inverse(self, shape, depth):
        a = self.well_conditioned(shape[0], depth)
        form = self.pick(("inv", "^-1", "^(-1)", "⁻¹"))
        text = f"inv({a.text})" if form == "inv" else wrap(a, POSTFIX) + form
        return Node("inv", (a,), shape, text, ATOM if form == "inv" else POSTFIX)

    def p_matrix_power(self, shape, depth):
        p = self.pick((2, 2, 3, -2, 0))
        a = self.well_conditioned(shape[0], depth) if p < 0 else self.expr(shape, depth)
        return Node("mpow", (a,), shape, f"{wrap(a, POSTFIX)}^{p}", POWER, p)

    def p_kron_outer(self, shape, depth):
        """kron of a column and a row is their outer product (r x c)."""
        a, b = self.expr((shape[0], "1"), depth), self.expr(("1", shape[1]), depth)
        if self.coin():
            return Node("kron", (a, b), shape, f"kron({a.text}, {b.text})", ATOM)
        return Node("kron", (a, b), shape, f"{wrap(a, PRODUCT)} ⊗ {wrap(b, PREFIX)}", PRODUCT)

    def p_kron_scalar(self, shape, depth):
        """A scalar of a Kronecker product of two matrices (its sum, trace or norm)."""
        k1, k2 = self.pick(SQUARE_DIMS), self.pick(SQUARE_DIMS)
        a, b = self.expr((k1, k1), depth - 1), self.expr((k2, k2), depth - 1)
        inner = Node("kron", (a, b), (f"{k1}*{k2}", f"{k1}*{k2}"), f"kron({a.text}, {b.text})", ATOM)
        how = self.pick(("sum", "tr"))
        return Node(how, (inner,), shape, f"{how}({inner.text})", ATOM)

    # ---- subexpressions with a guaranteed property
    def nonzero_scalar(self, depth) -> Node:
        return self.positive(SCALAR, depth)

    def positive(self, shape, depth) -> Node:
        """An expression positive (or nonnegative: the oracle keeps away from 0) by construction."""
        if depth <= 0:
            if is_scalar(shape) and self.coin(0.5):
                text, value, level = self.pick(NUMBERS[:6])
                return Node("num", (), shape, text, level, value)
            a = self.leaf(shape)
            return self._positive_of(a, ("exp", "sq", "softplus", "sigmoid", "abs", "hsq"))
        a = self.expr(shape, depth - 1)
        how = self.pick(("exp", "sq", "softplus", "sigmoid", "abs", "hsq", "plus", "norm"))
        if how == "plus":
            left, right = self.positive(shape, depth - 1), self.positive(shape, depth - 1)
            return Node("add", (left, right), shape, f"{wrap(left, SUM)} + {wrap(right, PRODUCT)}", SUM)
        if how == "norm" and is_scalar(shape):
            v = self.expr((self.pick(("n", "m")), "1"), depth - 1)
            return Node("norm", (v,), shape, f"‖{v.text}‖", ATOM, "2")
        return self._positive_of(a, (how,) if how != "norm" else ("exp",))

    def _positive_of(self, a: Node, ways) -> Node:
        how = self.pick(ways)
        shape = a.shape
        if how == "sq":
            mark = " .^ " if not is_scalar(shape) or self.coin() else "^"
            return Node("epow", (a,), shape, f"{wrap(a, POSTFIX)}{mark}2", POWER, 2)
        if how == "hsq":   # a .* a: the same text twice
            return Node("had", (a, a), shape, f"{wrap(a, PRODUCT)} .* {wrap(a, PREFIX)}", PRODUCT)
        return Node("fun", (a,), shape, f"{how}({a.text})", ATOM, how)

    def well_conditioned(self, k: str, depth: int) -> Node:
        """A square expression that is invertible at the oracle's points (checked there)."""
        shape = (k, k)
        how = self.pick(("leaf", "leaf", "T", "mul", "inv", "gram", "sum")) if depth > 0 else "leaf"
        if how == "leaf":
            if k == "2" and self.coin():
                return self.literal_near_identity(shape)
            return self.ctx.symbol(shape)
        if how == "T":
            return self.transpose(self.well_conditioned(k, depth - 1))
        if how == "mul":
            a, b = self.well_conditioned(k, depth - 1), self.well_conditioned(k, depth - 1)
            return Node("mul", (a, b), shape, self._product_text(a, b), PRODUCT)
        if how == "inv":
            a = self.well_conditioned(k, depth - 1)
            return Node("inv", (a,), shape, f"inv({a.text})", ATOM)
        if how == "sum":
            a, b = self.well_conditioned(k, depth - 1), self.well_conditioned(k, depth - 1)
            return Node("add", (a, b), shape, f"{wrap(a, SUM)} + {wrap(b, PRODUCT)}", SUM)
        j = self.pick(("n", "m", "2"))
        g = self.expr((j, k), depth - 1)
        gt = self.transpose(g)
        gram = Node("mul", (gt, g), shape, self._product_text(gt, g), PRODUCT)
        eye = Node("I", (), shape, "I", ATOM)
        return Node("add", (gram, eye), shape, f"{wrap(gram, SUM)} + I", SUM)

    def literal_near_identity(self, shape) -> Node:
        entries = []
        for r in range(2):
            for c in range(2):
                if r == c:
                    entries.append(Node("num", (), SCALAR, "2", ATOM, 2.0))
                else:
                    entries.append(self.expr(SCALAR, 0))
        # the off-diagonal entries are bounded at the oracle's points (sin, tanh of them)
        bounded = [e if e.op == "num" else Node("fun", (e,), SCALAR, f"tanh({e.text})", ATOM, "tanh")
                   for e in entries]
        text = f"[{bounded[0].text}, {bounded[1].text}; {bounded[2].text}, {bounded[3].text}]"
        return Node("lit", tuple(bounded), shape, text, ATOM, (2, 2))


BODY_SHAPES = (SCALAR, SCALAR, SCALAR, SCALAR, ("n", "1"), ("m", "1"), ("n", "n"), ("n", "m"), ("m", "m"),
               ("2", "2"), ("1", "n"), ("2", "1"))
# a definition is referred to by name where its shape is drawn, and rows never are (see symbol)
DEFINITION_SHAPES = (SCALAR, ("n", "1"), ("m", "1"), ("n", "n"), ("n", "m"), ("m", "m"), ("2", "2"), ("2", "1"))


@st.composite
def programs(draw, max_depth: int = 3) -> Program:
    """A random well-shaped program: declarations; definitions; an expression of a drawn shape."""
    pair = draw(st.sampled_from(DIM_NAMES))
    dim_names = {"n": pair[0], "m": pair[1]}
    ctx = _Context(draw, dim_names, declare_all=draw(st.integers(0, 3)) > 0)
    gen = _Generator(ctx)
    definitions = []
    for _ in range(draw(st.integers(0, 2))):
        shape = draw(st.sampled_from(DEFINITION_SHAPES))
        body = gen.expr(shape, draw(st.integers(1, max(1, max_depth - 1))))
        name = ctx.new_name(("u", "v2", "H1", "h_k", "U", "g", "lambda", "q") if not is_scalar(shape)
                            else ("s1", "r", "c0"))
        if name is None:
            continue
        if not is_scalar(shape) and shape[1] != "1" and name[0].islower():
            name = name.upper() if name.upper() not in ctx.taken else name
            ctx.taken.add(name)
        definitions.append((name, body))
        ctx.by_shape.setdefault(shape, []).append(name)
        if draw(st.integers(0, 5)) == 0:     # a definition that only renames another
            alias = ctx.new_name(("u7", "Q7", "s7"))
            if alias is not None:
                definitions.append((alias, Node("ref", (), shape, name, ATOM, name)))
                ctx.by_shape[shape].append(alias)
    body = gen.expr(draw(st.sampled_from(BODY_SHAPES)), max_depth)
    if not any(node.op == "sym" for node in postorder(body)) and \
            not any(node.op == "sym" for _, d in definitions for node in postorder(d)):
        # a program of constants only has nothing to differentiate by: scale it by a symbol
        scale = ctx.symbol(SCALAR, fresh=True) or ctx.symbol(SCALAR)
        body = Node("mul", (scale, body), body.shape, f"{scale.text} {wrap(body, POWER)}", PRODUCT)
    declarations = [d for d in (ctx.declaration(n) for n in ctx.symbols) if d is not None]
    extra = []
    if draw(st.integers(0, 9)) == 0:
        name = ctx.new_name(("z_unused", "Z_unused"))
        if name is not None:
            kind = "vector" if name[0].islower() else "matrix"
            shape = ("n", "1") if kind == "vector" else ("n", "m")
            ctx.symbols[name] = (kind, shape)
            declarations.append(ctx.declaration(name))
            extra.append(name)
    order = draw(st.permutations(declarations)) if declarations else []
    return Program(list(order), definitions, body, dict(ctx.symbols), dim_names, extra,
                   by_keyword=draw(st.integers(0, 3)) == 0)


# ------------------------------------------------------------------ the oracle's evaluator
MARGIN = 1e-3        # distance from a kink or a domain boundary
LARGEST = 1e6        # larger intermediate values make finite differences meaningless
CONDITION = 1e4


def evaluate(node: Node, env: dict) -> np.ndarray:
    args = [evaluate(a, env) for a in node.args]
    with np.errstate(all="ignore"):     # an overflow is judged below, as Undefined
        result = _evaluate(node, args, env)
    result = np.asarray(result, dtype=float)
    if result.ndim != 2:
        result = result.reshape(1, 1)
    if not np.all(np.isfinite(result)) or np.max(np.abs(result), initial=0) > LARGEST:
        raise Undefined("overflow")
    return result


def _away(values, margin=MARGIN):
    if np.min(np.abs(values)) < margin:
        raise Undefined("near a kink or a boundary")


def _positive(values):
    if np.min(values) < MARGIN:
        raise Undefined("outside the domain")


def _conditioned(m):
    if np.linalg.cond(m) > CONDITION:
        raise Undefined("ill-conditioned")


def _evaluate(node: Node, args, env):
    op = node.op
    if op in ("sym", "ref"):
        return env[node.value]
    if op == "num":
        return np.array([[node.value]])
    if op == "I":
        return np.eye(SIZES[node.shape[0]])
    if op == "ones_row":
        return np.ones((1, SIZES[node.shape[1]]))
    if op == "lit":
        rows, cols = node.value
        return np.array([[args[r * cols + c][0, 0] for c in range(cols)] for r in range(rows)])
    if op == "add":
        return args[0] + args[1]
    if op == "sub":
        return args[0] - args[1]
    if op == "neg":
        return -args[0]
    if op == "mul":
        a, b = args
        if is_scalar(node.args[0].shape) or is_scalar(node.args[1].shape):
            return a * b
        return a @ b
    if op == "div":
        _away(args[1])
        return args[0] / args[1]
    if op == "ediv":
        _away(args[1])
        return args[0] / args[1]
    if op == "had":
        return args[0] * args[1]
    if op == "fun":
        x = args[0]
        name = node.value
        if name in ("abs", "relu"):
            _away(x)
        if name in ("log", "sqrt"):
            _positive(x)
        return {"exp": np.exp, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "softplus": lambda v: np.logaddexp(0, v),
                "abs": np.abs, "relu": lambda v: np.maximum(v, 0), "log": np.log, "sqrt": np.sqrt,
                "erf": np.vectorize(math.erf, otypes=[float])}[name](x)
    if op == "epow":
        p = node.value
        if float(p) != int(p):
            _positive(args[0])
        elif p < 0:
            _away(args[0])
        return args[0] ** p
    if op == "spow":
        _positive(args[0])
        return args[0] ** args[1][0, 0]
    if op == "normsq":
        return np.array([[np.sum(args[0] ** 2)]])
    if op == "T":
        return args[0].T
    if op == "inv":
        _conditioned(args[0])
        return np.linalg.inv(args[0])
    if op == "mpow":
        if node.value < 0:
            _conditioned(args[0])
        return np.linalg.matrix_power(args[0], node.value)
    if op == "tr":
        return np.array([[np.trace(args[0])]])
    if op == "det":
        _conditioned(args[0])
        return np.array([[np.linalg.det(args[0])]])
    if op == "logdet":
        _conditioned(args[0])
        sign, value = np.linalg.slogdet(args[0])
        if sign <= 0:
            raise Undefined("logdet of a matrix whose determinant is not positive")
        return np.array([[value]])
    if op == "sum":
        return np.array([[np.sum(args[0])]])
    if op == "norm":
        x = args[0]
        if node.value == "1":
            _away(x)
            return np.array([[np.sum(np.abs(x))]])
        norm = math.sqrt(float(np.sum(x * x)))
        if norm < MARGIN:
            raise Undefined("norm near 0")
        return np.array([[norm]])
    if op == "logsumexp":
        x = args[0]
        top = np.max(x)
        return np.array([[top + np.log(np.sum(np.exp(x - top)))]])
    if op == "softmax":
        z = np.exp(args[0] - np.max(args[0]))
        return z / np.sum(z)
    if op == "diagv":
        return np.diag(args[0]).reshape(-1, 1)
    if op == "diagm":
        return np.diagflat(args[0])
    if op == "kron":
        return np.kron(args[0], args[1])
    if op == "entry":
        i, j = node.value
        return args[0][i - 1:i, j - 1:j]
    raise AssertionError(f"no evaluator for {op}")


# ------------------------------------------------------------------ points and finite differences
def random_point(program: Program, seed: int) -> dict:
    """2-D arrays for every symbol: entries of either sign and away from 0; square matrices
    near the identity (so that inverses and determinants are tame)."""
    rng = np.random.default_rng(seed)
    env = {}
    for name, (kind, (rows, cols)) in program.symbols.items():
        r, c = SIZES[rows], SIZES[cols]
        magnitude = rng.uniform(0.3, 1.2, size=(r, c))
        sign = rng.choice((-1.0, 1.0), size=(r, c))
        value = magnitude * sign
        if kind in ("matrix", "symmetric") and r == c:
            value = np.eye(r) + 0.5 * value / r
        if kind == "symmetric":
            value = (value + value.T) / 2
        env[name] = value
    return env


def matcalc_values(program: Program, env: dict) -> dict:
    """The point as the API takes it: vectors (n,), matrices 2-D, scalars numbers."""
    values = {}
    for name, (kind, _) in program.symbols.items():
        v = env[name]
        values[name] = float(v[0, 0]) if kind == "scalar" else v.reshape(-1) if kind == "vector" else v
    return values


def variable_axes(program: Program, variable: str) -> tuple:
    kind, shape = program.symbols[variable]
    return () if kind == "scalar" else (shape[0],) if kind == "vector" else shape


def arrange(tensor: np.ndarray, f_count: int, v_count: int, layout: str):
    """Axes (f..., v...) in the layout's order, as evaluate returns them (module docstring)."""
    f, v = list(range(f_count)), list(range(f_count, f_count + v_count))
    order = {"mixed": f + v, "numerator": f + v[::-1], "denominator": v + f[::-1]}[layout]
    arranged = np.transpose(tensor, order)
    if arranged.ndim == 0:
        return float(arranged)
    if arranged.ndim == 1:
        row = (layout == "numerator" and v_count == 1) or (layout == "denominator" and f_count == 1)
        return arranged.reshape(1, -1) if row else arranged.reshape(-1, 1)
    return arranged


def finite_differences(program: Program, variable: str, env: dict, step: float) -> np.ndarray:
    """T[f axes..., variable axes...] by central differences."""
    f_shape = axis_shape(program.body.shape)
    base = env[variable]
    v_shape = tuple(SIZES[d] for d in variable_axes(program, variable))
    tensor = np.zeros(f_shape + v_shape)
    for index in np.ndindex(*v_shape) if v_shape else [()]:
        position = index if len(index) == 2 else (index[0], 0) if index else (0, 0)
        values = []
        for sign in (1, -1):
            moved = base.copy()
            moved[position] += sign * step
            values.append(program.value({**env, variable: moved}).reshape(f_shape))
        tensor[(Ellipsis,) + tuple(index)] = (values[0] - values[1]) / (2 * step)
    if program.symbols[variable][0] == "symmetric":
        # the symmetric gradient (G + G^T)/2 of SYNTAX.md's default convention, from the
        # unconstrained partials (the oracle's evaluator takes any square matrix)
        tensor = (tensor + np.swapaxes(tensor, -1, -2)) / 2
    return tensor


def axis_shape(shape) -> tuple:
    return tuple(SIZES[d] for d in axis_sizes(shape))


def expected_derivative(program: Program, variable: str, layout: str, env: dict):
    """The derivative by finite differences in the layout's arrangement, or None where two
    step sizes disagree (the point is too close to trouble to judge)."""
    coarse = finite_differences(program, variable, env, 1e-5)
    fine = finite_differences(program, variable, env, 1e-6)
    scale = 1 + np.max(np.abs(coarse), initial=0)
    if np.max(np.abs(coarse - fine), initial=0) > 1e-5 * scale:
        return None
    f_count = len(axis_sizes(program.body.shape))
    v_count = len(variable_axes(program, variable))
    return arrange(coarse, f_count, v_count, layout)


def second_differences(program: Program, variable: str, env: dict, step: float, second: str) -> np.ndarray:
    """T[f axes..., axes of variable..., axes of second...] by central second differences."""
    f_shape = axis_shape(program.body.shape)
    shapes = [tuple(SIZES[d] for d in variable_axes(program, v)) for v in (variable, second)]
    indices = [list(np.ndindex(*shape)) if shape else [()] for shape in shapes]
    tensor = np.zeros(f_shape + shapes[0] + shapes[1])

    def position(index):
        return index if len(index) == 2 else (index[0], 0) if index else (0, 0)
    for first_index in indices[0]:
        for second_index in indices[1]:
            total = 0
            for sign_a, sign_b in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                moved = dict(env)
                moved[variable] = env[variable].copy()
                moved[variable][position(first_index)] += sign_a * step
                moved[second] = moved[second].copy()
                moved[second][position(second_index)] += sign_b * step
                total = total + sign_a * sign_b * program.value(moved).reshape(f_shape)
            tensor[(Ellipsis,) + tuple(first_index) + tuple(second_index)] = total / (4 * step * step)
    return tensor


def expected_second_derivative(program: Program, variable: str, layout: str, env: dict, second=None):
    """The derivative by `second` (the variable again by default), in the layout, of the
    mixed-layout derivative by `variable` (SYNTAX.md: a Hessian is the derivative of the
    mixed-layout gradient; diff(f, "x", "y") differentiates by x, then by y)."""
    second = second or variable
    coarse = second_differences(program, variable, env, 2e-4, second)
    fine = second_differences(program, variable, env, 1e-4, second)
    scale = 1 + np.max(np.abs(coarse), initial=0)
    if np.max(np.abs(coarse - fine), initial=0) > 1e-4 * scale:
        return None
    f_count = len(axis_sizes(program.body.shape)) + len(variable_axes(program, variable))
    return arrange(fine, f_count, len(variable_axes(program, second)), layout)


def close(got, want, rtol=1e-4, atol=1e-5) -> bool:
    got_array, want_array = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got_array.shape != want_array.shape:
        return False
    scale = 1 + np.max(np.abs(want_array), initial=0)
    return bool(np.all(np.abs(got_array - want_array) <= atol * scale + rtol * np.abs(want_array)))


# ------------------------------------------------------------------ mutations
MUTATION_ALPHABET = list("xyAXnab 0123456789+-*/^.'()[];,:|=_#\\@!") + [
    "‖", "ᵀ", "⁻¹", "∘", "⊙", "⊗", "²", "₁", "^T", "^-1", ".^", "./", ".*", "||", "e", "E", "1e3",
    "tr(", "det(", "inv(", "log(", "sum(", "kron(", "vector[", "matrix[", "scalar ", "x: vector[n]; ",
    "\n", "\t", "é", "λ", "∞", "\x00", "1e-3", "99999999", "^1000000", "norm(", "[1; 2]", "x[5]"]


@st.composite
def mutations(draw, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(("insert", "delete", "replace")))
        if how == "insert" or not text:
            text = text[:position] + draw(st.sampled_from(MUTATION_ALPHABET)) + text[position:]
        elif how == "delete":
            end = min(len(text), position + draw(st.integers(1, 3)))
            text = text[:position] + text[end:]
        else:
            text = text[:position] + draw(st.sampled_from(MUTATION_ALPHABET)) + text[position + 1:]
    return text


# ------------------------------------------------------------------ odd arguments and values
ODD_NAMES = (None, 3, "", " ", "x y", "1x", b"x", ("x", None), ["x"], "lambda", "x", "A", "é", "x\n", "mixed")
ODD_OPTIONS = {
    "layout": (None, 3, "Mixed", "numerator", "denominator", "", ("mixed",)),
    "order": (0, -1, 1.5, "2", True, 7, 2, 1, None, 10**20),
    "scalars": (None, 3, "a,b", ["a", 3], ("",), "x", "a,,b", ("lambda",)),
    "symmetric": (None, "S", ["A"], 1.0),
    "declare": (None, 5, "x: vector[n]", ["x: vector[0]"], "x: vector[-1]", "A: matrix[10**9,2]",
                "x: vector[1000000000000]", "x: matrix[n]", ["x: scalar", "x: vector[n]"]),
    "symmetric_as": (None, "entries", "gradient", "both", 0),
}
ODD_VALUES = (float("nan"), float("inf"), -float("inf"), 1j, [1, 2j], "1", None, [[1, 2], [3]], [], [[]],
              np.zeros((0,)), np.ones((2, 2, 2)), True, 10**400, np.ones(3, dtype=object), {"a": 1})
ODD_SEEDS = ("a", None, -1, 1.5, 2**80, [1], 0)


@st.composite
def odd_calls(draw, program: Program, variable: str, values: dict) -> dict:
    """A call of diff (and of evaluate and check) with some arguments or values of the wrong type or range."""
    wrt = [draw(st.sampled_from(ODD_NAMES + (variable,) * 4))]
    if draw(st.booleans()):
        wrt.append(draw(st.sampled_from(ODD_NAMES + (variable,))))
    options = {key: draw(st.sampled_from(choices)) for key, choices in ODD_OPTIONS.items()
               if draw(st.integers(0, 3)) == 0}
    odd_values = dict(values)
    for name in draw(st.lists(st.sampled_from(sorted(values) + ["not_a_symbol"]), max_size=2)):
        odd_values[name] = draw(st.sampled_from(ODD_VALUES))
    if draw(st.integers(0, 5)) == 0 and values:
        odd_values.pop(draw(st.sampled_from(sorted(values))))
    case = {"api": True, "text": program.text, "wrt": wrt, "options": {**program.options, **options},
            "values": odd_values}
    if draw(st.integers(0, 3)) == 0:
        case["seed"] = draw(st.sampled_from(ODD_SEEDS))
    return case


def odd_value_given(case: dict, symbols: dict) -> bool:
    """Whether a value is missing, not a number array, empty, complex or not finite (as a float):
    evaluate must refuse these rather than compute with them."""
    for name in symbols:
        if name not in case["values"]:
            return True
        value = case["values"][name]
        if value is None or isinstance(value, (str, dict)):
            return True
        try:
            array = np.asarray(value)
        except ValueError:      # ragged
            return True
        if array.dtype.kind == "c":
            return True
        try:
            numbers = array.astype(float)
        except (TypeError, ValueError, OverflowError):
            return True
        if numbers.size == 0 or not np.all(np.isfinite(numbers)):
            return True
    return False


# ------------------------------------------------------------------ matcalc, in a guarded worker
def _failure(exc: BaseException) -> dict:
    import matcalc
    return {"type": type(exc).__name__, "module": type(exc).__module__, "message": str(exc)[:500],
            "matcalc": isinstance(exc, matcalc.MatcalcError),
            "check_error": type(exc).__name__ == "CheckError",
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-3000:]}


def _readback(text: str, values: dict, options: dict):
    """The value matcalc reads in `text` (with the declarations of `options`), at the point."""
    from matcalc.evaluate_numpy import evaluate as evaluate_expression
    from matcalc.evaluate_at import bind
    from matcalc.analyse import parse as analyse
    analysis = analyse(text, scalars=tuple(n for n in options.get("scalars", "").split(",") if n),
                       declare=tuple(options.get("declare", ())))
    env, dims = bind(analysis.symbols, values)
    return evaluate_expression(analysis.body, env, dims)


def run_case(case: dict) -> dict:
    """Every question the fuzzer asks matcalc about one program; each answer, or the
    exception it raised, under its own key.  Runs in the worker."""
    import matcalc
    out: dict = {}

    def step(key, function):
        try:
            out[key] = function()
            return True
        except BaseException as exc:   # reported to the parent, which judges it
            out[key + "_error"] = _failure(exc)
            return False

    text, values, preamble = case["text"], case.get("values"), case.get("preamble", "")
    options = case.get("declarations", {})
    if case.get("api"):
        if step("diff", lambda: matcalc.diff(text, *case["wrt"], **case["options"])):
            derivative = out.pop("diff")
            step("print", lambda: (str(derivative), derivative.describe(), derivative.latex()))
            step("evaluate", lambda: derivative.evaluate(values))
            if "seed" in case:
                step("check", lambda: str(derivative.check(seed=case["seed"])))
        return out
    if case.get("mutated"):
        step("parse", lambda: str(matcalc.parse(text)))
        if step("diff", lambda: matcalc.diff(text, case["variable"], layout=case["layout"])):
            derivative = out.pop("diff")
            step("print", lambda: (str(derivative), derivative.describe()))
        return out
    if step("parse", lambda: str(matcalc.parse(text, **options))):
        step("function_value", lambda: _readback(text, values, options))
        step("function_readback", lambda: _readback(preamble + out["parse"], values, options))
    if case.get("second"):    # diff(f, "x", "y"), or diff(f, "x", "x") for order 2
        variables, order = (case["variable"], case["second"]), 1
    else:
        variables, order = (case["variable"],), case.get("order", 1)
    if not step("diff", lambda: matcalc.diff(text, *variables, layout=case["layout"], order=order, **options)):
        return out
    derivative = out.pop("diff")
    out["is_tensor"] = derivative.is_tensor
    step("shape", lambda: tuple(str(d) for d in derivative.shape))
    step("text", lambda: str(derivative))
    step("evaluate", lambda: derivative.evaluate(values))
    if derivative.is_tensor:
        if step("vec_text", lambda: str(derivative.vec())):
            step("vec_value", lambda: derivative.vec().evaluate(values))
            step("vec_readback", lambda: _readback(preamble + out["vec_text"], values, options))
    elif "text" in out:
        step("readback", lambda: _readback(preamble + out["text"], values, options))
    if case.get("code"):
        from matcalc.codegen import numpy_code
        step("code", lambda: numpy_code(derivative))
        out["symbols"] = list(derivative.analysis.symbols)
    if case.get("check"):
        step("check", lambda: str(derivative.check()))
    if case.get("tamper") and not derivative.is_tensor:
        step("tampered_check", lambda: str(_tampered(derivative).check()))
    return out


def _tampered(derivative):
    """The derivative with its result R replaced by R + (1 + R .* R)/7 (every entry): wrong by at
    least 1/7 everywhere (the change has no fixed point) and by more where R is large."""
    from fractions import Fraction

    from matcalc import expr as E
    result = derivative.expr
    if result.is_scalar:
        change = E.add(E.number(1), E.mul(result, result))
    else:
        change = E.add(E.ones(*result.shape), E.hadamard(result, result))
    derivative.expr = E.add(result, E.mul(E.number(Fraction(1, 7)), change))
    return derivative


def _serve(connection):
    while True:
        try:
            case = connection.recv()
        except EOFError:
            return
        connection.send(run_case(case))


class Guard:
    """matcalc in a forked worker, each case under a wall-clock limit (seconds)."""

    def __init__(self):
        self.process = None

    def _start(self):
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()

    def run(self, case: dict, limit: float) -> dict:
        if self.process is None or not self.process.is_alive():
            self._start()
        self.connection.send(case)
        if not self.connection.poll(limit):
            self.stop()
            return {"timeout": limit}
        try:
            return self.connection.recv()
        except EOFError:
            self.stop()
            return {"crashed": True}

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.process = None


# ------------------------------------------------------------------ judging the answers
def point_for(program: Program, variable: str, layout: str, seed: int, order: int = 1, second=None,
              tries: int = 6):
    """A point where the function is defined and smooth enough to judge, with the expected
    derivative there (of the order; by `second` after `variable` where given) and the
    function's value; None if none of a few is."""
    for attempt in range(tries):
        env = random_point(program, seed + attempt)
        try:
            value = program.value(env)
            if order == 1:
                expected = expected_derivative(program, variable, layout, env)
            else:
                expected = expected_second_derivative(program, variable, layout, env, second)
        except Undefined:
            continue
        if expected is not None:
            return env, value, expected
    return None


def execute_code(code: str, symbols: list, values: dict):
    """Run matcalc's generated NumPy function (matcalc's own output, never user text)."""
    namespace: dict = {}
    exec(compile(code, "<matcalc numpy code>", "exec"), namespace)   # noqa: S102 - generated code
    return namespace["derivative"](*(values[name] for name in symbols))


def judge(out: dict, value, expected, values: dict, order: int = 1) -> list:
    """(property, what went wrong) for each answer that is not what it should be; second
    derivatives from second differences are compared with a looser tolerance."""
    rtol, atol = (1e-4, 1e-5) if order == 1 else (1e-3, 1e-4)
    problems = []
    if "timeout" in out:
        return [("time", f"no answer within {out['timeout']} s")]
    if out.get("crashed"):
        return [("crash", "the worker process died")]
    for key, error in out.items():
        if key.endswith("_error") and not error["matcalc"]:
            problems.append(("crash", f"{key[:-6]}: {error['type']}: {error['message']}\n{error['traceback']}"))
    if "function_value" in out and not close(out["function_value"], value, 1e-7, 1e-9):
        problems.append(("reading", f"matcalc.parse reads another value: {_show(out['function_value'])} "
                                    f"where the text means {_show(value)}"))
    elif _refused(out, "function_value"):
        problems.append(("reading", "matcalc cannot evaluate its own reading at a point where the text "
                                    f"is defined: {out['function_value_error']['message']}"))
    if "function_readback" in out and not _reads_as(out["function_readback"], value):
        problems.append(("printing", f"str(parse(text)) = {out['parse']!r} reads back as "
                                     f"{_show(out['function_readback'])}, the text means {_show(value)}"))
    elif _refused(out, "function_readback"):
        problems.append(("printing", f"str(parse(text)) = {out.get('parse')!r} does not read back: "
                                     f"{out['function_readback_error']['message']}"))
    if "evaluate" in out:
        got = out["evaluate"]
        if np.shape(got) != np.shape(expected) or isinstance(expected, float) != isinstance(got, float):
            problems.append(("derivative", f"evaluate gives shape {np.shape(got)} ({type(got).__name__}), "
                                           f"the layout asks for {np.shape(expected)}"))
        elif not close(got, expected, rtol, atol):
            problems.append(("derivative", f"{out.get('text')!r} evaluates to {_show(got)}, finite "
                                           f"differences give {_show(expected)}"))
        for key in ("readback", "vec_readback"):
            reference = got if key == "readback" else out.get("vec_value")
            if key in out and reference is not None and not _reads_as(out[key], reference):
                problems.append(("printing", f"the printed {out.get('text' if key == 'readback' else 'vec_text')!r} "
                                             f"reads back as {_show(out[key])}, evaluate gives {_show(reference)}"))
            elif _refused(out, key) and not (key == "vec_readback" and _sizes_left_to_reader(out)):
                problems.append(("printing", f"the printed result does not read back: {out[key + '_error']['message']}"))
        if "code" in out:
            try:
                from_code = execute_code(out["code"], out["symbols"], values)
            except Exception as exc:     # the generated code itself is broken
                problems.append(("code", f"the NumPy code fails: {type(exc).__name__}: {exc}\n{out['code']}"))
            else:
                if np.shape(from_code) != np.shape(got) or not close(from_code, got, 1e-7, 1e-9):
                    problems.append(("code", f"the NumPy code gives {_show(from_code)}, evaluate "
                                             f"{_show(got)}\n{out['code']}"))
        elif _refused(out, "code"):
            problems.append(("code", f"no NumPy code: {out['code_error']['message']}"))
        wrong = any(p[0] == "derivative" for p in problems)
        if "tampered_check" in out:
            problems.append(("check", f"check() passes the result R changed to R + (1 + R .* R)/7: "
                                      f"{out['tampered_check']}"))
        if "check" in out and wrong:
            problems.append(("check", f"check() passes a wrong derivative: {out['check']}"))
        elif "check_error" in out and not wrong and out["check_error"]["check_error"] \
                and "undefined at every size" not in out["check_error"]["message"]:
            problems.append(("check", f"check() rejects a right derivative: {out['check_error']['message']}"))
    elif _refused(out, "evaluate"):
        problems.append(("derivative", "evaluate refuses a point where the function is smooth: "
                                       f"{out['evaluate_error']['message']}"))
    return problems


# emit_text's contract: inside a Kronecker product or a vec, I and 1 are written bare and
# reading back may leave their sizes unknown -- an error on reading, never another value
_BARE_IN_KRON = re.compile(r"(?:kron\(|vec\(|, )(?:I|1\^T|\(1\^T\)\^T)(?=[,)])")


def _sizes_left_to_reader(out: dict) -> bool:
    """A vec form whose reading failed over sizes that its bare I or 1 in a kron leaves open."""
    error = out.get("vec_readback_error") or {}
    return bool(_BARE_IN_KRON.search(out.get("vec_text", ""))) and error.get("type") == "ShapeError"


def _refused(out: dict, key: str) -> bool:
    """matcalc refused with an error, other than for a size the text leaves open (tr(I))."""
    error = out.get(key + "_error")
    return error is not None and error["matcalc"] and "is not known from the values" not in error["message"]


def _reads_as(printed, reference) -> bool:
    """The printed value is the reference's; a bare constant (0, 1, -1: a zero or ones result)
    reads back as a scalar, sized by the kinds line, and must equal every entry."""
    array = np.asarray(printed, dtype=float)
    if array.size == 1 and np.asarray(reference).size > 1:
        return close(np.full(np.shape(reference), float(array.reshape(-1)[0])), reference, 1e-7, 1e-9)
    return close(_as(printed, reference), reference, 1e-7, 1e-9)


def _as(value, reference):
    """A 2-D value in the form of the reference (a float for 1 x 1), where the sizes agree."""
    array = np.asarray(value, dtype=float)
    if isinstance(reference, float) and array.size == 1:
        return float(array.reshape(-1)[0])
    return array


def _show(value) -> str:
    return np.array2string(np.asarray(value, dtype=float), precision=5, threshold=30).replace("\n", "")


def refusal(out: dict) -> str | None:
    """The message with which matcalc refused to differentiate, if it did."""
    error = out.get("diff_error")
    return error["message"] if error is not None and error["matcalc"] else None
