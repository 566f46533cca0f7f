"""The one expression type, and the constructors that keep it canonical.

Contract: an `Expr` that exists is well-shaped and canonical.  Nodes are
interned (hash-consed), so two equal expressions are the same object and
`==` is identity.  Shapes are (rows, cols); a dimension is an int or a
symbolic name; scalars are (1, 1) and vectors (n, 1).  An operator's own facts
(shape rule, exact values, never-negative) come from the table, matcalc/ops.py.

The constructors hold the algebraic facts of each operator:
  sums       flatten, broadcast scalars, collect like terms, order terms;
  products   flatten, fold numeric coefficients, pull scalar factors forward
             and order them, keep the matrix chain in order, drop identities;
  transposes cancel, vanish on scalars and symmetric matrices;
  traces     of 1 x 1 vanish, rotate to a canonical cycle.
They also apply a few identities between operators, and must own them: each fixes
the one canonical form of a value that like-term collection (by identity) and the
rules' matcher (by structure) rely on, and `parse` prints that form, so moving one
to rules/ would change what every reading prints and let a pattern miss the
spellings it does not name:
  transposes sit on leaves      (A B)^T = B^T A^T, (A ⊗ B)^T = A^T ⊗ B^T, through sums and
                                Hadamard products when that adds no transposes, inv(A^T) =
                                inv(A)^T, K_{m,n}^T = K_{n,m}; a 1 x 1 chain takes the
                                orientation that sorts first (x^T y = y^T x);
  scalars leave linear operators  tr(q A) = q tr(A), diag(q v), inv(q A) = inv(A) / q,
                                (q s)^k = q^k s^k, A .* (q B) = q (A .* B), kron(q A, B);
  rows read as columns          diag(u^T) = diag(u), ||u^T|| = ||u||, vec(u^T) = u, diag(A^T)
                                = diag(A), tr(A^T) = tr(A);
  sized constants are values    tr(I) = n, diag(1) = I, diag(I) = 1, I ⊗ I = I, and the
                                table's values at I (det(I) = 1), abs of what is never negative.
"""
from __future__ import annotations

import weakref
import zlib
from dataclasses import dataclass
from fractions import Fraction

from .deep import call_deep
from .emit_latex import to_latex
from .emit_text import to_text
from . import ops
from .errors import LimitError, ShapeError
from .trees import mul_parts, postorder   # noqa: F401 - readings of trees, part of this module's face

# Exact numbers are Fractions; one with more digits (in its numerator or denominator) is
# refused at once rather than computed: 10^(10^10) would take minutes, and Python prints
# no integer of more than 4,300 digits.  Far above any coefficient in the texts.
MAX_NUMBER_DIGITS = 1_000
_MAX_NUMBER_BITS = int(MAX_NUMBER_DIGITS / 0.30103) + 1


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Expr:
    op: str
    args: tuple
    value: object
    shape: tuple
    size: int
    lead: str
    dhash: int

    @property
    def name(self) -> str:
        """A symbol's name (a symbol's value is its (name, kind))."""
        return self.value[0]

    @property
    def kind(self) -> str:
        """A symbol's kind: scalar, vector, matrix or symmetric."""
        return self.value[1]

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)

    @property
    def is_column(self) -> bool:
        return self.shape[1] == 1 and self.shape[0] != 1

    @property
    def is_row(self) -> bool:
        return self.shape[0] == 1 and self.shape[1] != 1

    @property
    def sort_key(self) -> tuple:
        """Smaller first, then by leading name and operator: `A + A^T`, `y - Phi theta`."""
        return (self.size, self.lead, self.op, str(self.value), self.dhash)

    def negated(self) -> Expr:
        """-self, canonical: the printers write a + (-b) as a - b."""
        return neg(self)

    def reciprocal(self) -> Expr:
        """1 ./ self (1 / self for a scalar), canonical: the printers write a .* b.^-1 as a ./ b."""
        return elementwise_power(self, number(-1))

    def denominator(self) -> Expr:
        """Of a product, its scalar factors with negative exponents, inverted into one product:
        what the printers write after / (b^2 c for a / (b^2 c))."""
        return mul(*(s.reciprocal() for s in mul_parts(self)[1]
                     if s.op == "pow" and s.args[1].op == "num" and s.args[1].value < 0))

    def _repr_latex_(self) -> str:
        lets = [n for n in postorder(self) if n.op == "let"]
        where = ", ".join(f"{to_latex(n)} = {to_latex(n.args[0])}" for n in lets)
        return f"${to_latex(self)}" + (rf" \quad \text{{where }} {where}$" if where else "$")

    def __reduce__(self):
        return (_make, (self.op, self.args, self.value, self.shape))  # unpickle into the intern table

    def __repr__(self) -> str:
        return f"Expr({to_text(self)!r})"

    def __str__(self) -> str:
        if self.size < 200:          # nesting is at most the size: shallow enough as it is
            return to_text(self)
        return call_deep(to_text, self)


