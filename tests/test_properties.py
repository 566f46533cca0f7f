"""Property-based tests: random well-shaped expressions against finite differences.

A hypothesis strategy builds random expressions over the whole operator set of
SYNTAX.md as TEXT, together with an independent NumPy function computing the
same expression (a tiny evaluator written here, not matcalc's).  For every
generated case and each of the three layouts, ``matcalc.diff(...).evaluate``
must equal central finite differences of that NumPy function, arranged in the
layout's axis order and with exactly the layout's shape (SYNTAX.md, Layouts):

  mixed        axes of f, then axes of the variable
  numerator    axes of f, then axes of the variable reversed
  denominator  axes of the variable, then axes of f reversed

Any MatcalcError (NotDifferentiableError included) is a failure. Results with
more than two axes (vector or matrix by matrix, matrix by vector) are ndarrays in
the layout's axis order; second derivatives are checked against nested finite
differences.  The printed result (for a tensor, its vec form) must re-parse with
the same declarations.

Sizes are distinct per dimension: vectors u (2), x, z (3), y (4); matrices
A, B (3 x 3), W (4 x 3), C (2 x 4); scalars a, b.
Failing cases found by the generator are kept in REGRESSIONS at the bottom.
"""
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Callable

try:
    import matcalc
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import matcalc

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

LAYOUTS = ("mixed", "numerator", "denominator")

VECTORS = {2: ["u"], 3: ["x", "z"], 4: ["y"]}
MATRICES = {(3, 3): ["A", "B"], (4, 3): ["W"], (2, 4): ["C"]}
SCALARS = ["a", "b"]
DIMS = (2, 3, 4)
SHAPE_OF = {"a": (1, 1), "b": (1, 1), "u": (2, 1), "x": (3, 1), "z": (3, 1), "y": (4, 1),
            "A": (3, 3), "B": (3, 3), "W": (4, 3), "C": (2, 4)}


class Degenerate(Exception):
    """The random point is (nearly) non-differentiable or overflowing: skip it."""


# ------------------------------------------------------------------ terms
# A term is text in the language, its precedence level (to decide brackets),
# its shape (rows, cols) and a NumPy function env -> 2-D array of that shape.
ATOM, POSTFIX, POWER, PREFIX, PRODUCT, SUM = 6, 5, 4, 3, 2, 1


@dataclass(frozen=True)
class T:
    text: str
    level: int
    shape: tuple
    fn: Callable = field(compare=False, repr=False)


def at(t: T, level: int) -> str:
    """t's text as an operand needing at least `level`."""
    return t.text if t.level >= level else f"({t.text})"


def smul(p, q):
    """Juxtaposition: scalar times anything, else the matrix product."""
    if p.shape == (1, 1) or q.shape == (1, 1):
        return p * q
    return p @ q


def check_norm(v):
    n = np.linalg.norm(v)
    if n < 1e-3:
        raise Degenerate("norm at zero")
    return n


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def logsumexp(v):
    m = v.max()
    return m + np.log(np.exp(v - m).sum())


def positive_guard(v):
    if np.any(v <= 1e-6):
        raise Degenerate("not positive")
    return v


ELEMENTWISE = {
    "exp": np.exp, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "softplus": lambda v: np.logaddexp(0, v),
}


