"""Readings: expressions in the order a person wrote them, for derivations (steps.py) only.

Contract: the canonical constructors (expr.py) order the terms of sums, rotate traces
and turn 1 x 1 products around; a derivation that is read line by line wants the
order of the input instead.  A reading is an Expr of the same operators whose sums,
products, elementwise products, transposes and traces keep the order they are given
(`add`, `mul`, `hadamard`, `transpose`, `trace`); every other operator is built by its
canonical constructor.
A reading is equal in value to its canonical form (`canonical(e)`), and the
printers and evaluators read it like any Expr; it is never handed to the rules,
the simplifier or identification, which see `canonical(e)`.
`typed(analysis)` reads the user's program as typed (`x^T A x` stays x^T A x,
`tr(X^T A X)` is not rotated, `W x + b` keeps its order), with its definitions as typed,
or None where the typed reading would not be the engine's function (then the caller
shows the engine's).
"""
from __future__ import annotations

from collections import Counter
from fractions import Fraction
from functools import lru_cache

from . import expr as E
from . import ops
from .errors import MatcalcError
from .syntax import fold, operands
from .trees import mul_parts


def add(*terms: E.Expr) -> E.Expr:
    """A sum with its terms in the order given: nested sums flatten, zero terms go."""
    flat: list = []
    for t in terms:
        flat.extend(t.args if t.op == "add" else (t,))
    shape = E._sum_shape(flat)
    kept = tuple(t for t in flat if not E.is_zero(t))
    if not kept:
        return E.zeros(shape)
    if len(kept) == 1 and kept[0].shape == shape:
        return kept[0]
    if any(t.shape != shape for t in kept):      # a broadcast scalar: the constructor says how,
        return E.add(*flat)                     # at the sum's shape (a zero term may carry it)
    return E._make("add", kept, None, shape)


def mul(*factors: E.Expr) -> E.Expr:
    """A product with its matrix chain in the order given and a 1 x 1 chain not turned
    around; numbers fold into the coefficient, scalar factors lead (as in every product)."""
    coefficient = Fraction(1)
    scalars: list = []
    chain: list = []
    for f in factors:
        if f.op == "d" and f.is_scalar and chain and chain[-1].shape[1] == 1:
            chain.append(f)          # J dt: the differential of a scalar stays where it is written
            continue
        q, s, c = mul_parts(f)
        coefficient *= q
        scalars.extend(s)
        if c and f.op == "mul" and E._chain_shape(c) == (1, 1):
            scalars.append(E.mul_reading(Fraction(1), (), c))   # a 1 x 1 product scales the rest
        else:
            chain.extend(c)
    if coefficient == 0 or any(E.is_zero(x) for x in (*scalars, *chain)):
        return E.zeros(E._chain_shape(chain) if chain else (1, 1))
    chain = [f for f in chain if f.op != "I"] or chain[:1]
    if not chain and len(scalars) == 1 and scalars[0].op == "mul" and scalars[0].value[1] == 0:
        chain, scalars = list(scalars[0].args), []      # the product is that 1 x 1 chain
    return E.mul_reading(coefficient, scalars, chain)


def hadamard(*operands: E.Expr) -> E.Expr:
    """The constructor's elementwise product (powers of one base folded, s .* (y ./ s) = y),
    its operands left in the order given."""
    flat: list = []
    for f in operands:
        flat.extend(f.args if f.op == "had" else (f,))
    built = E.hadamard(*flat)
    if built.op != "had":
        return built
    place = {f: i for i, f in reversed(list(enumerate(flat)))}
    ordered = sorted(built.args, key=lambda f: place.get(f, len(flat)))
    return E._make("had", tuple(ordered), None, built.shape)


def hadamard_as_typed(*operands: E.Expr) -> E.Expr:
    """An elementwise product exactly as typed, nothing folded (tanh(x) .* tanh(x) stays);
    with a scalar operand (a broadcast), the constructor's."""
    flat: list = []
    for f in operands:
        flat.extend(f.args if f.op == "had" else (f,))
    if any(f.is_scalar for f in flat) or any(f.shape != flat[0].shape for f in flat):
        return E.hadamard(*flat)
    return E._make("had", tuple(flat), None, flat[0].shape)


def elementwise_divide_as_typed(a: E.Expr, b: E.Expr) -> E.Expr:
    """a ./ b as typed: a .* b.^-1, not folded into a .^ (p - 1) (x .^ 2 ./ x stays)."""
    if a.is_scalar or b.is_scalar:
        return E.elementwise_divide(a, b)
    return hadamard_as_typed(a, b.reciprocal())


def transpose(a: E.Expr) -> E.Expr:
    """A^T as it is read: on a leaf the constructor's (x^T, S^T = S, (A^T)^T = A), around a
    product or a sum kept as one transpose."""
    if a.op in ("add", "mul", "had", "kron") and not a.is_scalar:
        return E._make("T", (a,), None, (a.shape[1], a.shape[0]))
    return E.transpose(a)


def trace(a: E.Expr) -> E.Expr:
    """tr(a) with a's factors in their order (the constructor rotates them to a canonical cycle)."""
    if a.is_scalar:
        return a
    return E._make("tr", (a,), None, (1, 1))