# The intern table holds nodes weakly: a node nothing else refers to leaves it, so a
# long-lived process (matcalc serve, a notebook) does not keep every expression it built.
_interned: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _make(op: str, args: tuple, value, shape: tuple) -> Expr:
    key = (op, args, value, shape)
    node = _interned.get(key)
    if node is None:
        opaque = op == "let"   # an intermediate counts as one name, not as its definition
        size = 1 if opaque else 1 + sum(a.size for a in args)
        lead = value if opaque else (args[0].lead if args else (value[0] if op == "sym" else ""))
        seed = zlib.crc32(f"{op}|{value!r}|{shape!r}".encode())
        h = seed
        for a in args:
            h = (h * 1000003 ^ a.dhash) & 0xFFFFFFFFFFFFFFFF
        node = Expr(op, args, value, shape, size, lead, h)
        _interned[key] = node
    return node


# ---------------------------------------------------------------- leaves

def symbol(name: str, shape: tuple, kind: str) -> Expr:
    """A variable. kind: scalar, vector, matrix or symmetric."""
    return _make("sym", (), (name, kind), shape)


def number(q) -> Expr:
    q = Fraction(q)
    if max(q.numerator.bit_length(), q.denominator.bit_length()) > _MAX_NUMBER_BITS:
        raise _number_too_large()
    return _make("num", (), q, (1, 1))


def _number_too_large() -> LimitError:
    return LimitError(f"number too long: a result of more than {MAX_NUMBER_DIGITS} digits "
                      f"(a number has at most {MAX_NUMBER_DIGITS} digits)")


ZERO = number(0)
ONE = number(1)


def identity(n) -> Expr:
    if n == 1:
        return ONE
    return _make("I", (), None, (n, n))


def ones(rows, cols) -> Expr:
    """A ones vector; a ones matrix is the outer product 1 1^T, so `1^T x` rules see its parts."""
    if (rows, cols) == (1, 1):
        return ONE
    if rows != 1 and cols != 1:
        return mul(ones(rows, 1), ones(1, cols))
    return _make("ones", (), None, (rows, cols))


def zeros(shape: tuple) -> Expr:
    if shape == (1, 1):
        return ZERO
    return _make("zero", (), None, shape)


def differential(variable: Expr) -> Expr:
    """d(X) for the variable X: the direction the derivative is taken in."""
    return _make("d", (variable,), None, variable.shape)


def named(name: str, definition: Expr) -> Expr:
    """An intermediate from a statement `name = definition`: opaque, printed by its name."""
    return _make("let", (definition,), name, definition.shape)


def constant(name: str) -> Expr:
    """A number with a name (π): exact, so printed and differentiated as itself."""
    return _make(name, (), None, (1, 1))


def is_zero(e: Expr) -> bool:
    return e.op == "zero" or (e.op == "num" and e.value == 0)


def is_ones(e: Expr) -> bool:
    """A ones vector, or a ones matrix (built as the outer product 1 1^T)."""
    return e.op == "ones" or (e.op == "mul" and e.value == (1, 0) and len(e.args) == 2
                              and all(a.op == "ones" for a in e.args))


def is_number(e: Expr, q=None) -> bool:
    return e.op == "num" and (q is None or e.value == q)


# ---------------------------------------------------------------- sums

def _split_coefficient(e: Expr) -> tuple[Fraction, Expr]:
    if e.op == "num":
        return e.value, ONE
    if e.op == "mul" and e.value[0] != 1:
        return e.value[0], _mul_node(Fraction(1), e.args[:e.value[1]], e.args[e.value[1]:])
    return Fraction(1), e