# ------------------------------------------------------------------ generator
class Gen:
    """Draws terms of a given shape; `focus` is the differentiation variable."""

    def __init__(self, draw, focus: str, extra_leaves=()):
        self.draw = draw
        self.focus = focus
        self.extra = list(extra_leaves)   # intermediates: (name, shape)

    def choice(self, options):
        return self.draw(st.sampled_from(options))

    # -------------------------------------------------------------- leaves
    def var(self, name):
        shape = SHAPE_OF.get(name)
        if shape is None:
            shape = dict(self.extra)[name]
        return T(name, ATOM, shape, lambda e, n=name: e[n])

    def leaf(self, shape):
        p, q = shape
        names = []
        if shape == (1, 1):
            names = SCALARS + [n for n, s in self.extra if s == shape]
            options = [("name", n) for n in names] + [("num", "2"), ("num", "0.5"), ("num", "3")]
        else:
            options = []
            if q == 1:
                names = VECTORS[p] + [n for n, s in self.extra if s == shape]
            elif p != 1:
                names = MATRICES.get(shape, []) + [n for n, s in self.extra if s == shape]
            options += [("name", n) for n in names]
            if p == 1:
                options += [("row", n) for n in VECTORS[q]]
            elif q != 1:
                options += [("T", n) for n in MATRICES.get((q, p), [])]
                if not options:
                    options += [("outer", (a, b)) for a in VECTORS[p] for b in VECTORS[q]]
        # prefer the differentiation variable (first, so shrinking keeps it)
        preferred = [o for o in options if self.focus in (o[1] if isinstance(o[1], tuple) else (o[1],))]
        if preferred:
            options = preferred * 3 + options
        kind, what = self.choice(options)
        if kind == "name":
            return self.var(what)
        if kind == "num":
            v = float(what)
            return T(what, ATOM, (1, 1), lambda e, v=v: np.array([[v]]))
        if kind == "row":
            tr = self.choice(["^T", "'", "^⊤"])
            return T(what + tr, POSTFIX, shape, lambda e, n=what: e[n].T)
        if kind == "T":
            return T(what + "^T", POSTFIX, shape, lambda e, n=what: e[n].T)
        a, b = what
        return T(f"{a} {b}^T", PRODUCT, shape, lambda e, a=a, b=b: e[a] @ e[b].T)

    # -------------------------------------------------------------- composites
    def term(self, shape, depth):
        if depth <= 0:
            return self.leaf(shape)
        builders = self.builders(shape)
        name = self.choice(["leaf"] + builders)
        if name == "leaf":
            return self.leaf(shape)
        return getattr(self, "b_" + name)(shape, depth - 1)

    def builders(self, shape):
        p, q = shape
        common = ["add", "sub", "neg", "product", "product", "hadamard", "ediv", "sdiv",
                  "scale", "transpose", "elementwise", "elementwise", "log", "sqrt", "epow"]
        if shape == (1, 1):
            return common + ["inner", "trace", "det", "logdet", "sum", "norm", "norm2", "fro",
                             "logsumexp", "spow", "spow", "sinv", "kron_scalar", "ones_inner"]
        extra = ["broadcast", "broadcast"]
        if p == q:
            extra += ["square", "inverse", "diag_vec", "plus_identity"]
        if q == 1:
            extra += ["softmax", "diag_mat"]
        return common + extra

    def b_add(self, shape, d):
        l, r = self.term(shape, d), self.term(shape, d)
        return T(f"{at(l, SUM)} + {at(r, PRODUCT)}", SUM, shape, lambda e: l.fn(e) + r.fn(e))

    def b_sub(self, shape, d):
        l, r = self.term(shape, d), self.term(shape, d)
        return T(f"{at(l, SUM)} - {at(r, PRODUCT)}", SUM, shape, lambda e: l.fn(e) - r.fn(e))

    def b_neg(self, shape, d):
        a = self.term(shape, d)
        return T(f"-{at(a, PREFIX)}", PREFIX, shape, lambda e: -a.fn(e))

    def b_product(self, shape, d):
        p, q = shape
        r = self.choice([3, 4, 2, 1])
        if r == 1 and p == 1 and q == 1:
            r = self.choice([2, 3, 4])
        l, rt = self.term((p, r), d), self.term((r, q), d)
        op = self.choice([" ", " ", " ", " * ", " @ "])
        right = at(rt, POWER if op == " " else PREFIX)
        if op == " " and right.startswith(("||", "-")):
            op = " * "
        if op == " " and l.text[-1:].isdigit() and right[:1].isdigit():
            op = " * "
        return T(f"{at(l, PRODUCT)}{op}{right}", PRODUCT, shape, lambda e: smul(l.fn(e), rt.fn(e)))

    def b_scale(self, shape, d):
        s, a = self.term((1, 1), d), self.term(shape, d)
        if self.choice([True, False]):
            right = at(a, POWER)
            op = " * " if right.startswith("||") else " "
            return T(f"{at(s, PRODUCT)}{op}{right}", PRODUCT, shape, lambda e: s.fn(e) * a.fn(e))
        return T(f"{at(a, PRODUCT)} * {at(s, PREFIX)}", PRODUCT, shape, lambda e: a.fn(e) * s.fn(e))

    def b_hadamard(self, shape, d):
        l, r = self.term(shape, d), self.term(shape, d)
        op = self.choice([".*", ".*", "∘", "⊙"])
        return T(f"{at(l, PRODUCT)} {op} {at(r, PREFIX)}", PRODUCT, shape, lambda e: l.fn(e) * r.fn(e))

    def positive(self, shape, d):
        """A term that is positive everywhere (entrywise)."""
        kind = self.choice(["exp", "one_plus_sq", "one_plus_pow", "sigmoid_plus"])
        a = self.term(shape, d)
        if kind == "exp":
            return T(f"exp({a.text})", ATOM, shape, lambda e: np.exp(a.fn(e)))
        if kind == "one_plus_sq":
            return T(f"1 + {at(a, PRODUCT)} .* {at(a, PREFIX)}", SUM, shape,
                     lambda e: 1 + a.fn(e) * a.fn(e))
        if kind == "one_plus_pow":
            pw = ".^" if shape != (1, 1) else self.choice(["^", ".^"])
            return T(f"1 + {at(a, POSTFIX)} {pw} 2", SUM, shape, lambda e: 1 + a.fn(e) ** 2)
        return T(f"sigmoid({a.text}) + 1", SUM, shape, lambda e: 1 / (1 + np.exp(-a.fn(e))) + 1)

    def b_ediv(self, shape, d):
        l, r = self.term(shape, d), self.positive(shape, d)
        return T(f"{at(l, PRODUCT)} ./ {at(r, PREFIX)}", PRODUCT, shape, lambda e: l.fn(e) / r.fn(e))

    def b_sdiv(self, shape, d):
        l, r = self.term(shape, d), self.positive((1, 1), d)
        if self.choice([True, False]):
            r = T("2", ATOM, (1, 1), lambda e: np.array([[2.0]]))
        return T(f"{at(l, PRODUCT)} / {at(r, PREFIX)}", PRODUCT, shape, lambda e: l.fn(e) / r.fn(e))

    def b_transpose(self, shape, d):
        a = self.term((shape[1], shape[0]), d)
        tr = self.choice(["^T", "^T", "'", "^⊤"])
        return T(at(a, POSTFIX) + tr, POSTFIX, shape, lambda e: a.fn(e).T)

    def b_elementwise(self, shape, d):
        f = self.choice(sorted(ELEMENTWISE))
        a = self.term(shape, d)
        g = ELEMENTWISE[f]
        return T(f"{f}({a.text})", ATOM, shape, lambda e: g(a.fn(e)))

    def b_log(self, shape, d):
        a = self.positive(shape, d)
        return T(f"log({a.text})", ATOM, shape, lambda e: np.log(positive_guard(a.fn(e))))

    def b_sqrt(self, shape, d):
        a = self.positive(shape, d)
        return T(f"sqrt({a.text})", ATOM, shape, lambda e: np.sqrt(positive_guard(a.fn(e))))

    def b_epow(self, shape, d):
        a = self.term(shape, d)
        k = self.choice([2, 2, 3])
        return T(f"{at(a, POSTFIX)} .^ {k}", POWER, shape, lambda e: a.fn(e) ** k)

    def b_broadcast(self, shape, d):
        """Scalar broadcasting: `1 - tanh(v) .* tanh(v)`, `s + M`, `M - 2`."""
        a = self.term(shape, d)
        kind = self.choice(["tanh", "left", "right"])
        if kind == "tanh":
            return T(f"1 - tanh({a.text}) .* tanh({a.text})", SUM, shape,
                     lambda e: 1 - np.tanh(a.fn(e)) ** 2)
        s = self.term((1, 1), d)
        if kind == "left":
            return T(f"{at(s, SUM)} + {at(a, PRODUCT)}", SUM, shape, lambda e: s.fn(e) + a.fn(e))
        return T(f"{at(a, SUM)} - {at(s, PRODUCT)}", SUM, shape, lambda e: a.fn(e) - s.fn(e))

    def pd(self, n, d):
        """A positive definite n x n term: M M^T + I."""
        r = self.choice([2, 3, 4])
        m = self.term((n, r), d)
        mt = at(m, POSTFIX)
        if self.choice([True, False]):
            return T(f"{at(m, PRODUCT)} {mt}^T + I", SUM, (n, n),
                     lambda e: m.fn(e) @ m.fn(e).T + np.eye(n))
        return T(f"I + {at(m, PRODUCT)} * {mt}^T", SUM, (n, n),
                 lambda e: np.eye(n) + m.fn(e) @ m.fn(e).T)

    def b_square(self, shape, d):
        a = self.term(shape, d)
        return T(f"{at(a, POSTFIX)}^2", POWER, shape, lambda e: np.linalg.matrix_power(a.fn(e), 2))

    def b_inverse(self, shape, d):
        m = self.pd(shape[0], d)
        spelling = self.choice(["^-1", "^(-1)", "⁻¹", "inv"])
        if spelling == "inv":
            return T(f"inv({m.text})", ATOM, shape, lambda e: np.linalg.inv(m.fn(e)))
        return T(f"({m.text}){spelling}", POSTFIX, shape, lambda e: np.linalg.inv(m.fn(e)))

    def b_plus_identity(self, shape, d):
        a = self.term(shape, d)
        if self.choice([True, False]):
            return T(f"{at(a, SUM)} + I", SUM, shape, lambda e: a.fn(e) + np.eye(shape[0]))
        return T(f"I - {at(a, PRODUCT)}", SUM, shape, lambda e: np.eye(shape[0]) - a.fn(e))

    def b_diag_vec(self, shape, d):
        v = self.term((shape[0], 1), d)
        return T(f"diag({v.text})", ATOM, shape, lambda e: np.diag(v.fn(e).ravel()))

    def b_diag_mat(self, shape, d):
        m = self.term((shape[0], shape[0]), d)
        return T(f"diag({m.text})", ATOM, shape, lambda e: np.diag(m.fn(e)).reshape(-1, 1))

    def b_softmax(self, shape, d):
        v = self.term(shape, d)
        return T(f"softmax({v.text})", ATOM, shape, lambda e: softmax(v.fn(e)))

    # scalar-valued
    def b_inner(self, shape, d):
        n = self.choice(list(DIMS))
        v, w = self.term((n, 1), d), self.term((n, 1), d)
        tr = self.choice(["^T", "'"])
        return T(f"{at(v, POSTFIX)}{tr} {at(w, POWER)}", PRODUCT, shape,
                 lambda e: v.fn(e).T @ w.fn(e))

    def b_ones_inner(self, shape, d):
        v = self.term((self.choice(list(DIMS)), 1), d)
        return T(f"1^T {at(v, POWER)}", PRODUCT, shape, lambda e: np.sum(v.fn(e)).reshape(1, 1))

    def b_trace(self, shape, d):
        n = self.choice(list(DIMS))
        m = self.term((n, n), d)
        return T(f"tr({m.text})", ATOM, shape, lambda e: np.trace(m.fn(e)).reshape(1, 1))

    def b_det(self, shape, d):
        m = self.pd(self.choice(list(DIMS)), d)
        return T(f"det({m.text})", ATOM, shape, lambda e: np.linalg.det(m.fn(e)).reshape(1, 1))

    def b_logdet(self, shape, d):
        m = self.pd(self.choice(list(DIMS)), d)
        return T(f"logdet({m.text})", ATOM, shape,
                 lambda e: np.array([[np.linalg.slogdet(m.fn(e))[1]]]))

    def b_sum(self, shape, d):
        s = (self.choice(list(DIMS)), self.choice([1, 2, 3, 4]))
        m = self.term(s, d)
        return T(f"sum({m.text})", ATOM, shape, lambda e: np.sum(m.fn(e)).reshape(1, 1))

    def b_norm(self, shape, d):
        v = self.term((self.choice(list(DIMS)), 1), d)
        form = self.choice(["bars", "bars2", "norm"])
        if "||" in v.text or form == "norm":
            text = f"norm({v.text})"
        else:
            text = f"||{v.text}||" + ("_2" if form == "bars2" else "")
        return T(text, ATOM, shape, lambda e: np.array([[check_norm(v.fn(e))]]))

    def b_norm2(self, shape, d):
        v = self.term((self.choice(list(DIMS)), 1), d)
        if "||" in v.text:
            return T(f"norm({v.text})^2", POWER, shape, lambda e: np.array([[np.sum(v.fn(e) ** 2)]]))
        return T(f"||{v.text}||^2", POWER, shape, lambda e: np.array([[np.sum(v.fn(e) ** 2)]]))

    def b_fro(self, shape, d):
        m = self.term((self.choice(list(DIMS)), self.choice(list(DIMS))), d)
        if "||" in m.text:   # a norm opened after an operand inside a norm would close it
            return T(f"sqrt(sum({m.text} .^ 2))", ATOM, shape,
                     lambda e: np.array([[check_norm(m.fn(e))]]))
        return T(f"||{m.text}||_F", ATOM, shape, lambda e: np.array([[check_norm(m.fn(e))]]))

    def b_logsumexp(self, shape, d):
        v = self.term((self.choice(list(DIMS)), 1), d)
        return T(f"logsumexp({v.text})", ATOM, shape, lambda e: np.array([[logsumexp(v.fn(e))]]))

    def b_spow(self, shape, d):
        a = self.term(shape, d)
        k = self.choice([2, 3])
        return T(f"{at(a, POSTFIX)}^{k}", POWER, shape, lambda e: a.fn(e) ** k)

    def b_sinv(self, shape, d):
        a = self.positive(shape, d)
        k, spelling = self.choice([(-1, "^-1"), (-1, "^(-1)"), (-2, "^-2"), (0.5, "^(1/2)"), (0.5, "^0.5")])
        return T(f"({a.text}){spelling}", POWER, shape, lambda e: positive_guard(a.fn(e)) ** k)

    def b_kron_scalar(self, shape, d):
        p, q = self.choice([(2, 3), (3, 4), (3, 3), (4, 2)])
        v, w = self.term((p, 1), d), self.term((q, 1), d)
        k = lambda e: np.kron(v.fn(e), w.fn(e))
        form = self.choice(["sum", "norm2", "inner"])
        kt = self.choice([f"kron({v.text}, {w.text})", f"({at(v, PRODUCT)} ⊗ {at(w, PREFIX)})"])
        if form == "sum":
            return T(f"sum({kt})", ATOM, shape, lambda e: np.sum(k(e)).reshape(1, 1))
        if form == "norm2" and "||" not in kt:
            return T(f"||{kt}||^2", POWER, shape, lambda e: np.sum(k(e) ** 2).reshape(1, 1))
        v2, w2 = self.term((p, 1), d), self.term((q, 1), d)
        return T(f"{kt}^T kron({v2.text}, {w2.text})", PRODUCT, shape,
                 lambda e: k(e).T @ np.kron(v2.fn(e), w2.fn(e)))