def rebuild(node: E.Expr, args: tuple) -> E.Expr:
    """The node with new arguments, order kept where a reading keeps it."""
    if node.op == "add":
        return add(*args)
    if node.op == "mul":
        return mul(E.number(node.value[0]), *args)
    if node.op == "T":
        return transpose(args[0])
    if node.op == "tr":
        return trace(args[0])
    if node.op == "had":
        return hadamard(*args)
    return E.rebuild(node, args)


def transform(e: E.Expr, replace) -> E.Expr:
    """E.transform that rebuilds with the readings' constructors; an intermediate is one
    name, its definition left as it is."""
    memo: dict = {}

    def again(node):
        found = memo.get(node)
        if found is None:
            found = node if node.op == "let" else replace(node, again)
            if found is None and node.args:
                args = tuple(again(a) for a in node.args)
                # a part nothing changed is left as it was: no line refolds what the last printed
                found = node if all(new is old for new, old in zip(args, node.args)) else rebuild(node, args)
            elif found is None:
                found = node
            memo[node] = found
        return found
    return again(e)


@lru_cache(maxsize=1 << 14)
def canonical(e: E.Expr) -> E.Expr:
    """The same value through the canonical constructors: what the engine computes with.
    Each node once (derivations ask it of every part of every line), within a bounded cache."""
    if not e.args:
        return e
    return E.rebuild(e, tuple(canonical(a) for a in e.args))


def typed(analysis) -> tuple[E.Expr, dict] | None:
    """The program's last expression as typed, and its definitions as typed (name ->
    reading), or None where that reading is not the engine's function (canonical(typed) is
    analysis.body).  Intermediates in it are the engine's (their definitions canonical), so
    that a part of the reading and of the engine's expression are one node."""
    program = analysis.program
    if program is None:
        return None
    definitions = {d.name: d.node for d in program.definitions}
    reader = _Typed(analysis, definitions)
    try:
        reading = reader.read(program.body)
    except (MatcalcError, KeyError, ValueError):   # a constructor's refusal, an operator it does not read
        return None
    return (reading, reader.definitions_typed) if canonical(reading) is analysis.body else None


def in_typed_order(e: E.Expr, analysis) -> E.Expr:
    """e with every sum the user typed (the same terms, canonically) in the order typed:
    a result prints `softmax(W x + b)` where the input said `W x + b`.  Only for display;
    e itself when the program has no typed reading or no such sum."""
    found = typed(analysis)
    if found is None:
        return e
    reading, definitions = found
    orders: dict = {}
    for root in (reading, *definitions.values()):
        for node in E.postorder(root):
            if node.op == "add":
                orders.setdefault(canonical(node), tuple(canonical(t) for t in node.args))
    # a typed sum whose terms the constructors merged or folded is not one of the result's sums
    orders = {total: terms for total, terms in orders.items()
              if total.op == "add" and terms != total.args and Counter(terms) == Counter(total.args)}
    if not orders:
        return e
    return transform(e, lambda node, again: add(*(again(t) for t in orders[node])) if node in orders else None)


class _Typed:
    def __init__(self, analysis, definitions: dict):
        self.analysis = analysis
        self.definitions = definitions
        self.definitions_typed: dict = {}
        self.memo: dict = {}

    def read(self, node) -> E.Expr:
        return fold(node, self._children, self._one, self.memo)

    def _children(self, node) -> list:
        if node.op == "call" and ops.CALLS[node.value].shape == "leaf":
            raise ValueError("commutation(m, n) is read by the analyser alone")
        return operands(node, self.definitions)

    def _one(self, node, kids: list) -> E.Expr:
        op = node.op
        shape = self.analysis.node_shape(node)
        if op == "number":
            if node.value == 1 and shape != (1, 1):
                return E.ones(*shape)
            return E.number(node.value)
        if op == "name":
            if node.value == "I":
                return E.identity(shape[0])
            if node.value in self.definitions:   # the engine's intermediate, its reading kept aside
                self.definitions_typed[node.value] = kids[0]
                return E.named(node.value, canonical(kids[0]))
            if node.value in self.analysis.symbols:
                return self.analysis.symbols[node.value]
            return E.constructor(ops.CONSTANTS[node.value])()
        if op == "add":
            return add(*kids)
        if op == "sub":
            return add(kids[0], mul(E.number(-1), kids[1]))
        if op == "neg":
            return mul(E.number(-1), kids[0])
        if op == "mul":
            return mul(*kids)
        if op == "transpose":
            return transpose(kids[0])
        if op == "call" and node.value == "tr":
            return trace(kids[0])
        if op == "entry":
            indices = node.value
            if len(indices) == 1:
                indices = (indices[0], 1) if kids[0].shape[1] == 1 else (1, indices[0])
            return E.entry(kids[0], *indices)
        if op == "literal":
            width = len(node.args[0])
            return E.literal([kids[i:i + width] for i in range(0, len(kids), width)])
        if op == "call":
            return E.call(node.value, *kids)
        if op == "norm":
            return E.norm(kids[0], node.value)
        if op == "power" and kids[0].is_scalar:
            return E.power(kids[0], kids[1])
        if op == "differential":
            return E.differential(kids[0])
        if op == "divide":
            return E.divide(*kids)
        if op == "elementwise_divide":
            return elementwise_divide_as_typed(*kids)
        if op == "hadamard":
            return hadamard_as_typed(*kids)
        return E.constructor(ops.SYNTAX[op])(*kids)