def _sum_shape(terms, what="add") -> tuple:
    shape = None
    for t in terms:
        if t.is_scalar:
            continue
        if shape is None:
            shape = t.shape
        elif t.shape != shape:
            raise ShapeError(f"cannot {what} operands of shapes {fmt_shape(shape)} and {fmt_shape(t.shape)}")
    return shape or (1, 1)


def add(*terms: Expr) -> Expr:
    flat = []
    for t in terms:
        flat.extend(t.args if t.op == "add" else (t,))
    shape = _sum_shape(flat)
    literals = [t for t in flat if t.op == "lit"]
    if len(literals) > 1:   # literals add entry by entry
        entries = [add(*parts) for parts in zip(*(t.args for t in literals))]
        summed = literal([entries[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])])
        flat = [t for t in flat if t.op != "lit"] + [summed]
    coefficients: dict = {}
    for t in flat:
        if t.op == "zero":
            continue
        q, core = _split_coefficient(t)
        coefficients[core] = coefficients.get(core, 0) + q
    kept = [(core, q) for core, q in coefficients.items() if q != 0]
    if not kept:
        return zeros(shape)
    if shape != (1, 1) and all(core.is_scalar or is_ones(core) for core, _ in kept):
        # scalars and ones alone, a broadcast sum: say the broadcast, (a + 1) 1, with the
        # ones counted as the number 1 (a + 1^T is (a + 1) 1^T, not a sum a 1 reads as a scalar)
        scalars = [mul(number(q), core if core.is_scalar else ONE) for core, q in kept]
        return mul(add(*scalars), ones(*shape))
    kept.sort(key=lambda cq: cq[0].sort_key)
    parts = tuple(mul(number(q), core) for core, q in kept)
    if len(parts) == 1:
        return parts[0]
    return _make("add", parts, None, shape)


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


def neg(a: Expr) -> Expr:
    return mul(number(-1), a)


# ---------------------------------------------------------------- products

def _chain_shape(chain) -> tuple:
    rows, cols = chain[0].shape
    for f in chain[1:]:
        if f.shape[0] != cols:
            raise ShapeError(
                f"cannot multiply {fmt_shape((rows, cols))} by {fmt_shape(f.shape)}")
        cols = f.shape[1]
    return (rows, cols)


def _mul_node(coefficient: Fraction, scalars, chain) -> Expr:
    scalars, chain = tuple(scalars), tuple(chain)
    if coefficient == 1 and not scalars and len(chain) == 1:
        return chain[0]
    if coefficient == 1 and len(scalars) == 1 and not chain:
        return scalars[0]
    if not scalars and not chain:
        return number(coefficient)
    shape = _chain_shape(chain) if chain else (1, 1)
    return _make("mul", scalars + chain, (coefficient, len(scalars)), shape)


def mul(*factors: Expr) -> Expr:
    coefficient = Fraction(1)
    scalars: list = []
    chain: list = []
    for f in factors:
        q, s, c = mul_parts(f)
        if q != 1:
            coefficient *= q
        scalars.extend(s)
        if c and _chain_shape(c) == (1, 1) and f.op == "mul":
            scalars.append(_mul_node(Fraction(1), (), c))
        else:
            chain.extend(c)
    shape = _chain_shape(chain) if chain else (1, 1)
    if coefficient == 0 or any(is_zero(x) for x in scalars + chain):
        return zeros(shape)
    if len(chain) == 1 and chain[0].op == "lit":   # a scalar times a literal scales its entries
        scale = [number(coefficient), *scalars]
        return literal([[mul(*scale, chain[0].args[r * shape[1] + c]) for c in range(shape[1])]
                        for r in range(shape[0])])
    if chain:
        kept = [f for f in chain if f.op != "I"]
        chain = _collect_matrix_powers(_multiply_literals(kept)) if kept else chain[:1]
    scalars = _collect_powers(scalars)
    if not chain and len(scalars) == 1 and scalars[0].op == "mul" and scalars[0].value[1] == 0:
        chain = list(scalars[0].args)
        scalars = []
    if chain and not scalars and shape == (1, 1) and len(chain) > 1:
        chain = _oriented_scalar_chain(chain)
    return _mul_node(coefficient, scalars, chain)