# ------------------------------------------------------------------ cases
@dataclass
class Case:
    text: str
    wrt: str
    fn: Callable = field(repr=False)
    inline: bool = False            # scalars declared inline (`scalar a, b;`) or by keyword
    seed: int = 0
    at: dict = field(default_factory=dict, repr=False)   # values to fix at the random point
    order: int = 1

    @property
    def scalars(self):
        return () if self.inline else tuple(SCALARS)


@st.composite
def cases(draw, wrt: str, f_shapes, depth=3):
    """A random expression of one of `f_shapes` that contains `wrt`, with intermediates."""
    shape = draw(st.sampled_from(f_shapes))
    statements = []
    defs = []
    for i in range(draw(st.integers(0, 2))):
        dshape = draw(st.sampled_from([(3, 1), (4, 1), (1, 1), (4, 3), (3, 3)]))
        name = {(1, 1): "c", (4, 3): "H", (3, 3): "G"}.get(dshape, "h") + str(i + 1)
        g = Gen(draw, wrt, [(n, s) for n, s, _ in defs])
        t = g.term(dshape, draw(st.integers(1, 2)))
        if dshape == (4, 1) and draw(st.booleans()):
            t = T(f"tanh({t.text})", ATOM, dshape, lambda e, t=t: np.tanh(t.fn(e)))
        defs.append((name, dshape, t))
        statements.append(f"{name} = {t.text}")
    g = Gen(draw, wrt, [(n, s) for n, s, _ in defs])
    body = g.term(shape, draw(st.integers(1, depth)))
    text = "; ".join(statements + [body.text])
    names = set(re.findall(r"[A-Za-z_]\w*", text))
    assume(wrt in names)
    inline = draw(st.booleans())
    if inline:
        text = "scalar a, b; " + text

    def fn(env):
        env = dict(env)
        for name, _, t in defs:
            env[name] = t.fn(env)
        return body.fn(env)

    return Case(text, wrt, fn, inline, draw(st.integers(0, 2**16)))