def _multiply_literals(chain) -> list:
    """Neighbouring literal matrices multiply out into one literal."""
    out: list = []
    for f in chain:
        if out and f.op == "lit" and out[-1].op == "lit":
            left = out.pop()
            (rows, inner), cols = left.shape, f.shape[1]
            out.append(literal([[add(*(mul(left.args[r * inner + k], f.args[k * cols + c]) for k in range(inner)))
                                 for c in range(cols)] for r in range(rows)]))
        else:
            out.append(f)
    return out


def _collect_matrix_powers(chain) -> list:
    """X X^2 X = X^4: neighbours with one base merge their integer exponents."""
    merged: list = []
    for f in chain:
        base, k = (f.args[0], f.args[1]) if f.op == "mpow" and f.args[1].op == "num" else (f, ONE)
        if merged:
            last = merged[-1]
            last_base, last_k = (last.args[0], last.args[1]) if last.op == "mpow" and \
                last.args[1].op == "num" else (last, ONE)
            if last_base is base and base.shape[0] == base.shape[1]:
                merged[-1] = power(base, number(last_k.value + k.value))
                continue
        merged.append(f)
    return [f for f in merged if f.op != "I"] or merged[:1]


def _collect_powers(scalars) -> list:
    exponents: dict = {}
    for s in scalars:
        base, p = (s.args[0], s.args[1]) if s.op == "pow" else (s, ONE)
        exponents[base] = add(exponents[base], p) if base in exponents else p
    out = [power(b, p) for b, p in exponents.items()]
    out = [s for s in out if not is_number(s, 1)]
    out.sort(key=lambda s: s.sort_key)
    return out


def _oriented_scalar_chain(chain) -> list:
    """A 1 x 1 chain equals its transpose: keep the orientation that sorts first."""
    flipped = [transpose(f) for f in reversed(chain)]
    key = lambda c: tuple(f.sort_key for f in c)  # noqa: E731
    return flipped if key(flipped) < key(chain) else list(chain)


def mul_reading(coefficient: Fraction, scalars, chain) -> Expr:
    """A product in the given order, without choosing the canonical orientation of a
    1 x 1 chain: for display only (steps.py), never for computing."""
    return _mul_node(coefficient, scalars, chain)


def divide(a: Expr, b: Expr) -> Expr:
    if not b.is_scalar:
        raise ShapeError(f"cannot divide by a {fmt_shape(b.shape)} operand; use ./ for elementwise division")
    return mul(a, power(b, number(-1)))


# ---------------------------------------------------------------- transpose, inverse, powers

def _transpose_count(e: Expr) -> int:
    """Transposes a reader sees in the terms of a sum, and in their factors."""
    count = 0
    for t in (e.args if e.op in ("add", "had") else (e,)):
        count += sum(1 for f in (t.args if t.op == "mul" else (t,)) if f.op == "T")
    return count


def transpose(a: Expr) -> Expr:
    if a.is_scalar:
        return a
    if a.op == "T":
        return a.args[0]
    if a.op in ("I", "diagm") or (a.op == "sym" and a.kind == "symmetric"):
        return a
    if a.op == "ones":
        return ones(a.shape[1], a.shape[0])
    if a.op == "zero":
        return zeros((a.shape[1], a.shape[0]))
    if a.op == "comm":
        return commutation(a.value[1], a.value[0])   # K_{m,n}^T = K_{n,m}
    if a.op == "mul":
        q, s, c = mul_parts(a)
        return mul(number(q), *s, *(transpose(f) for f in reversed(c)))
    if a.op == "kron":
        return kron(*(transpose(f) for f in a.args))
    if a.op in ("add", "had"):
        pushed = (add if a.op == "add" else hadamard)(*(transpose(t) for t in a.args))
        if _transpose_count(pushed) < _transpose_count(a) + 1:
            return pushed
    if a.op == "lit":
        rows = [[a.args[i * a.shape[1] + j] for i in range(a.shape[0])] for j in range(a.shape[1])]
        return literal(rows)
    return _make("T", (a,), None, (a.shape[1], a.shape[0]))