# ------------------------------------------------------------------ the oracle
def point(case: Case) -> dict:
    rng = np.random.default_rng(case.seed)
    env = {}
    for name, shape in SHAPE_OF.items():
        env[name] = rng.uniform(-1, 1, size=shape)
    for s in SCALARS:
        env[s] = rng.uniform(0.3, 1.2, size=(1, 1))
    for name, value in case.at.items():
        env[name] = np.asarray(value, dtype=float).reshape(SHAPE_OF[name])
    return env


def f_axes(shape):
    return tuple(s for s in shape if s != 1) if shape != (1, 1) else ()


def expected(case: Case, env: dict, layout: str, h=1e-5):
    """Central finite differences, arranged as `layout` orders the axes (SYNTAX.md)."""
    var = env[case.wrt]
    f0 = case.fn(env)
    if not np.all(np.isfinite(f0)) or np.max(np.abs(f0)) > 1e6:
        raise Degenerate("overflow")
    blocks = np.zeros(f0.shape + var.shape)
    for idx in np.ndindex(var.shape):
        plus, minus = dict(env), dict(env)
        plus[case.wrt] = var.copy()
        minus[case.wrt] = var.copy()
        plus[case.wrt][idx] += h
        minus[case.wrt][idx] -= h
        blocks[(...,) + idx] = (case.fn(plus) - case.fn(minus)) / (2 * h)
    fa, va = f_axes(f0.shape), f_axes(var.shape)
    j = blocks.reshape(fa + va)
    nf, nv = len(fa), len(va)
    if layout == "mixed":          # axes of f, then axes of the variable
        order = list(range(nf + nv))
    elif layout == "numerator":    # axes of f, then axes of the variable reversed
        order = list(range(nf)) + list(range(nf + nv - 1, nf - 1, -1))
    else:                          # axes of the variable, then axes of f reversed
        order = list(range(nf, nf + nv)) + list(range(nf - 1, -1, -1))
    j = np.transpose(j, order)
    if j.ndim == 0:
        return float(j)
    if j.ndim == 1:   # scalar by vector: row in numerator; vector by scalar: row in denominator
        row = (layout == "numerator" and nf == 0) or (layout == "denominator" and nf == 1)
        return j.reshape(1, -1) if row else j.reshape(-1, 1)
    return j