KNOWN_SIZES = ops.Sizes(one=lambda d: d == 1, unify=lambda a, b: a == b, product=lambda a, b: dim_product(a, b))


def _shape(name: str, *operands: Expr) -> tuple:
    """The table's shape rule for operator `name`, with the operands' sizes known."""
    try:
        return ops.result_shape(ops.OPERATORS[name], KNOWN_SIZES, *(a.shape for a in operands))
    except ops.ShapeRuleError as refusal:
        raise ShapeError(refusal.template.format(fmt_shape(operands[refusal.operand].shape))) from None


def inverse(a: Expr) -> Expr:
    if a.is_scalar:
        return power(a, number(-1))
    _shape("inv", a)
    if a.op == "inv":
        return a.args[0]
    if a.op == "I":
        return a
    if a.op == "T":
        return transpose(inverse(a.args[0]))
    if a.op == "mul":
        q, s, c = mul_parts(a)
        if q != 1 or s:
            return mul(number(1 / q), *(power(x, number(-1)) for x in s), inverse(_mul_node(Fraction(1), (), c)))
    return _make("inv", (a,), None, a.shape)


def power(a: Expr, p: Expr) -> Expr:
    """a^p: scalar a with any scalar p; square matrix a with integer p."""
    if not p.is_scalar:
        raise ShapeError(f"an exponent must be a scalar, not {fmt_shape(p.shape)}")
    if a.is_scalar:
        if is_number(p, 0):
            return ONE
        if is_number(p, 1):
            return a
        if a.op == "num" and is_number(p) and p.value.denominator == 1:
            if a.value == 0 and p.value < 0:
                raise ShapeError("division by zero")
            bits = max(a.value.numerator.bit_length(), a.value.denominator.bit_length())
            if abs(a.value) != 1 and (bits - 1) * abs(p.value) > _MAX_NUMBER_BITS:
                raise _number_too_large()     # before computing it
            return number(a.value ** int(p.value))
        if is_number(a, 1):
            return ONE
        if a.op == "pow":
            folded = _folded_power(a.args[0], a.args[1], p, power)
            if folded is not None:
                return folded
        if a.op == "mul" and is_number(p) and p.value.denominator == 1 and (a.value[0] != 1 or a.value[1]):
            q, s, c = mul_parts(a)
            rest = [_mul_node(Fraction(1), (), c)] if c else []
            return mul(number(q ** int(p.value)), *(power(x, p) for x in (*s, *rest)))
        return _make("pow", (a, p), None, (1, 1))
    _shape("mpow", a)
    if p.op != "num":
        return _make("mpow", (a, p), None, a.shape)   # a rules-file pattern: X^k, k guarded integer
    if not (is_number(p) and p.value.denominator == 1):
        raise ShapeError("a matrix power needs an integer exponent")
    k = int(p.value)
    if k == 0:
        return identity(a.shape[0])
    if k == 1:
        return a
    if k == -1:
        return inverse(a)
    if k < 0:
        return inverse(power(a, number(-k)))
    if a.op == "I":
        return a
    return _make("mpow", (a, p), None, a.shape)


# ---------------------------------------------------------------- elementwise

def hadamard(*factors: Expr) -> Expr:
    flat = []
    for f in factors:
        flat.extend(f.args if f.op == "had" else (f,))
    scalars = [f for f in flat if f.is_scalar]
    rest = [f for f in flat if not f.is_scalar]
    if not rest:
        return mul(*scalars)
    shape = rest[0].shape
    for f in rest[1:]:
        if f.shape != shape:
            raise ShapeError(ops.OPERATORS["had"].refusal.format(fmt_shape(shape), fmt_shape(f.shape)))
    if any(f.op == "zero" for f in rest):
        return zeros(shape)
    pulled = []
    kept = []
    for f in rest:
        q, s, c = mul_parts(f)
        if f.op == "mul" and (q != 1 or s):
            pulled.extend((number(q), *s))
            f = _mul_node(Fraction(1), (), c)
        if not is_ones(f):
            kept.append(f)
    exponents: dict = {}
    for f in kept:
        base, p = (f.args[0], f.args[1]) if f.op == "epow" else (f, ONE)
        exponents[base] = add(exponents[base], p) if base in exponents else p
    kept = sorted((elementwise_power(b, p) for b, p in exponents.items()), key=lambda f: f.sort_key)
    kept = [f for f in kept if not is_ones(f)]
    if not kept:
        core = ones(*shape)
    elif len(kept) == 1:
        core = kept[0]
    else:
        core = _make("had", tuple(kept), None, shape)
    return mul(*scalars, *pulled, core)