def mixed_gradient(case: Case, env: dict) -> np.ndarray:
    """The first derivative by finite differences in the mixed layout, as a 2-D array
    (a vector's gradient a column): what a second derivative differentiates."""
    first = expected(case, env, "mixed", h=1e-6)
    first = np.asarray(first, dtype=float)
    return first.reshape(-1, 1) if first.ndim == 1 else np.atleast_2d(first)


def values_for(env):
    """Values as users pass them: vectors 1-D, scalars as numbers."""
    out = {}
    for name, v in env.items():
        if name in SCALARS:
            out[name] = float(v[0, 0])
        elif v.shape[1] == 1:
            out[name] = v.ravel()
        else:
            out[name] = v
    return out


def _note(message: str):
    """hypothesis.note inside a property, nothing elsewhere (the fixed cases)."""
    try:
        note(message)
    except Exception:
        pass


DECLARATION = re.compile(r"(\w+): (scalar|vector|matrix|symmetric)(?:\[([^\]]*)\])?")


def numeric_shape(d, env) -> tuple:
    """d.shape with its symbolic dims replaced by sizes, read from d.describe()."""
    sizes = {}
    for name, kind, dims in DECLARATION.findall(d.describe()):
        if not dims or name not in env:
            continue
        for dim, size in zip(dims.split(","), env[name].shape):
            sizes[dim.strip()] = size
    out = []
    for dim in d.shape:
        if isinstance(dim, int):
            out.append(dim)
            continue
        size = 1
        for part in str(dim).split("*"):
            part = part.strip()
            size *= int(part) if part.isdigit() else sizes.get(part, -1)
        out.append(size)
    return tuple(out)


def check_case(case: Case, layouts=LAYOUTS):
    """diff(...).evaluate == finite differences in each layout; False at a degenerate point."""
    env = point(case)
    try:
        if case.order == 2:
            first = Case(case.text, case.wrt, lambda e: mixed_gradient(case, e), case.inline, case.seed, case.at)
            want = {layout: expected(first, env, layout, h=1e-4) for layout in layouts}
        else:
            want = {layout: expected(case, env, layout) for layout in layouts}
    except Degenerate:
        return False
    for layout in layouts:
        context = f"diff({case.text!r}, {case.wrt!r}, layout={layout!r}, order={case.order})"
        _note(context)
        try:
            d = matcalc.diff(case.text, case.wrt, layout=layout, order=case.order, scalars=case.scalars)
        except matcalc.MatcalcError as exc:
            pytest.fail(f"{context} raised {type(exc).__name__}: {exc}")
        context += f" = {d}"
        _note(context)
        assert d.layout == layout
        try:
            got = d.evaluate(values_for(env))
        except matcalc.MatcalcError as exc:
            pytest.fail(f"{context}: evaluate raised {type(exc).__name__}: {exc}")
        exp = want[layout]
        if np.ndim(exp) == 0:
            assert np.ndim(got) == 0, f"{context}: scalar expected, got shape {np.shape(got)}"
        else:
            assert np.shape(got) == exp.shape, f"{context}: shape {np.shape(got)} != {exp.shape}"
        expected_shape = (1, 1) if np.ndim(exp) == 0 else exp.shape
        assert numeric_shape(d, env) == expected_shape, (
            f"{context}: d.shape {d.shape} ({d.describe()}) is not {expected_shape}")
        scale = max(1.0, float(np.max(np.abs(exp))))
        assert np.allclose(got, exp, rtol=1e-4, atol=1e-5 * scale), (
            f"{context}\n got {np.asarray(got).tolist()}\nwant {np.asarray(exp).tolist()}")
        printed = str(d.vec()) if len(exp.shape if np.ndim(exp) else ()) > 2 else str(d)
        if "vec(I)" in printed:
            # Known limit: I has no written size, and only a Kronecker product fixes the size of
            # this one; reading it back would need sizes solved from products (n*n*k = m*m*m).
            continue
        try:
            matcalc.parse(printed, scalars=tuple(SCALARS))
        except matcalc.MatcalcError as exc:
            pytest.fail(f"{context}: the printed result {printed!r} does not re-parse: {exc}")
    return True