def elementwise_power(a: Expr, p: Expr) -> Expr:
    if not p.is_scalar:
        raise ShapeError(f"an exponent must be a scalar, not {fmt_shape(p.shape)}")
    if a.is_scalar:
        return power(a, p)
    if is_number(p, 1):
        return a
    if is_number(p, 0):
        return ones(*a.shape)
    if a.op == "epow":
        folded = _folded_power(a.args[0], a.args[1], p, elementwise_power)
        if folded is not None:
            return folded
    return _make("epow", (a, p), None, a.shape)


def _folded_power(base: Expr, inner: Expr, outer: Expr, raise_to):
    """(u^p)^q as one power where that is an identity for every real u: for integer q, and
    as |u|^(p q) for even integer p ((x^2)^(1/2) is |x|, not x); None where it is not."""
    if is_number(outer) and outer.value.denominator == 1:
        return raise_to(base, mul(inner, outer))
    if is_number(inner) and inner.value.denominator == 1 and inner.value % 2 == 0:
        return raise_to(func("abs", base), mul(inner, outer))
    if _never_negative(base):
        return raise_to(base, mul(inner, outer))
    return None


def _never_negative(e: Expr) -> bool:
    return e.value >= 0 if e.op == "num" else ops.of(e).never_negative


def elementwise_divide(a: Expr, b: Expr) -> Expr:
    return hadamard(a, elementwise_power(b, number(-1)))


def func(name: str, a: Expr) -> Expr:
    """An elementwise function applied to a; abs of something never negative is itself, and a
    function of a number is folded where the table knows its exact value (exp(0) = 1)."""
    if name == "abs" and _never_negative(a) and a.op != "num":
        return a
    if a.op == "num":
        exact = ops.OPERATORS[name].exact
        value = exact(a.value) if exact else None
        if value is not None:
            return number(value)
    return _make("fn", (a,), name, a.shape)


# ---------------------------------------------------------------- matrix functions

def trace(a: Expr) -> Expr:
    if a.is_scalar:
        return a
    _shape("tr", a)
    if a.op == "T":
        return trace(a.args[0])
    if a.op == "I":
        return dim_number(a.shape[0])
    if a.op == "zero":
        return ZERO
    if a.op == "mul":
        q, s, c = mul_parts(a)
        if q != 1 or s:
            return mul(number(q), *s, trace(_mul_node(Fraction(1), (), c)))
        return _canonical_cycle(list(c))
    return _make("tr", (a,), None, (1, 1))


def dim_number(n) -> Expr:
    if isinstance(n, int):
        return number(n)
    return _make("dim", (), n, (1, 1))


def _canonical_cycle(chain: list) -> Expr:
    """tr(A B C) = tr(B C A) = tr(C^T B^T A^T): pick one representative."""
    candidates = []
    for orientation in (chain, [transpose(f) for f in reversed(chain)]):
        for i in range(len(orientation)):
            rotated = orientation[i:] + orientation[:i]
            if _chain_shape(rotated) == (1, 1):
                return _mul_node(Fraction(1), (), rotated) if len(rotated) > 1 else rotated[0]
            candidates.append(rotated)
    best = min(candidates, key=lambda c: tuple(f.sort_key for f in c))
    return _make("tr", (_mul_node(Fraction(1), (), best),), None, (1, 1))


def square_function(name: str, a: Expr) -> Expr:
    """A scalar function of a square matrix (det and its log): of a 1 x 1 argument the
    table's reading (a itself, log(a)), of the identity the table's value."""
    operator = ops.OPERATORS[name]
    if a.is_scalar:
        return func(operator.of_scalar, a) if operator.of_scalar else a
    _shape(name, a)
    if a.op == "I":
        return number(operator.at_identity)
    return _make(name, (a,), None, (1, 1))


def diag(a: Expr) -> Expr:
    """diag(vector) is a diagonal matrix; diag(square matrix) its diagonal."""
    if a.is_scalar:
        return a
    if a.is_column:
        if a.op == "ones":
            return identity(a.shape[0])
        if a.op == "mul" and (a.value[0] != 1 or a.value[1]):
            q, s, c = mul_parts(a)
            return mul(number(q), *s, diag(_mul_node(Fraction(1), (), c)))
        return _make("diagm", (a,), None, (a.shape[0], a.shape[0]))
    if a.is_row:
        return diag(transpose(a))
    _shape("diagv", a)
    if a.op == "diagm":
        return a.args[0]
    if a.op == "I":
        return ones(a.shape[0], 1)
    if a.op == "ones":
        return ones(a.shape[0], 1)
    if a.op == "T":
        return diag(a.args[0])
    if a.op == "mul" and (a.value[0] != 1 or a.value[1]):   # diag is linear
        q, s, c = mul_parts(a)
        return mul(number(q), *s, diag(_mul_node(Fraction(1), (), c)))
    return _make("diagv", (a,), None, (a.shape[0], 1))


def total(a: Expr) -> Expr:
    """sum(X): the sum of all entries."""
    if a.is_scalar:
        return a
    if a.op == "zero":
        return ZERO
    return _make("sum", (a,), None, (1, 1))


def norm(a: Expr, kind: str) -> Expr:
    """kind: '2' (Euclidean, vectors), 'F' (Frobenius), '1' (sum of |x_i|)."""
    if a.is_scalar:
        return func("abs", a)
    if a.op == "zero":
        return ZERO
    if kind == "2" and not (a.is_column or a.is_row):
        raise ShapeError(f"||.|| is the Euclidean norm of a vector, not of a {fmt_shape(a.shape)} "
                         f"matrix; write ||X||_F for the Frobenius norm")
    if a.is_row:
        a = transpose(a)
    return _make("norm", (a,), kind, (1, 1))


def vector_function(name: str, a: Expr) -> Expr:
    """softmax or logsumexp: a function of a column vector as a whole."""
    return _make(name, (a,), None, _shape(name, a))


def kron(*factors: Expr) -> Expr:
    flat = []
    for f in factors:
        flat.extend(f.args if f.op == "kron" else (f,))
    scalars = [f for f in flat if f.is_scalar]
    rest = [f for f in flat if not f.is_scalar]
    if len(rest) < 2:
        return mul(*scalars, *rest)
    rows, cols = _shape("kron", *rest)
    if any(f.op == "zero" for f in rest):
        return zeros((rows, cols))
    if all(f.op == "I" for f in rest):
        return mul(*scalars, identity(rows))      # I_m ⊗ I_n = I_mn
    return mul(*scalars, _make("kron", tuple(rest), None, (rows, cols)))


def dim_product(a, b):
    """The size a*b; a symbolic product names its factors in sorted order, so that the
    rows of B^T ⊗ A (p*n) and of vec(A X B) (n*p) are the same dimension."""
    number, names = 1, []
    for d in (a, b):
        for part in (d.split("*") if isinstance(d, str) else (d,)):
            if isinstance(part, int) or part.isdigit():   # 2*2*n is 4*n
                number *= int(part)
            else:
                names.append(part)
    if not names:
        return number
    return "*".join(([str(number)] if number != 1 else []) + sorted(names))


def vec(a: Expr) -> Expr:
    """The columns of a stacked into one column (Magnus and Neudecker's vec)."""
    if a.is_column or a.is_scalar:
        return a
    if a.is_row:
        return transpose(a)
    if a.op == "zero":
        return zeros((dim_product(a.shape[0], a.shape[1]), 1))
    return _make("vec", (a,), None, (dim_product(a.shape[0], a.shape[1]), 1))


def commutation(rows, cols) -> Expr:
    """K with K vec(M) = vec(M^T) for every rows x cols matrix M (the commutation matrix)."""
    if rows == 1 or cols == 1:
        return identity(dim_product(rows, cols))
    side = dim_product(rows, cols)
    return _make("comm", (), (rows, cols), (side, side))


def entry(a: Expr, i: int, j: int) -> Expr:
    rows, cols = a.shape
    for index, size in ((i, rows), (j, cols)):
        if index < 1 or (isinstance(size, int) and index > size):
            raise ShapeError(f"index {index} is out of range for {fmt_shape(a.shape)}")
    if a.op == "lit":
        return a.args[(i - 1) * cols + (j - 1)]
    if a.is_scalar:
        return a
    return _make("entry", (a,), (i, j), (1, 1))