def _split_statements(text: str):
    """`u1 = ...; u2 = ...; expr` -> (['u1 = ...', ...], 'expr'), at top-level semicolons."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == ";" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts[:-1], parts[-1]


def check_printed_value(case: Case, layout="mixed"):
    """The printed result, read back, has the value of the result.

    It is evaluated through the public API: d/dt (t * (printed)) for a fresh scalar t.
    """
    env = point(case)
    try:
        case.fn(env)
    except Degenerate:
        return False
    d = matcalc.diff(case.text, case.wrt, layout=layout, scalars=case.scalars)
    got = np.asarray(d.evaluate(values_for(env)), dtype=float)
    if np.allclose(got, 0):
        return False
    statements, last = _split_statements(str(d))
    text = "; ".join(statements + [f"tt * ({last})"])
    context = f"diff({case.text!r}, {case.wrt!r}, layout={layout!r}) printed {str(d)!r}"
    try:
        back = matcalc.diff(text, "tt", scalars=tuple(SCALARS) + ("tt",))
        value = np.asarray(back.evaluate({**values_for(env), "tt": 1.0}), dtype=float)
    except matcalc.MatcalcError as exc:
        if "not known" in str(exc):   # a lone `I` or `1` has no size of its own
            return False
        pytest.fail(f"{context}: reading it back failed: {type(exc).__name__}: {exc}")
    assert value.size == got.size and np.allclose(value.ravel(), got.ravel(), rtol=1e-6, atol=1e-9), (
        f"{context}: read back it is {value.tolist()}, but the result is {got.tolist()}")
    return True


# No shrinking: it can take minutes on a failure; the regressions below are reduced by hand.
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=60,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])

SCALAR = [(1, 1)]
VECTOR_SHAPES = [(3, 1), (4, 1), (2, 1), (1, 4), (1, 3)]
MATRIX_SHAPES = [(3, 3), (4, 3), (3, 4), (2, 4), (4, 2)]


def run(case):
    _note(repr(case))
    assume(check_case(case))


@PROPERTY
@given(cases("x", SCALAR))
def test_scalar_by_vector(case):
    run(case)


@PROPERTY
@given(cases("W", SCALAR))
def test_scalar_by_matrix(case):
    run(case)


@settings(PROPERTY, max_examples=30)
@given(cases("A", SCALAR))
def test_scalar_by_square_matrix(case):
    run(case)


@PROPERTY
@given(cases("a", SCALAR))
def test_scalar_by_scalar(case):
    run(case)


@PROPERTY
@given(cases("x", VECTOR_SHAPES))
def test_vector_by_vector(case):
    run(case)


@PROPERTY
@given(cases("a", VECTOR_SHAPES))
def test_vector_by_scalar(case):
    run(case)


@PROPERTY
@given(cases("a", MATRIX_SHAPES))
def test_matrix_by_scalar(case):
    run(case)


# more than two axes: tensors in each layout's axis order (issue 4)
@settings(PROPERTY, max_examples=40)
@given(cases("W", VECTOR_SHAPES))
def test_vector_by_matrix(case):
    run(case)


@settings(PROPERTY, max_examples=40)
@given(cases("x", MATRIX_SHAPES))
def test_matrix_by_vector(case):
    run(case)


@settings(PROPERTY, max_examples=40)
@given(cases("W", MATRIX_SHAPES))
def test_matrix_by_matrix(case):
    run(case)


def second_order(case: Case) -> Case:
    return Case(case.text, case.wrt, case.fn, case.inline, case.seed, case.at, order=2)


@settings(PROPERTY, max_examples=40)
@given(cases("x", SCALAR, depth=2).map(second_order))
def test_hessian_by_vector(case):
    run(case)


@settings(PROPERTY, max_examples=25)
@given(cases("W", SCALAR, depth=2).map(second_order))
def test_hessian_by_matrix(case):
    run(case)


@settings(PROPERTY, max_examples=40)
@given(st.one_of(cases("x", SCALAR), cases("W", SCALAR), cases("a", MATRIX_SHAPES),
                 cases("x", VECTOR_SHAPES)),
       st.sampled_from(LAYOUTS))
def test_printed_result_reads_back_to_the_same_value(case, layout):
    _note(repr(case))
    try:
        matcalc.diff(case.text, case.wrt, layout=layout, scalars=case.scalars)
    except matcalc.MatcalcError:
        assume(False)   # reported by the properties above
    assume(check_printed_value(case, layout))


# ------------------------------------------------------------------ fixed cases
# Hand-written cases for the forms the brief names, each with its NumPy function.
sig = ELEMENTWISE["sigmoid"]


def _s(v):
    return np.array([[float(np.sum(v))]])


def _logdet(m):
    return np.array([[np.linalg.slogdet(m)[1]]])


FIXED = [
    Case("h = tanh(W x); sum(h)", "x", lambda e: _s(np.tanh(e["W"] @ e["x"]))),
    Case("h = tanh(W x); 1/2 ||h - y||^2", "W", lambda e: _s((np.tanh(e["W"] @ e["x"]) - e["y"]) ** 2) / 2),
    Case("H1 = W^T y; H2 = A H1; yhat = B^T H2; 1/2 ||yhat - x||^2", "A",
         lambda e: _s((e["B"].T @ e["A"] @ e["W"].T @ e["y"] - e["x"]) ** 2) / 2),
    Case("1 - tanh(x) .* tanh(x)", "x", lambda e: 1 - np.tanh(e["x"]) ** 2),
    Case("y^T W", "y", lambda e: e["y"].T @ e["W"]),
    Case("kron(x, y)", "x", lambda e: np.kron(e["x"], e["y"])),
    Case("x ⊗ u", "u", lambda e: np.kron(e["x"], e["u"])),
    Case("sum(log(1 + exp(-y .* (W x))))", "x", lambda e: _s(np.log(1 + np.exp(-e["y"] * (e["W"] @ e["x"]))))),
    Case("logdet(W^T W + I)", "W", lambda e: _logdet(e["W"].T @ e["W"] + np.eye(3))),
    Case("tr((A A^T + I)^-1)", "A", lambda e: np.trace(np.linalg.inv(e["A"] @ e["A"].T + np.eye(3))).reshape(1, 1)),
    Case("det(A)", "A", lambda e: np.linalg.det(e["A"]).reshape(1, 1)),
    Case("||W||_F", "W", lambda e: np.array([[np.linalg.norm(e["W"])]])),
    Case("||x||", "x", lambda e: np.array([[np.linalg.norm(e["x"])]])),
    Case("||x - z||^2", "x", lambda e: _s((e["x"] - e["z"]) ** 2)),
    Case("softmax(W x)", "x", lambda e: softmax(e["W"] @ e["x"])),
    Case("logsumexp(W x)", "W", lambda e: np.array([[logsumexp(e["W"] @ e["x"])]])),
    Case("scalar a; (A + a I)^-1", "a", lambda e: np.linalg.inv(e["A"] + e["a"] * np.eye(3)), inline=True),
    Case("scalar a; exp(a) W", "a", lambda e: np.exp(e["a"]) * e["W"], inline=True),
    Case("a x^T W^T", "a", lambda e: e["a"] * e["x"].T @ e["W"].T),
    Case("a^3 - 2 a^-1 + (1 + a^2)^(1/2)", "a", lambda e: e["a"] ** 3 - 2 / e["a"] + np.sqrt(1 + e["a"] ** 2)),
    Case("sigmoid(x) ./ exp(x)", "x", lambda e: sig(e["x"]) / np.exp(e["x"])),
    Case("sqrt(1 + x .* x) / 2", "x", lambda e: np.sqrt(1 + e["x"] ** 2) / 2),
    Case("softplus(W x) .^ 2", "x", lambda e: np.logaddexp(0, e["W"] @ e["x"]) ** 2),
    Case("sum(diag(A^2))", "A", lambda e: np.trace(e["A"] @ e["A"]).reshape(1, 1)),
    Case("diag(x) A x", "x", lambda e: np.diag(e["x"].ravel()) @ e["A"] @ e["x"]),
    Case("sin(x) + cos(x)", "x", lambda e: np.sin(e["x"]) + np.cos(e["x"])),
    Case("x / 2 - A x / b", "x", lambda e: e["x"] / 2 - e["A"] @ e["x"] / e["b"]),
    Case("tr(A^2 B)", "A", lambda e: np.trace(e["A"] @ e["A"] @ e["B"]).reshape(1, 1)),
]


@pytest.mark.parametrize("case", FIXED, ids=[f"{c.text} by {c.wrt}" for c in FIXED])
def test_fixed(case):
    assert check_case(case)


# ------------------------------------------------------------------ regressions
# Engine bugs found by the generator, reduced by hand to a minimal reproducer.
# They are expected to fail until the engine is fixed; do not mark them xfail.
REGRESSIONS = [
    # A broadcast / ones-vector factor is dropped: `1 1^T v` becomes the scalar sum(v).
    Case("sum(x u^T)", "x", lambda e: _s(e["x"] @ e["u"].T)),                  # gives sum(u), 1 x 1
    Case("(B - a) x", "a", lambda e: (e["B"] - e["a"]) @ e["x"]),               # gives -sum(x), 1 x 1
    Case("sum(A x y^T)", "A", lambda e: _s(e["A"] @ e["x"] @ e["y"].T)),         # gives sum(y) x^T, 1 x 3
    Case("((x^T x) sum(x) + 2 + u)^T u", "x",                                     # gives u (...), 2 x 3
         lambda e: (np.sum(e["x"] ** 2) * np.sum(e["x"]) + 2 + e["u"]).T @ e["u"]),
    Case("(x u^T - a) u x^T a", "a",                                              # raises ShapeError
         lambda e: (e["x"] @ e["u"].T - e["a"]) @ e["u"] @ e["x"].T * e["a"]),
    Case("u - u^T u", "u", lambda e: e["u"] - e["u"].T @ e["u"]),               # raises ShapeError
    # Jacobians (two axes) the engine refuses ("would need a tensor-valued intermediate").
    Case("x^T (x x^T)", "x", lambda e: e["x"].T @ (e["x"] @ e["x"].T)),
    Case("(I + x x^T) z", "x", lambda e: (np.eye(3) + e["x"] @ e["x"].T) @ e["z"]),
    Case("diag(x x^T + A)", "x", lambda e: np.diag(e["x"] @ e["x"].T + e["A"]).reshape(-1, 1)),
    Case("u^T cos(u x^T)", "x", lambda e: e["u"].T @ np.cos(e["u"] @ e["x"].T)),
    Case("exp(x u^T) u", "x", lambda e: np.exp(e["x"] @ e["u"].T) @ e["u"]),
    Case("sigmoid(diag(x^T x + B))", "x",
         lambda e: sig(np.diag(np.sum(e["x"] ** 2) + e["B"]).reshape(-1, 1))),
    # "a Kronecker product of matrices that depend on the variable" for a gradient.
    Case("kron(x, y)^T kron(exp(x), y)", "x", lambda e: np.kron(e["x"], e["y"]).T @ np.kron(np.exp(e["x"]), e["y"])),
    Case("||kron(u, x + z)||^2", "x", lambda e: _s(np.kron(e["u"], e["x"] + e["z"]) ** 2)),
    # The squared norm is smooth at 0, and here it does not even involve the variable.
    Case("x^T x + ||z - z||^2", "x", lambda e: _s(e["x"] ** 2)),
    Case("||x||^2", "x", lambda e: _s(e["x"] ** 2), at={"x": [0.0, 0.0, 0.0]}),
    # The printed result does not re-parse: `||2 ||x|| x||` opens no inner norm.
    Case("||2 * ||x|| x||", "x", lambda e: np.array([[2 * np.linalg.norm(e["x"]) ** 2]])),
    # ... nor `sin(sum(x)) 1 exp(x)^T` (denominator): `1` after a scalar reads as the number 1.
    Case("cos(sum(x)) exp(x)", "x", lambda e: np.cos(np.sum(e["x"])) * np.exp(e["x"])),
]
REGRESSION_PARAMS = [pytest.param(c, layout, id=f"{c.text} by {c.wrt} [{layout}]")
                     for c in REGRESSIONS for layout in LAYOUTS]


@pytest.mark.parametrize("case,layout", REGRESSION_PARAMS)
def test_regression(case, layout):
    assert check_case(case, layouts=(layout,))


# The printed result must mean what the result means: `sum(1) 1` reads back as 1, not m.
PRINTED = [
    Case("1^T (sum(x) + u)", "x", lambda e: _s(np.sum(e["x"]) + e["u"])),      # prints sum(1) 1
    Case("kron(a + y, u)", "a", lambda e: np.kron(e["a"] + e["y"], e["u"])),     # prints kron(1, u)
    Case("||2 * ||x|| x||", "x", lambda e: np.array([[2 * np.linalg.norm(e["x"]) ** 2]])),
]


# A ones vector whose size no neighbour fixes (`kron(1, u)`, `sum(1)`) cannot be written in
# SYNTAX.md v1, which has no spelling for "ones of length n": these stay known limits.
UNSIZED_ONES = pytest.mark.xfail(strict=True, reason="SYNTAX.md v1 cannot spell an unsized ones vector")


UNSIZED = {"1^T (sum(x) + u)", "kron(a + y, u)"}


@pytest.mark.parametrize("case", [pytest.param(c, marks=UNSIZED_ONES if c.text in UNSIZED else ())
                                  for c in PRINTED],
                         ids=[f"{c.text} by {c.wrt}" for c in PRINTED])
def test_printed_regression(case):
    assert check_printed_value(case)