def literal(rows: list) -> Expr:
    """A matrix of scalar expressions, given as a list of rows."""
    width = len(rows[0])
    for r in rows:
        if len(r) != width:
            raise ShapeError("rows of a literal matrix must have equal lengths")
        for x in r:
            if not x.is_scalar:
                raise ShapeError(f"entries of a literal must be scalars, not {fmt_shape(x.shape)}")
    if len(rows) == 1 and width == 1:
        return rows[0][0]
    return _make("lit", tuple(x for r in rows for x in r), None, (len(rows), width))


def resized(leaf: Expr, size_of) -> Expr:
    """A sized constant (I, ones, zero, a dimension, a commutation matrix) with each of its
    dimensions d replaced by size_of(d); any other leaf as it is."""
    if leaf.op == "I":
        return identity(size_of(leaf.shape[0]))
    if leaf.op == "ones":
        return ones(size_of(leaf.shape[0]), size_of(leaf.shape[1]))
    if leaf.op == "zero":
        return zeros((size_of(leaf.shape[0]), size_of(leaf.shape[1])))
    if leaf.op == "dim":
        return dim_number(size_of(leaf.value))
    if leaf.op == "comm":
        return commutation(size_of(leaf.value[0]), size_of(leaf.value[1]))
    return leaf


def fmt_shape(shape: tuple) -> str:
    return f"{shape[0]} x {shape[1]}"


# ---------------------------------------------------------------- generic traversal

def rebuild(e: Expr, args: tuple) -> Expr:
    """The node `e` with new arguments, through its canonical constructor."""
    op = e.op
    if not args:
        return e
    if op == "mul":
        return mul(number(e.value[0]), *args)
    if op == "let":
        return named(e.value, args[0])
    if op == "norm":
        return norm(args[0], e.value)
    if op == "entry":
        return entry(args[0], *e.value)
    if op == "lit":
        cols = e.shape[1]
        return literal([list(args[i:i + cols]) for i in range(0, len(args), cols)])
    return constructor(ops.of(e))(*args)


# Constructors shared by several operators take the operator's name first.
_SHARED_CONSTRUCTORS = ("func", "vector_function", "square_function", "constant")


def constructor(operator: ops.Operator):
    """The canonical constructor of an operator, as a function of its arguments alone."""
    build = globals()[operator.constructor]
    if operator.constructor in _SHARED_CONSTRUCTORS:
        return lambda *args: build(operator.name, *args)
    return build


def call(word: str, *args: Expr) -> Expr:
    """The language's call word(...) (tr(X), exp(x), kron(A, B), norm(x)) built canonically."""
    if word == "norm":
        return norm(args[0], "2")
    return constructor(ops.CALLS[word])(*args)


def transform(e: Expr, replace) -> Expr:
    """Rebuild e from its parts, each shared node once.  replace(node, again) may return
    the node's replacement (again(part) transforms a part), or None: rebuild it as it is."""
    memo: dict = {}

    def again(node):
        found = memo.get(node)
        if found is None:
            found = replace(node, again)
            if found is None:
                found = rebuild(node, tuple(again(a) for a in node.args)) if node.args else node
            memo[node] = found
        return found
    return again(e)


def substitute(e: Expr, mapping: dict) -> Expr:
    """Replace subexpressions by `mapping` everywhere."""
    return transform(e, lambda node, again: mapping.get(node))


def symbols_in(e: Expr, memo: dict | None = None) -> frozenset:
    """Names of the variables an expression depends on."""
    memo = {} if memo is None else memo

    def go(node):
        found = memo.get(node)
        if found is None:
            if node.op == "sym":
                found = frozenset((node.name,))
            else:
                found = frozenset().union(*(go(a) for a in node.args)) if node.args else frozenset()
            memo[node] = found
        return found
    return go(e)


def contains(e: Expr, target: Expr, memo: dict) -> bool:
    found = memo.get(e)
    if found is None:
        found = memo[e] = e is target or any(contains(a, target, memo) for a in e.args)
    return found
