"""Issue 9 study: an e-graph (egglog) against a bounded search over matcalc's rules.

Contract: `python benchmarks/simplifier_study.py` differentiates every row of CORPUS with
matcalc as it is, then simplifies the result two ways and prints, per row, the tokens of
matcalc's answer, of each prototype's answer and of the book's form, whether each answer
equals matcalc's numerically (random points, NumPy), and the time; then the ratio
distribution, e-graph sizes and adversarial inputs.  Nothing in matcalc is changed: the
prototypes read matcalc's expressions (`Expr.op/.args/.value/.shape`), rebuild through its
constructors (matcalc.expr) and print with its printer (emit_text.to_text).

  A  e-graph: egglog (equality saturation), the identities below as egglog rewrites, a
     dims analysis (rows/cols of every e-class, derived by rules) for the shape guards, a
     `symmetric` relation derived by rules, extraction by a per-constructor token cost;
     bounded by iterations, e-nodes, a per-iteration match limit and wall time.
  B  best-first search over Expr: each step applies one identity (rules-file syntax,
     matched by matcalc.rules.match, both directions where the identity is reversible)
     at one place, the K best by printed tokens are kept; bounded by expansions and time.

`python benchmarks/simplifier_study.py --product` measures what was built from B instead:
matcalc.diff as it is now (simplify runs matcalc/search.py), on the same corpus, the issue's
rows in every layout, and the adversarial inputs.

Tokens: the project's own lexer (matcalc.syntax.parser().lex), so `^T`, `^-1`, `.*`, `||`
are one token each and juxtaposition is none.  Without egglog installed, A is skipped
with a message and B still runs.
"""
from __future__ import annotations

import heapq
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

import matcalc
from matcalc import expr as E
from matcalc import rules as R
from matcalc.emit_text import to_text
from matcalc.evaluate_numpy import evaluate
from matcalc.syntax import parser

SIZES = {"n": 3, "m": 2, "k": 4, "p": 5}       # distinct, so a transposition mistake shows


# ---------------------------------------------------------------- the corpus

@dataclass
class Row:
    id: str
    text: str
    wrt: str
    book: str
    options: dict = field(default_factory=dict)
    origin: str = ""


ISSUE = "issue 9 table"
CORPUS = [
    # the nine rows of issue 9's table (the book's Sigma^-T written inv(Sigma)^T, which parses)
    Row("i1_xent_softmax_b", "-y^T log(softmax(W x + b))", "b", "sum(y) softmax(W x + b) - y", origin=ISSUE),
    Row("i2_bce_w", "-sum(y .* log(sigmoid(X w)) + (1 - y) .* log(1 - sigmoid(X w)))", "w",
        "X^T (sigmoid(X w) - y)", origin=ISSUE),
    Row("i3_gauss_S_sym", "logdet(S) + (x - mu)^T inv(S) (x - mu)", "S",
        "S^-1 - S^-1 (x - mu) (x - mu)^T S^-1", {"symmetric": "S"}, ISSUE),
    Row("i4_tr_S3_sym", "tr(S^3)", "S", "3 S^2", {"symmetric": "S"}, ISSUE),
    Row("i5_logdet_AXB", "A: matrix[n,n]; B: matrix[n,n]; logdet(A X B)", "X", "inv(X)^T", origin=ISSUE),
    Row("i6_log_softmax_jac", "log(softmax(x))", "x", "I - 1 softmax(x)^T", origin=ISSUE + " (mixed layout: the "
        "issue's I - softmax(x) 1^T is its transpose)"),
    Row("i7_tr_X_inv2", "tr(X^-2)", "X", "-2 (X^-3)^T", origin=ISSUE),
    Row("i8_rayleigh", "x^T A x / (x^T x)", "x",
        "((A + A^T) x - 2 (x^T A x) / (x^T x) x) / (x^T x)", origin=ISSUE),
    Row("i9_gauss_Sigma", "logdet(Sigma) + (x - mu)^T inv(Sigma) (x - mu)", "Sigma",
        "inv(Sigma)^T - inv(Sigma)^T (x - mu) (x - mu)^T inv(Sigma)^T", origin=ISSUE),
    # from tests/test_identities.py, where matcalc's answer is longer than the book's
    Row("t_xent_softmax", "y^T log(softmax(z))", "z", "y - sum(y) softmax(z)", origin="test_identities sv_xent_softmax"),
    Row("t_gauss_nll_S", "1/2 logdet(S) + 1/2 (x - mu)^T inv(S) (x - mu)", "S",
        "1/2 (S^-1 - S^-1 (x - mu) (x - mu)^T S^-1)", {"symmetric": "S"}, "test_identities sm_gauss_nll_S"),
    Row("t_net_bce", "z = X w; p = sigmoid(z); -y^T log(p) - (1 - y)^T log(1 - p)", "w",
        "z = X w; p = sigmoid(z); X^T (p - y)", origin="test_identities net_bce"),
    Row("t_det_X2", "det(X^2)", "X", "2 det(X^2) inv(X)^T", origin="test_identities sm_det_X2"),
    Row("t_tr_AinvXC", "tr(A X^-1 C)", "X", "-(X^-1 C A X^-1)^T", origin="test_identities sm_tr_AinvXC"),
    Row("t_aTinvXb", "a^T X^-1 b", "X", "-(X^-1 b a^T X^-1)^T", origin="test_identities sm_aTinvXb"),
    Row("t_log_sum_exp", "log(sum(exp(x)))", "x", "softmax(x)", origin="test_identities sv_log_sum_exp"),
    Row("t_det_rank1", "det(I + x x^T)", "x", "2 x", origin="test_identities sv_det_rank1 (determinant lemma)"),
    Row("t_sigmoid_tanh", "exp(-t) tanh(t) + sigmoid(t)", "t",
        "sigmoid(t) (1 - sigmoid(t)) + exp(-t) (1 - tanh(t) - tanh(t)^2)", {"scalars": "t"},
        "test_identities ss_sigmoid_tanh"),
    Row("t_tr_invSigma_C", "tr(inv(Sigma) C)", "Sigma", "-(Sigma^-1 C Sigma^-1)^T", origin="textbook (MC 63)"),
    # textbook and ML identities (Matrix Cookbook, Bishop, Goodfellow) tried as a user would
    Row("b_log_softmax_b", "log(softmax(W x + b))", "b", "I - 1 softmax(W x + b)^T", origin="ML: log-softmax Jacobian"),
    Row("b_log_softmax_Wx", "log(softmax(W x))", "x", "(I - 1 softmax(W x)^T) W", origin="ML"),
    Row("b_nxent_z", "-y^T log(softmax(z))", "z", "sum(y) softmax(z) - y", origin="ML: cross-entropy"),
    Row("b_nxent_x", "-y^T log(softmax(W x))", "x", "W^T (sum(y) softmax(W x) - y)", origin="ML"),
    Row("b_nxent_W", "-y^T log(softmax(W x))", "W", "(sum(y) softmax(W x) - y) x^T", origin="ML"),
    Row("b_bce_z", "y^T log(sigmoid(z)) + (1 - y)^T log(1 - sigmoid(z))", "z", "y - sigmoid(z)", origin="ML"),
    Row("b_bce_sum_z", "sum(y .* log(sigmoid(z)) + (1 - y) .* log(1 - sigmoid(z)))", "z", "y - sigmoid(z)",
        origin="ML"),
    Row("b_logdet_X2", "logdet(X^2)", "X", "2 inv(X)^T", origin="MC (57)"),
    Row("b_logdet_AX", "A: matrix[n,n]; logdet(A X)", "X", "inv(X)^T", origin="MC (57), square A"),
    Row("b_logdet_XB", "B: matrix[n,n]; logdet(X B)", "X", "inv(X)^T", origin="MC (57), square B"),
    Row("b_det_AXC", "A: matrix[n,n]; C: matrix[n,n]; det(A X C)", "X", "det(A X C) inv(X)^T", origin="MC (47)"),
    Row("b_tr_invX_A", "tr(inv(X) A)", "X", "-(X^-1 A X^-1)^T", origin="MC (63)"),
    Row("b_tr_X_inv3", "tr(X^-3)", "X", "-3 (X^-4)^T", origin="MC"),
    Row("b_tr_inv_AXB", "A: matrix[n,n]; B: matrix[n,n]; tr(inv(A X B))", "X", "-(B inv(A X B)^2 A)^T", origin="MC"),
    Row("b_tr_inv_AX", "A: matrix[n,n]; tr(inv(A X))", "X", "-(inv(A X) X^-1)^T", origin="MC"),
    Row("b_logdet_inv_AX", "A: matrix[n,n]; logdet(inv(A X))", "X", "-inv(X)^T", origin="MC (57)"),
    Row("b_lse_Wx", "log(sum(exp(W x)))", "x", "W^T softmax(W x)", origin="ML"),
    Row("b_sig_var", "sum(sigmoid(x) .* (1 - sigmoid(x)))", "x",
        "sigmoid(x) .* (1 - sigmoid(x)) .* (1 - 2 sigmoid(x))", origin="ML: sigmoid'"),
    Row("b_sig_odd", "sum(sigmoid(x) + sigmoid(-x))", "x", "0", origin="sigmoid(-x) = 1 - sigmoid(x)"),
    Row("b_sig_diff", "sum(sigmoid(x)) - sum(sigmoid(-x))", "x", "2 sigmoid(x) .* (1 - sigmoid(x))",
        origin="sigmoid(-x) = 1 - sigmoid(x)"),
    Row("b_logcosh", "sum(log(exp(x) + exp(-x)))", "x", "tanh(x)", origin="ML: log-cosh loss"),
    Row("b_abs3_hess", "sum(abs(x) .^ 3)", "x", "6 diag(abs(x))", {"order": 2}, "Hessian"),
    Row("b_abs3_grad", "sum(abs(x) .^ 3)", "x", "3 x .* abs(x)", origin="gradient"),
    Row("b_sig_hess", "sum(sigmoid(x))", "x", "diag(sigmoid(x) .* (1 - sigmoid(x)) .* (1 - 2 sigmoid(x)))",
        {"order": 2}, "Hessian"),
    Row("b_lse_hess", "log(sum(exp(x)))", "x", "diag(softmax(x)) - softmax(x) softmax(x)^T", {"order": 2},
        "Hessian of log-sum-exp"),
    Row("b_ones_quot", "sum(x .^ 2 ./ x)", "x", "1", origin="elementwise cancellation"),
    Row("b_tr_S_inv_sym", "tr(S^-1)", "S", "-S^-2", {"symmetric": "S"}, "MC, symmetric"),
    Row("b_tr_S_inv2_sym", "tr(S^-2)", "S", "-2 S^-3", {"symmetric": "S"}, "MC, symmetric"),
    Row("b_logdet_S2_sym", "logdet(S^2)", "S", "2 S^-1", {"symmetric": "S"}, "MC, symmetric"),
    Row("b_det_S3_sym", "det(S^3)", "S", "3 det(S^3) S^-1", {"symmetric": "S"}, "MC, symmetric"),
    Row("b_tr_S4_sym", "tr(S^4)", "S", "4 S^3", {"symmetric": "S"}, "MC, symmetric"),
    Row("b_quad_S3_sym", "x^T S^3 x", "x", "2 S^3 x", {"symmetric": "S"}, "symmetric quadratic form"),
    Row("b_wishart_sym", "logdet(S) + tr(inv(S) C)", "S", "S^-1 - S^-1 C S^-1", {"symmetric": "S, C"},
        "Gaussian / Wishart MLE"),
    Row("b_precision_sym", "-logdet(S) + tr(S C)", "S", "C - S^-1", {"symmetric": "S, C"}, "graphical lasso"),
    Row("b_kron_x", "a^T kron(A, B) kron(x, y)", "x", "kron(A^T, (B y)^T) a", origin="Kronecker mixed product"),
    Row("b_kron_y", "a^T kron(A, B) kron(x, y)", "y", "kron((A x)^T, B^T) a", origin="Kronecker mixed product"),
    Row("b_kron_tr", "tr(kron(A, B) kron(C, D) X)", "X", "kron(A C, B D)^T", origin="Kronecker mixed product"),
    Row("b_kron_quad", "x^T kron(A, B) kron(C, D) x", "x", "(kron(A C, B D) + kron(A C, B D)^T) x",
        origin="Kronecker mixed product"),
]


# ---------------------------------------------------------------- tokens and values

_LEXER = None


def tokens(text: str) -> int:
    """Lexical tokens of printed text, by the project's lexer (matcalc.syntax's Lark parser)."""
    global _LEXER
    if _LEXER is None:
        _LEXER = parser()
    return sum(1 for _ in _LEXER.lex(text))


def printed(e: E.Expr) -> str:
    return to_text(e)


def _dims_of(e: E.Expr) -> set:
    names = set()
    for node in E.postorder(e):
        for d in node.shape:
            if isinstance(d, str):
                names.update(part for part in d.split("*") if not part.isdigit())
    return names


def random_point(e: E.Expr, rng, positive: bool):
    """Values for every symbol of e (symmetric ones SPD, square ones well conditioned)."""
    dims = {}
    for name in sorted(_dims_of(e)):
        dims[name] = SIZES.get(name, 3 + len(dims) % 3)

    def size(d):
        if isinstance(d, int):
            return d
        out = 1
        for part in d.split("*"):
            out *= int(part) if part.isdigit() else dims[part]
        return out
    env = {}
    for node in E.postorder(e):
        if node.op != "sym" or node.name in env:
            continue
        rows, cols = size(node.shape[0]), size(node.shape[1])
        if positive:
            value = rng.uniform(0.3, 1.2, (rows, cols))
        else:
            value = rng.normal(size=(rows, cols))
        if node.kind == "symmetric":
            value = value @ value.T + rows * np.eye(rows)
        elif rows == cols and rows > 1:
            value = value + 2.5 * np.eye(rows)
        env[node.name] = value
    return env, dims


def values_agree(reference: E.Expr, candidate: E.Expr, seed: int = 0) -> bool:
    """The two expressions at three random points (NumPy), relative 1e-7."""
    rng = np.random.default_rng(seed)
    checked = 0
    for attempt in range(8):
        env, dims = random_point(reference, rng, positive=attempt % 2 == 1)
        for node in E.postorder(candidate):      # symbols only the candidate has (none, if sound)
            if node.op == "sym" and node.name not in env:
                return False
        try:
            want = evaluate(reference, env, dims)
        except Exception:       # noqa: BLE001 -- outside the domain at this point: another point
            continue
        try:
            got = evaluate(candidate, env, dims)
        except Exception:       # noqa: BLE001 -- the reference has a value here, the candidate none
            return False
        if want.shape != got.shape or not np.allclose(want, got, rtol=1e-7, atol=1e-9):
            return False
        checked += 1
        if checked == 3:
            return True
    return checked > 0


def book_value_agrees(row: Row, reference: E.Expr) -> bool:
    """The book's form, read by matcalc with the row's declarations, equals matcalc's answer."""
    options = {k: v for k, v in row.options.items() if k in ("scalars", "symmetric")}
    declarations = row.text.rsplit(";", 1)[0] + "; " if ";" in row.text and ";" not in row.book else ""
    try:
        book = matcalc.parse(declarations + row.book, **options)
    except Exception:           # noqa: BLE001 -- reported as not checked
        return False
    if book.is_scalar and not reference.is_scalar and book.op == "num":   # "0", "1": the size is the reader's
        book = E.mul(book, E.ones(*reference.shape)) if book.value else E.zeros(reference.shape)
    return values_agree(reference, book)


# ---------------------------------------------------------------- prototype A: egglog

try:
    import egglog as G
    from egglog import BigRatLike, Expr, String, StringLike, i64Like, method
except ImportError:             # the study of B still runs
    G = None

if G is not None:
    class Mx(Expr):
        """A matcalc expression in the e-graph; costs approximate the printed tokens."""
        @method(cost=1)
        @classmethod
        def leaf(cls, name: StringLike) -> Mx: ...
        @method(cost=1)
        @classmethod
        def num(cls, q: BigRatLike) -> Mx: ...
        @method(cost=1)
        @classmethod
        def eye(cls, n: StringLike) -> Mx: ...
        @method(cost=1)
        @classmethod
        def ones(cls, r: StringLike, c: StringLike) -> Mx: ...
        @method(cost=1)
        @classmethod
        def zero(cls, r: StringLike, c: StringLike) -> Mx: ...
        @method(cost=3)
        @classmethod
        def fn(cls, name: StringLike, a: Mx) -> Mx: ...
        @method(cost=2)
        @classmethod
        def norm(cls, kind: StringLike, a: Mx) -> Mx: ...
        @method(cost=1)
        def __add__(self, other: Mx) -> Mx: ...
        @method(cost=1)
        def __mul__(self, other: Mx) -> Mx: ...
        @method(cost=1)
        def had(self, other: Mx) -> Mx: ...
        @method(cost=3)
        def kron(self, other: Mx) -> Mx: ...
        @method(cost=1)
        def T(self) -> Mx: ...
        @method(cost=2)
        def inv(self) -> Mx: ...
        @method(cost=2)
        def mpow(self, k: i64Like) -> Mx: ...
        @method(cost=1)
        def pow(self, p: Mx) -> Mx: ...
        @method(cost=1)
        def epow(self, p: Mx) -> Mx: ...
        @method(cost=3)
        def tr(self) -> Mx: ...
        @method(cost=3)
        def det(self) -> Mx: ...
        @method(cost=3)
        def logdet(self) -> Mx: ...
        @method(cost=3)
        def diagm(self) -> Mx: ...
        @method(cost=3)
        def diagv(self) -> Mx: ...
        @method(cost=3)
        def total(self) -> Mx: ...
        @method(cost=3)
        def softmax(self) -> Mx: ...
        @method(cost=3)
        def lse(self) -> Mx: ...
        @method(cost=3)
        def vec(self) -> Mx: ...

    # the dims analysis: rows and columns of an e-class (a dimension name, or a number as text)
    @G.function
    def rows(a: Mx) -> String: ...

    @G.function
    def cols(a: Mx) -> String: ...

    symmetric = G.relation("symmetric", Mx)


class EgglogPrototype:
    """Matcalc's Expr -> egglog terms, the identities, saturation within bounds, extraction."""

    NODE_LIMIT = 30_000
    ITERATIONS = 12
    CHUNK = 4             # iterations per egglog call: each call costs ~20 ms of Python-side reporting
    TIME_LIMIT = 5.0
    MATCH_LIMIT = 2_000

    def __init__(self, cost_model=None):
        self.cost_model = cost_model
        self._declare()

    def _declare(self):
        self.Mx, self.rows, self.cols, self.symmetric = Mx, rows, cols, symmetric
        self.groups, self.rules = self._rules()
        # one e-graph holds the rules; each expression is pushed and popped: registering the
        # rules costs 40 ms, and an EGraph dropped on another thread (call_deep's) is an error
        self.graph = G.EGraph()
        self.graph.register(*self.rules)
        self.calls = 0

    # -- the identities ----------------------------------------------------------------
    def _rules(self):
        from egglog import BigRat, String, eq, i64, rewrite, birewrite, rule, set_, union, var, vars_
        Mx, rows, cols, symmetric = self.Mx, self.rows, self.cols, self.symmetric
        a, b, c, d, e = vars_("a b c d e", Mx)
        r, s, t, u = vars_("r s t u", String)
        k, j = vars_("k j", i64)
        p, q = vars_("p q", BigRat)
        one = String("1")
        num = Mx.num

        def scalar(x):
            return [eq(rows(x)).to(one), eq(cols(x)).to(one)]

        def square(x):
            return [eq(rows(x)).to(cols(x))]

        def column(x):
            return [eq(cols(x)).to(one)]

        def same(x, y):
            return [eq(rows(x)).to(rows(y)), eq(cols(x)).to(cols(y))]

        def dims_rule(lhs, row_dim, col_dim, *facts):
            return rule(eq(e).to(lhs), *facts).then(set_(rows(e)).to(row_dim), set_(cols(e)).to(col_dim))

        R1, MINUS1, TWO = BigRat(1, 1), BigRat(-1, 1), BigRat(2, 1)
        named: list = []

        def add(name, *items):
            named.append((name, items))

        # the dims analysis: rows and cols of every e-class, from its e-nodes
        add("dims",
            dims_rule(a * b, r, s, eq(cols(a)).to(rows(b)), eq(r).to(rows(a)), eq(s).to(cols(b))),
            dims_rule(a * b, r, s, *scalar(a), eq(r).to(rows(b)), eq(s).to(cols(b))),
            dims_rule(a * b, r, s, *scalar(b), eq(r).to(rows(a)), eq(s).to(cols(a))),
            *[dims_rule(op(a, b), r, s, *facts, eq(r).to(rows(x)), eq(s).to(cols(x)))
              for op in (lambda x, y: x + y, lambda x, y: x.had(y))
              for facts, x in ((same(a, b), a), (scalar(a), b), (scalar(b), a))],
            dims_rule(a.kron(b), G.join(r, "*", t), G.join(s, "*", u), eq(r).to(rows(a)), eq(s).to(cols(a)),
                      eq(t).to(rows(b)), eq(u).to(cols(b))),
            dims_rule(a.T(), s, r, eq(r).to(rows(a)), eq(s).to(cols(a))),
            *[dims_rule(op(a), r, s, eq(r).to(rows(a)), eq(s).to(cols(a)))
              for op in (lambda x: x.inv(), lambda x: x.mpow(k), lambda x: x.epow(b),
                         lambda x: Mx.fn(t, x), lambda x: x.softmax())],
            *[dims_rule(op(a), one, one) for op in (lambda x: x.pow(b), lambda x: x.tr(), lambda x: x.det(),
                                                      lambda x: x.logdet(), lambda x: x.total(),
                                                      lambda x: x.lse(), lambda x: Mx.norm(t, x))],
            dims_rule(num(p), one, one),
            dims_rule(a.diagm(), r, r, eq(r).to(rows(a))),
            dims_rule(a.diagv(), r, one, eq(r).to(rows(a))),
            dims_rule(a.vec(), G.join(r, "*", s), one, eq(r).to(rows(a)), eq(s).to(cols(a))),
            dims_rule(Mx.eye(r), r, r, eq(e).to(Mx.eye(r))),
            dims_rule(Mx.ones(r, s), r, s, eq(e).to(Mx.ones(r, s))),
            dims_rule(Mx.zero(r, s), r, s, eq(e).to(Mx.zero(r, s))))
        # symmetry, derived: the relation the transpose rule reads
        add("symmetric",
            rule(eq(e).to(Mx.eye(r))).then(symmetric(e)),
            rule(eq(e).to(a.diagm())).then(symmetric(e)),
            rule(eq(e).to(a), *scalar(a)).then(symmetric(e)),
            rule(eq(e).to(a.inv()), symmetric(a)).then(symmetric(e)),
            rule(eq(e).to(a.mpow(k)), symmetric(a)).then(symmetric(e)),
            rule(eq(e).to(a + b), symmetric(a), symmetric(b)).then(symmetric(e)),
            rule(eq(e).to(a * b), symmetric(b), *scalar(a)).then(symmetric(e)),
            rule(eq(e).to(a * a.T())).then(symmetric(e)),
            rule(eq(e).to(a.T() * a)).then(symmetric(e)),
            rule(eq(e).to(a * (b * a.T())), symmetric(b)).then(symmetric(e)),
            rule(eq(e).to(a + a.T())).then(symmetric(e)),
            rule(eq(e).to(a.T()), symmetric(a)).then(union(e).with_(a)))
        # the algebra of each operator (matcalc's constructors do these on every Expr)
        add("sum: commutative, associative",
            rewrite(a + b).to(b + a), birewrite((a + b) + c).to(a + (b + c)))
        # associative where the chain is conformable or a factor is a scalar: (x^T x) z is a
        # scaling, and x^T (x z) does not exist
        add("product: associative; scalars commute",
            birewrite((a * b) * c).to(a * (b * c), eq(cols(a)).to(rows(b)), eq(cols(b)).to(rows(c))),
            *[birewrite((a * b) * c).to(a * (b * c), *scalar(x)) for x in (a, b, c)],
            rewrite(a * b).to(b * a, *scalar(a)), rewrite(a * b).to(b * a, *scalar(b)))
        add("hadamard: commutative, associative, scalars scale",
            rewrite(a.had(b)).to(b.had(a)), birewrite(a.had(b).had(c)).to(a.had(b.had(c))),
            rewrite(a.had(b)).to(a * b, *scalar(a)),
            birewrite(a * b.had(c)).to((a * b).had(c), *scalar(a)))
        add("numbers fold",
            rewrite(num(p) * num(q)).to(num(p * q)), rewrite(num(p) + num(q)).to(num(p + q)),
            rewrite(num(R1) * a).to(a), rewrite(num(p) * (num(q) * a)).to(num(p * q) * a),
            rewrite(a + a).to(num(TWO) * a), rewrite(num(p) * a + a).to(num(p + R1) * a),
            rewrite(num(p) * a + num(q) * a).to(num(p + q) * a),
            rewrite(a + num(BigRat(0, 1))).to(a),
            rule(eq(e).to(num(BigRat(0, 1)) * a), eq(r).to(rows(a)), eq(s).to(cols(a))).then(
                union(e).with_(Mx.zero(r, s))),
            rewrite(Mx.zero(one, one)).to(num(BigRat(0, 1))),
            rewrite(a + Mx.zero(r, s)).to(a, eq(rows(a)).to(r), eq(cols(a)).to(s)),
            rule(eq(e).to(a * Mx.zero(r, s)), eq(t).to(rows(a)), eq(cols(a)).to(r)).then(union(e).with_(Mx.zero(t, s))),
            rule(eq(e).to(Mx.zero(r, s) * a), eq(t).to(cols(a)), eq(rows(a)).to(s)).then(union(e).with_(Mx.zero(r, t))),
            rewrite(Mx.ones(one, one)).to(num(R1)),
            rewrite(Mx.eye(one)).to(num(R1)),
            rewrite(num(p).pow(num(MINUS1))).to(num(R1 / p), p != BigRat(0, 1)))
        add("distributivity (both ways; same-shaped terms only, never a broadcast scalar)",
            birewrite(a * (b + c)).to(a * b + a * c, *same(b, c)),
            birewrite((a + b) * c).to(a * c + b * c, *same(a, b)),
            birewrite(a.had(b + c)).to(a.had(b) + a.had(c)))
        add("transpose",
            rewrite(a.T().T()).to(a), birewrite((a + b).T()).to(a.T() + b.T()),
            birewrite((a * b).T()).to(b.T() * a.T()), rewrite(a.had(b).T()).to(a.T().had(b.T())),
            birewrite(a.inv().T()).to(a.T().inv()), birewrite(a.mpow(k).T()).to(a.T().mpow(k)),
            rewrite(a.kron(b).T()).to(a.T().kron(b.T())), rewrite(a.T().kron(b.T())).to(a.kron(b).T()),
            rewrite(Mx.ones(r, s).T()).to(Mx.ones(s, r)), rewrite(Mx.zero(r, s).T()).to(Mx.zero(s, r)))
        add("identity matrix",
            rewrite(Mx.eye(r) * a).to(a, eq(rows(a)).to(r)), rewrite(a * Mx.eye(r)).to(a, eq(cols(a)).to(r)), rewrite(Mx.eye(r).inv()).to(Mx.eye(r)),
            rewrite(Mx.ones(r, one).diagm()).to(Mx.eye(r)))
        add("inverse: cancels, of a product of square factors",
            rewrite(a.inv().inv()).to(a),
            rule(eq(e).to(a.inv() * a), eq(r).to(rows(a))).then(union(e).with_(Mx.eye(r))),
            rule(eq(e).to(a * a.inv()), eq(r).to(rows(a))).then(union(e).with_(Mx.eye(r))),
            birewrite((a * b).inv()).to(b.inv() * a.inv(), *square(a), *square(b), eq(cols(a)).to(rows(b))),
            birewrite(a.mpow(k).inv()).to(a.inv().mpow(k)),
            rewrite((num(p) * a).inv()).to(num(R1 / p) * a.inv(), p != BigRat(0, 1)))
        add("matrix powers",
            rewrite(a.mpow(k) * a).to(a.mpow(k + 1)), rewrite(a * a.mpow(k)).to(a.mpow(k + 1)),
            rewrite(a.mpow(k) * a.mpow(j)).to(a.mpow(k + j)), rewrite(a * a).to(a.mpow(2), *square(a)),
            rewrite(a.mpow(1)).to(a), rewrite(a.mpow(k).mpow(j)).to(a.mpow(k * j)),
            rewrite(a.mpow(k)).to(a.mpow(k - 1) * a, k >= 2, k <= 6))
        add("scalar and elementwise powers",
            rewrite(a.pow(num(p)) * a.pow(num(q))).to(a.pow(num(p + q))),
            rewrite(a * a.pow(num(q))).to(a.pow(num(q + R1))), rewrite(a * a).to(a.pow(num(TWO)), *scalar(a)),
            rewrite(a.pow(num(R1))).to(a),
            rewrite(a.epow(num(p)).had(a.epow(num(q)))).to(a.epow(num(p + q))),
            rewrite(a.had(a.epow(num(q)))).to(a.epow(num(q + R1))), rewrite(a.had(a)).to(a.epow(num(TWO))),
            rewrite(a.epow(num(R1))).to(a),
            rule(eq(e).to(a.epow(num(BigRat(0, 1)))), eq(r).to(rows(a)), eq(s).to(cols(a))).then(
                union(e).with_(Mx.ones(r, s))),
            rewrite(a.had(Mx.ones(r, s))).to(a, eq(rows(a)).to(r), eq(cols(a)).to(s)),
            rewrite(a.epow(num(TWO))).to(a.had(a)),
            rewrite(a.pow(num(BigRat(-2, 1)))).to(a.pow(num(MINUS1)) * a.pow(num(MINUS1))))
        add("diag",
            rewrite(a.diagm() * b).to(a.had(b), *same(a, b)),
            rewrite(b.T() * a.diagm()).to(a.had(b).T(), *same(a, b)),
            rewrite(a.diagm() * b.diagm()).to(a.had(b).diagm()),
            birewrite(a.diagm() + b.diagm()).to((a + b).diagm()),
            birewrite(a * b.diagm()).to((a * b).diagm(), *scalar(a)))
        add("inner product is a sum of a hadamard product; sum is linear",
            birewrite(a.T() * b).to((a.had(b)).total(), *column(a), *same(a, b)),
            birewrite((a + b).total()).to(a.total() + b.total(), *same(a, b)),
            birewrite((a * b).total()).to(a * b.total(), *scalar(a)))
        add("trace: cyclic, linear, of a scalar",
            rewrite((a * b).tr()).to((b * a).tr()),
            rewrite(a.tr()).to(a, *scalar(a)), rewrite(a.T().tr()).to(a.tr()),
            birewrite((a + b).tr()).to(a.tr() + b.tr(), *same(a, b)))
        add("det and logdet of products and inverses",
            birewrite((a * b).det()).to(a.det() * b.det(), *square(a), *square(b), eq(cols(a)).to(rows(b))),
            rewrite(a.inv().det()).to(a.det().pow(num(MINUS1))), rewrite(a.T().det()).to(a.det()),
            birewrite((a * b).logdet()).to(a.logdet() + b.logdet(), *square(a), *square(b),
                                           eq(cols(a)).to(rows(b))),
            rewrite(a.inv().logdet()).to(num(MINUS1) * a.logdet()),
            # a column a of the identity's size: for a scalar a, I + a a^T is a broadcast
            rule(eq(e).to((Mx.eye(r) + a * a.T()).det()), eq(rows(a)).to(r), *column(a)).then(
                union(e).with_(num(R1) + a.T() * a)),
            rule(eq(e).to((Mx.eye(r) + a * a.T()).inv() * a), eq(rows(a)).to(r), *column(a)).then(
                union(e).with_(a * (num(R1) + a.T() * a).pow(num(MINUS1)))))
        add("Kronecker mixed product",
            birewrite(a.kron(b) * c.kron(d)).to((a * c).kron(b * d), eq(cols(a)).to(rows(c)),
                                                eq(cols(b)).to(rows(d))),
            rewrite(Mx.eye(r).kron(a) * b.kron(c)).to(b.kron(a * c), eq(rows(b)).to(r), eq(cols(a)).to(rows(c))))
        add("elementwise functions: sigmoid, tanh, softmax, abs",
            rewrite(Mx.fn("sigmoid", num(MINUS1) * a)).to(num(R1) + num(MINUS1) * Mx.fn("sigmoid", a)),
            rewrite(num(R1) + num(MINUS1) * Mx.fn("sigmoid", a)).to(Mx.fn("sigmoid", num(MINUS1) * a)),
            rewrite(Mx.fn("exp", a) * Mx.fn("exp", a).total().pow(num(MINUS1))).to(a.softmax()),
            rewrite((Mx.fn("exp", a) + num(MINUS1) * Mx.fn("exp", num(MINUS1) * a)).had(
                (Mx.fn("exp", a) + Mx.fn("exp", num(MINUS1) * a)).epow(num(MINUS1)))).to(Mx.fn("tanh", a)),
            rewrite(Mx.fn("sign", a).had(Mx.fn("abs", a))).to(a),
            rewrite(Mx.fn("sign", a).had(a)).to(Mx.fn("abs", a)),
            rewrite(Mx.fn("sign", a).epow(num(TWO)).had(Mx.fn("abs", a))).to(Mx.fn("abs", a)),
            rewrite(Mx.fn("abs", a).epow(num(TWO))).to(a.epow(num(TWO))),
            rule(eq(e).to(a.had(a.epow(num(MINUS1)))), eq(r).to(rows(a)), eq(s).to(cols(a))).then(
                union(e).with_(Mx.ones(r, s))))
        return named, [item for _, items in named for item in items]

    # -- Expr <-> egglog --------------------------------------------------------------
    def to_egglog(self, e: E.Expr, graph, leaves: dict):
        Mx = self.Mx
        memo: dict = {}
        facts = []

        def dim(x):
            return str(x)

        def leaf(node, name):
            leaves[name] = node
            term = Mx.leaf(name)
            facts.append(G.set_(self.rows(term)).to(dim(node.shape[0])))
            facts.append(G.set_(self.cols(term)).to(dim(node.shape[1])))
            if node.op == "sym" and node.kind == "symmetric":
                facts.append(self.symmetric(term))
            return term

        def rat(q):
            return Mx.num(G.BigRat(q.numerator, q.denominator))

        def fold(op, items):
            out = items[0]
            for x in items[1:]:
                out = op(out, x)
            return out

        for node in E.postorder(e):
            args = [memo[x] for x in node.args]
            op = node.op
            if op == "sym":
                term = leaf(node, node.name)
            elif op == "let":
                term = leaf(node, node.value)
            elif op == "num":
                term = rat(node.value)
            elif op == "I":
                term = Mx.eye(dim(node.shape[0]))
            elif op == "ones":
                term = Mx.ones(dim(node.shape[0]), dim(node.shape[1]))
            elif op == "zero":
                term = Mx.zero(dim(node.shape[0]), dim(node.shape[1]))
            elif op == "add":
                term = fold(lambda x, y: x + y, args)
            elif op == "mul":
                coefficient = node.value[0]
                term = fold(lambda x, y: x * y, ([rat(coefficient)] if coefficient != 1 else []) + args)
            elif op == "had":
                term = fold(lambda x, y: x.had(y), args)
            elif op == "kron":
                term = fold(lambda x, y: x.kron(y), args)
            elif op == "T":
                term = args[0].T()
            elif op == "inv":
                term = args[0].inv()
            elif op == "mpow" and node.args[1].op == "num" and node.args[1].value.denominator == 1:
                term = args[0].mpow(int(node.args[1].value))
            elif op == "pow":
                term = args[0].pow(args[1])
            elif op == "epow":
                term = args[0].epow(args[1])
            elif op == "fn":
                term = Mx.fn(node.value, args[0])
            elif op == "norm":
                term = Mx.norm(node.value, args[0])
            elif op in ("tr", "det", "logdet", "diagm", "diagv", "vec", "softmax"):
                term = getattr(args[0], op)()
            elif op == "sum":
                term = args[0].total()
            elif op == "logsumexp":
                term = args[0].lse()
            else:                       # literals, entries, differentials: opaque to the e-graph
                term = leaf(node, f"_opaque{len(leaves)}")
            memo[node] = term
        return memo[e], facts

    def to_expr(self, term, leaves: dict, dims: dict) -> E.Expr:
        """An extracted term rebuilt through matcalc's constructors (so: canonical)."""
        Mx = self.Mx
        fn = G.get_callable_fn(term)
        args = G.get_callable_args(term) or ()
        go = lambda x: self.to_expr(x, leaves, dims)   # noqa: E731

        def text(x):
            return G.get_literal_value(x)

        def size(x):
            v = text(x)
            return dims.get(v, int(v) if v.isdigit() else v)
        table = {
            Mx.__add__: lambda: E.add(go(args[0]), go(args[1])),
            Mx.__mul__: lambda: E.mul(go(args[0]), go(args[1])),
            Mx.had: lambda: E.hadamard(go(args[0]), go(args[1])),
            Mx.kron: lambda: E.kron(go(args[0]), go(args[1])),
            Mx.T: lambda: E.transpose(go(args[0])),
            Mx.inv: lambda: E.inverse(go(args[0])),
            Mx.mpow: lambda: E.power(go(args[0]), E.number(text(args[1]))),
            Mx.pow: lambda: E.power(go(args[0]), go(args[1])),
            Mx.epow: lambda: E.elementwise_power(go(args[0]), go(args[1])),
            Mx.tr: lambda: E.trace(go(args[0])),
            Mx.det: lambda: _square_function("det", go(args[0])),
            Mx.logdet: lambda: _square_function("logdet", go(args[0])),
            Mx.diagm: lambda: E.diag(go(args[0])),
            Mx.diagv: lambda: E.diag(go(args[0])),
            Mx.total: lambda: E.total(go(args[0])),
            Mx.softmax: lambda: E.vector_function("softmax", go(args[0])),
            Mx.lse: lambda: E.vector_function("logsumexp", go(args[0])),
            Mx.vec: lambda: E.vec(go(args[0])),
            Mx.leaf: lambda: leaves[text(args[0])],
            Mx.num: lambda: E.number(_big_rat(args[0])),
            Mx.eye: lambda: E.identity(size(args[0])),
            Mx.ones: lambda: E.ones(size(args[0]), size(args[1])),
            Mx.zero: lambda: E.zeros((size(args[0]), size(args[1]))),
            Mx.fn: lambda: E.func(text(args[0]), go(args[1])),
            Mx.norm: lambda: E.norm(go(args[1]), text(args[0])),
        }
        for callable_, build in table.items():
            if fn == callable_:
                return build()
        raise ValueError(f"no Expr for {term}")

    def simplify(self, e: E.Expr):
        graph = self.graph
        graph.push()
        try:
            return self._simplify(e, graph)
        finally:
            graph.pop()

    def _simplify(self, e: E.Expr, graph):
        leaves: dict = {}
        term, facts = self.to_egglog(e, graph, leaves)
        dims = {str(d): d for node in E.postorder(e) for d in node.shape}
        if facts:
            graph.register(*facts)
        self.calls += 1
        root = graph.let(f"root{self.calls}", term)
        start = time.perf_counter()
        stop = "saturated"
        iterations = 0
        schedule = G.run(scheduler=G.back_off(match_limit=self.MATCH_LIMIT)) * self.CHUNK
        for iterations in range(self.CHUNK, self.ITERATIONS + 1, self.CHUNK):
            try:
                report = graph.run(schedule)
            except Exception as exc:            # noqa: BLE001 -- a dims conflict is an unsound rule
                return None, {"stop": f"error: {str(exc).splitlines()[0][:80]}", "nodes": 0,
                              "iterations": iterations, "seconds": time.perf_counter() - start}
            nodes = sum(count for _, count in graph.all_function_sizes())
            if not report.updated:
                break
            if nodes > self.NODE_LIMIT:
                stop = "node limit"
                break
            if time.perf_counter() - start > self.TIME_LIMIT:
                stop = "time limit"
                break
        else:
            stop = "iteration limit"
        best = graph.extract(root, cost_model=self.cost_model) if self.cost_model else graph.extract(root)
        seconds = time.perf_counter() - start
        nodes = sum(count for _, count in graph.all_function_sizes())
        return self.to_expr(best, leaves, dims), {"stop": stop, "nodes": nodes, "iterations": iterations,
                                                   "seconds": seconds}


def _square_function(name: str, a: E.Expr) -> E.Expr:
    """det or logdet through matcalc's constructor (E.det before the operator table, after it
    E.square_function(name, a): the engine is being refactored while this study runs)."""
    if hasattr(E, "square_function"):
        return E.square_function(name, a)
    return getattr(E, name)(a)


def _big_rat(term) -> Fraction:
    numerator, denominator = (G.get_literal_value(G.get_callable_args(part)[0])
                              for part in G.get_callable_args(term))
    return Fraction(int(numerator), int(denominator))


# ---------------------------------------------------------------- prototype B: search

B_RULES = """\
scalar a, b, j, k
# the same identities as A, in the rules-file syntax; "both" marks the reversible ones
distribute-left        : A (B + C) => A B + A C                        # both
distribute-right       : (A + B) C => A C + B C                        # both
distribute-hadamard    : A .* (B + C) => A .* B + A .* C                # both
transpose-sum          : (A + B)^T => A^T + B^T                         # both
inverse-cancels-left   : X^-1 X => I
inverse-cancels-right  : X X^-1 => I
inverse-product        : inv(A B) => B^-1 A^-1  if square(A), square(B)
inverse-transposed-cancels-left  : inv(X)^T X^T => I
inverse-transposed-cancels-right : X^T inv(X)^T => I
inverse-power          : inv(X^k) => inv(X)^k
power-split            : X^k => X^(k - 1) X  if integer(k)
power-of-power         : (X^j)^k => X^(j k)  if integer(j), integer(k)
power-cancels-left     : X inv(X)^k => inv(X)^(k - 1)  if integer(k)
power-cancels-right    : inv(X)^k X => inv(X)^(k - 1)  if integer(k)
powers-cancel-left     : X^j inv(X)^k => inv(X)^(k - j)  if integer(j), integer(k)
powers-cancel-right    : inv(X)^k X^j => inv(X)^(k - j)  if integer(j), integer(k)
hadamard-quotient      : A .* A .^ -1 => A .^ 0
hadamard-factor        : A .* B - A .* C => A .* (B - C)
quotient-factor        : A ./ B - C ./ B => (A - C) ./ B
diag-times-vector      : diag(u) v => u .* v
row-times-diag         : v^T diag(u) => (u .* v)^T
diag-product           : diag(u) diag(v) => diag(u .* v)
inner-is-sum           : u^T v => sum(u .* v)                            # both
trace-cyclic           : tr(A B) => tr(B A)
det-product            : det(A B) => det(A) det(B)  if square(A), square(B)
logdet-product         : logdet(A B) => logdet(A) + logdet(B)  if square(A), square(B)
logdet-inverse         : logdet(X^-1) => -logdet(X)
det-lemma              : det(I + u u^T) => 1 + u^T u
push-through           : inv(I + u u^T) u => u / (1 + u^T u)
kron-mixed             : kron(A, B) kron(C, D) => kron(A C, B D)          # both
sigmoid-odd            : sigmoid(-A) => 1 - sigmoid(A)                    # both
softmax-from-exp       : exp(u) / sum(exp(u)) => softmax(u)
softmax-diag           : diag(exp(u)) / sum(exp(u)) => diag(softmax(u))
softmax-outer          : exp(u) exp(u)^T / sum(exp(u))^2 => softmax(u) softmax(u)^T
tanh-from-exp          : (exp(A) - exp(-A)) ./ (exp(A) + exp(-A)) => tanh(A)
sign-abs               : sign(A) .* abs(A) => A
sign-times             : sign(A) .* A => abs(A)
sign-square            : sign(A) .* A .^ 2 => A .* abs(A)
sign-squared-abs       : sign(A) .^ 2 .* abs(A) => abs(A)
abs-squared            : abs(A) .^ 2 => A .^ 2
transpose-symmetric    : X^T => X  if symmetric(X)
"""


class SearchPrototype:
    """Best-first search: a state is a canonical Expr; a move applies one identity at one
    place (matcalc.rules.match on every subexpression, and on every window of a product's
    chain and every pair of a sum's terms); the beam keeps the K smallest by tokens."""

    BEAM = 12
    EXPANSIONS = 150
    TIME_LIMIT = 5.0

    def __init__(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "study.rules"
            path.write_text(B_RULES, encoding="utf-8")
            rules = R.load_rules(path)
        both = {line.split(":")[0].strip() for line in B_RULES.splitlines() if line.endswith("# both")}
        self.moves = []
        for rule in rules:
            self.moves.append((rule.name, rule.lhs, rule.rhs, rule.guards))
            if rule.name in both:
                self.moves.append((rule.name + " (reversed)", rule.rhs, rule.lhs, rule.guards))
        self.identities = len(rules)
        self.cost_memo: dict = {}

    def cost(self, e: E.Expr) -> int:
        found = self.cost_memo.get(e)
        if found is None:
            try:
                found = tokens(printed(e))
            except Exception:   # noqa: BLE001 -- a form the printer cannot print is not a candidate
                found = 10 ** 6
            self.cost_memo[e] = found
        return found

    def _guards(self, guards, bindings) -> bool:
        for guard, variable in guards:
            bound = bindings[variable]
            if guard == "square" and bound.shape[0] != bound.shape[1]:
                return False
            if guard == "symmetric" and not is_symmetric(bound):
                return False
            if guard == "integer" and not (bound.op == "num" and bound.value.denominator == 1):
                return False
        return True

    def _rewrites_at(self, node: E.Expr):
        """Every expression one identity turns node into (at node itself, or at a window of
        its product chain, or at a pair of its sum's terms)."""
        from matcalc.simplify import factor_sum
        out = []
        for _, lhs, rhs, guards in self.moves:
            for bindings, rebuild in _matches(lhs, node):
                if self._guards(guards, bindings):
                    try:
                        out.append(rebuild(R.instantiate(rhs, bindings)))
                    except Exception:   # noqa: BLE001 -- ill-shaped instance (a guard the rule lacks)
                        pass
        factored = factor_sum(node)
        if factored is not node:
            out.append(factored)
        return out

    def neighbours(self, e: E.Expr):
        """e with one subexpression rewritten, each in every way."""
        out = []
        for node in E.postorder(e):
            for replacement in self._rewrites_at(node):
                try:
                    out.append(E.substitute(e, {node: replacement}))
                except Exception:   # noqa: BLE001 -- the replacement does not fit its place
                    pass
        return out

    def simplify(self, e: E.Expr):
        start = time.perf_counter()
        best, best_cost = e, self.cost(e)
        frontier = [(best_cost, 0, e)]
        seen = {e}
        expansions = 0
        counter = 1
        stop = "exhausted"
        while frontier:
            if expansions >= self.EXPANSIONS:
                stop = "expansion limit"
                break
            if time.perf_counter() - start > self.TIME_LIMIT:
                stop = "time limit"
                break
            _, _, state = heapq.heappop(frontier)
            expansions += 1
            for nxt in self.neighbours(state):
                if nxt in seen:
                    continue
                seen.add(nxt)
                c = self.cost(nxt)
                if c < best_cost:
                    best, best_cost = nxt, c
                heapq.heappush(frontier, (c, counter, nxt))
                counter += 1
            frontier = heapq.nsmallest(self.BEAM, frontier)
            heapq.heapify(frontier)
        return best, {"stop": stop, "expansions": expansions, "states": len(seen),
                      "seconds": time.perf_counter() - start}


def _matches(lhs: E.Expr, node: E.Expr):
    """(bindings, rebuild) for each place at node where lhs matches: node itself, a window
    of a product chain, or a choice of terms of a sum or hadamard product."""
    b = R.match(lhs, node, {})
    if b is not None:
        yield b, lambda new: new
    if lhs.op == "mul" and node.op == "mul":
        q, scalars, chain = E.mul_parts(node)
        lhs_q, lhs_scalars, lhs_chain = E.mul_parts(lhs)
        width = len(lhs_chain)
        for start in range(len(chain) - width + 1):
            window = chain[start:start + width]
            if not lhs_scalars and lhs_q == 1:     # a window of the chain; scalars stay outside
                if width == len(chain) and not scalars and q == 1:
                    break
                b = R.match_all(lhs_chain, window, {})
                if b is not None:
                    yield b, (lambda new, s=start: E.mul(E.number(q), *scalars, *chain[:s], new,
                                                         *chain[s + width:]))
            elif width < len(chain):                # the window with every scalar factor (they commute)
                b = R.match(lhs, E.mul(E.number(q), *scalars, *window), {})
                if b is not None:
                    yield b, (lambda new, s=start: E.mul(*chain[:s], new, *chain[s + width:]))
    if lhs.op in ("add", "had") and node.op == lhs.op and len(node.args) > len(lhs.args):
        combine = E.add if node.op == "add" else E.hadamard
        for chosen, b in R._distinct_matches(list(lhs.args), node.args, {}):
            rest = [x for i, x in enumerate(node.args) if i not in chosen]
            yield b, (lambda new, rest=rest: combine(new, *rest))


def is_symmetric(e: E.Expr) -> bool:
    """Symmetric by structure: declared, I, diag, S^-1 and S^k of a symmetric S, X X^T,
    sums and scalar multiples of symmetric ones (the analysis A derives by rules)."""
    if e.shape[0] != e.shape[1]:
        return False
    if E.transpose(e) is e:
        return True
    if e.op in ("inv", "mpow"):
        return is_symmetric(e.args[0])
    if e.op == "add":
        return all(is_symmetric(t) for t in e.args)
    if e.op == "mul":
        _, _, chain = E.mul_parts(e)
        if len(chain) == 1:
            return is_symmetric(chain[0])
        flipped = [E.transpose(f) for f in reversed(chain)]
        return all(f is g or (is_symmetric(f) and f is E.transpose(g)) for f, g in zip(chain, flipped))
    return False


# ---------------------------------------------------------------- the display pass, shared

def _transpose_outside(node: E.Expr):
    """A product or Kronecker product written as the transpose of its transpose, kept as a
    T node: matcalc's constructors push a transpose into products (E.transpose), so this
    form exists only for display (-(X^-1 C A X^-1)^T beside -inv(X)^T A^T C^T inv(X)^T)."""
    if node.op == "mul":
        q, scalars, chain = E.mul_parts(node)
        if len(chain) < 2 or sum(f.op == "T" or f.is_row for f in chain) < 2:
            return None
        inner = E.mul(*[E.transpose(f) for f in reversed(chain)])
        return E.mul(E.number(q), *scalars, E._make("T", (inner,), None, (inner.shape[1], inner.shape[0])))
    if node.op == "kron" and all(f.op == "T" for f in node.args):
        inner = E.kron(*[f.args[0] for f in node.args])
        return E._make("T", (inner,), None, (inner.shape[1], inner.shape[0]))
    return None


def display_form(e: E.Expr) -> E.Expr:
    """Greedy, bottom-up: take each transpose-outside rewrite that prints shorter."""
    best, best_tokens = e, tokens(printed(e))
    for node in E.postorder(e):
        outside = _transpose_outside(node)
        if outside is None:
            continue
        try:
            candidate = E.substitute(best, {node: outside})
            candidate_tokens = tokens(printed(candidate))
        except Exception:       # noqa: BLE001 -- not printable: keep what we have
            continue
        if candidate_tokens < best_tokens:
            best, best_tokens = candidate, candidate_tokens
    return best


# precedence levels of emit_text (SYNTAX.md): a child below its parent's level is parenthesised
_SUM, _PRODUCT, _POWER, _POSTFIX, _ATOM = 1, 2, 4, 5, 6


class PrintedTokenCost:
    """An egglog cost model that counts printed tokens, parentheses included: a cost is
    (tokens, precedence of the printed top), so a parent adds 2 for a child it must wrap.
    Called once per e-node from Python, so it costs time in proportion to the e-graph.
    Only with --printed-token-cost: egglog 13.2's extractor assumes costs that add up, and
    with these it panicked (extract.rs unwrap on None) or returned an ill-shaped term."""

    def __init__(self):
        self.own = {Mx.__add__: (1, _SUM), Mx.__mul__: (0, _PRODUCT), Mx.had: (1, _PRODUCT),
                    Mx.kron: (4, _ATOM), Mx.T: (1, _POSTFIX), Mx.mpow: (2, _POWER), Mx.pow: (1, _POWER),
                    Mx.epow: (1, _POWER), Mx.fn: (2, _ATOM), Mx.norm: (2, _ATOM)}
        for unary in (Mx.tr, Mx.det, Mx.logdet, Mx.diagm, Mx.diagv, Mx.total, Mx.softmax, Mx.lse, Mx.vec):
            self.own[unary] = (3, _ATOM)

    def __call__(self, egraph, expr, children_costs):
        fn = G.get_callable_fn(expr)
        if fn in (Mx.leaf, Mx.eye, Mx.ones, Mx.zero):
            return (1, _ATOM)
        if fn == Mx.num:
            try:
                q = _big_rat(G.get_callable_args(expr)[0])
                return (1 + (q < 0) + 2 * (q.denominator != 1), _ATOM if q >= 0 else _PRODUCT)
            except Exception:   # noqa: BLE001 -- a number in another form: count it as one token
                return (1, _ATOM)
        if fn == Mx.inv:
            tokens, level = children_costs[0]
            return (tokens + 1, _POSTFIX) if level == _ATOM else (tokens + 3, _ATOM)
        if fn not in self.own:
            return (0, _ATOM)                   # a primitive: a name, an exponent, a number's parts
        own, level = self.own[fn]
        total = own
        for tokens, child_level in children_costs:
            total += tokens + (2 if child_level < level and level != _ATOM else 0)
        return (total, level)


class EgglogThenSearch:
    """A's extraction, then B's search from it, ranked by the real printed tokens: whether
    the e-graph's misses are its cost model's (a short polish fixes them) or its rules'."""

    def __init__(self, egraph: EgglogPrototype, search: SearchPrototype):
        self.egraph, self.search = egraph, search

    def simplify(self, e: E.Expr):
        found, info = self.egraph.simplify(e)
        if found is None:
            return None, info
        polished, more = self.search.simplify(found)
        return polished, {**info, "search expansions": more["expansions"]}


class DisplayOnly:
    """The display pass alone on matcalc's answer, to separate its share from the search's."""

    def simplify(self, e: E.Expr):
        return e, {}


# ---------------------------------------------------------------- the study

@dataclass
class Outcome:
    text: str
    tokens: int
    correct: bool
    seconds: float
    info: dict


def run_prototype(prototype, e: E.Expr) -> Outcome:
    start = time.perf_counter()
    try:
        result, info = prototype.simplify(e)
    except Exception as exc:    # noqa: BLE001 -- reported in the table, the study goes on
        return Outcome(f"error: {type(exc).__name__}: {str(exc)[:60]}", 0, False,
                       time.perf_counter() - start, {})
    if result is None:
        return Outcome(info["stop"], 0, False, time.perf_counter() - start, info)
    result = display_form(result)
    seconds = time.perf_counter() - start
    text = printed(result)
    candidate_tokens = tokens(text)
    if candidate_tokens >= tokens(printed(e)):      # no shorter form found: the input stands
        return Outcome(printed(e), tokens(printed(e)), True, seconds, info)
    return Outcome(text, candidate_tokens, values_agree(e, result), seconds, info)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def product() -> int:
    """The product (matcalc.simplify with matcalc/search.py, as every diff now runs it) on the
    corpus: tokens of str(matcalc.diff(...)) against the book's, with the book's form also
    read and printed by matcalc (so both are in the answer's spelling of the inverse); the
    issue's rows in every layout; the adversarial inputs through search.shortest."""
    from matcalc import search
    ratios, spelled, seconds = [], [], []
    print(f"corpus: {len(CORPUS)} rows; answer = str(matcalc.diff(...)); tokens by matcalc.syntax's lexer")
    for row in CORPUS:
        start = time.perf_counter()
        d = matcalc.diff(row.text, row.wrt, **row.options)
        seconds.append(time.perf_counter() - start)
        answer = str(d)
        ratio = tokens(answer) / tokens(row.book)
        ratios.append((ratio, row.id))
        options = {k: v for k, v in row.options.items() if k in ("scalars", "symmetric")}
        declarations = row.text.rsplit(";", 1)[0] + "; " if ";" in row.text and ";" not in row.book else ""
        try:
            book = matcalc.parse(declarations + row.book, **options)
            book_text = to_text(book, inverse="call" if "inv(" in row.text and "^-1" not in row.text else "postfix")
            spelled.append(tokens(answer) / tokens(book_text))
        except Exception:       # noqa: BLE001 -- a book form the reader cannot size alone: as written
            spelled.append(ratio)
        print(f"{row.id:22} {tokens(answer):3d} / book {tokens(row.book):3d} = {ratio:4.2f}  "
              f"{seconds[-1] * 1000:6.0f} ms  {answer}{'' if book_value_agrees(row, d.expr) else '  <-- not equal to the book'}")
    values = [r for r, _ in ratios]
    for label, column in (("against the book as written", values), ("against the book in the answer's spelling", spelled)):
        print(f"ratio {label}: median {statistics.median(column):.2f}  p90 {percentile(column, 0.9):.2f}  "
              f"max {max(column):.2f}  > 1.5: {sum(r > 1.5 for r in column)}  <= 1.0: {sum(r <= 1.0 for r in column)}")
    print("worst ten: " + ", ".join(f"{i} {r:.2f}" for r, i in sorted(ratios, reverse=True)[:10]))
    print(f"diff time: median {statistics.median(seconds) * 1000:.1f} ms, max {max(seconds) * 1000:.0f} ms, "
          f"total {sum(seconds):.1f} s")
    print("\n## the issue's table in every layout")
    for row in CORPUS[:9]:
        for layout in ("mixed", "numerator", "denominator"):
            answer = str(matcalc.diff(row.text, row.wrt, layout=layout, **row.options))
            print(f"{row.id:20} {layout:11} {tokens(answer):3d}  {answer}")
        print(f"{'':20} {'book':11} {tokens(row.book):3d}  {row.book}")
    print("\n## adversarial inputs through search.shortest (budget: "
          f"{search.MAX_EXPANSIONS} expansions, {search.MAX_STATES} states, beam {search.BEAM}, "
          f"patience {search.PATIENCE}, time limit {search.TIME_LIMIT} s)")
    names = "abcdefghjklq"
    cases = [(f"sum of {n} terms A_i x", " + ".join(f"{names[i].upper()} x" for i in range(n))) for n in (4, 6, 8, 12)]
    cases.append(("product of 6 sums (A_i + B_i)", " ".join(f"(A{i} + B{i})" for i in range(6))))
    cases.append(("sum of 6 outer products (a + b_i)(a + b_i)^T",
                  " + ".join(f"(a + {names[i]}) (a + {names[i]})^T" for i in range(1, 7))))
    for label, text in cases:
        e = matcalc.parse(text)
        search._results.clear()
        start = time.perf_counter()
        found = search.shortest(e)
        took = time.perf_counter() - start
        print(f"{label:46} {tokens(printed(e)):3d} -> {tokens(printed(found)):3d} tokens in {took:.2f} s"
              f"{'' if values_agree(e, found) else '  WRONG'}")
    return 0


def main() -> int:
    if "--product" in sys.argv:
        return product()
    prototypes = {}
    if G is None:
        print("egglog is not installed (pip install egglog): prototype A (e-graph) is skipped")
    else:
        prototypes["A e-graph"] = EgglogPrototype()
        if "--printed-token-cost" in sys.argv:
            prototypes["T e-graph, printed-token cost"] = EgglogPrototype(PrintedTokenCost())
    prototypes["B search"] = SearchPrototype()
    if G is not None:
        prototypes["P e-graph then search"] = EgglogThenSearch(prototypes["A e-graph"], SearchPrototype())
    prototypes["D display pass only"] = DisplayOnly()
    if "--identity-table" in sys.argv:
        return identity_table(prototypes)
    print(f"corpus: {len(CORPUS)} rows; tokens by matcalc.syntax's lexer")
    if G is not None:
        egraph = prototypes["A e-graph"]
        print(f"A: {len(egraph.rules)} egglog rules in {len(egraph.groups)} groups: "
              + "; ".join(name for name, _ in egraph.groups))
    search = prototypes["B search"]
    print(f"B: {search.identities} rules-file identities, {len(search.moves)} moves with the reversed ones, "
          f"and matcalc.simplify.factor_sum\n")
    results = []
    diff_seconds: list = []
    for row in CORPUS:
        options = {k: v for k, v in row.options.items()}
        d = matcalc.diff(row.text, row.wrt, **options)
        e = d.expr
        base = printed(e)
        outcome = {name: run_prototype(p, e) for name, p in prototypes.items()}
        diff_seconds.append(_diff_seconds(row))     # beside the row's prototypes: the same load
        results.append((row, e, base, outcome, book_value_agrees(row, e)))
        cells = "  ".join(f"{name[0]}:{o.tokens:3d}{'' if o.correct else ' WRONG'} {o.seconds:5.2f}s"
                          for name, o in outcome.items())
        print(f"{row.id:22} matcalc {tokens(base):3d}  book {tokens(row.book):3d}  {cells}")
    report(results, prototypes, diff_seconds)
    print(f"matcalc.diff itself on these rows: median {statistics.median(diff_seconds) * 1000:.1f} ms, "
          f"max {max(diff_seconds) * 1000:.1f} ms (least of 3)")
    adversarial(prototypes)
    return 0


def _diff_seconds(row: Row) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        matcalc.diff(row.text, row.wrt, **row.options)
        best = min(best, time.perf_counter() - start)
    return best


def report(results, prototypes, diff_seconds):
    print("\n## per row: matcalc today / A / B / the book (tokens), A's and B's text")
    for row, e, base, outcome, book_ok in results:
        print(f"\n{row.id}: {row.text}  by {row.wrt} {row.options or ''}")
        print(f"  matcalc {tokens(base):3d}  {base}")
        for name, o in outcome.items():
            extra = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in o.info.items())
            print(f"  {name[0]}       {o.tokens:3d}  {o.text}{'' if o.correct else '   <-- WRONG VALUE'}  [{extra}]")
        print(f"  book    {tokens(row.book):3d}  {row.book}{'' if book_ok else '   (book form not checked equal)'}")
    print("\n## ratio (tokens of the answer) / (tokens of the book's form)")
    columns = {"matcalc today": [tokens(base) / tokens(row.book) for row, _, base, _, _ in results]}
    for name in prototypes:
        columns[name] = [o[name].tokens / tokens(row.book) if o[name].correct else float("inf")
                         for row, _, _, o, _ in results]
    for name, ratios in columns.items():
        finite = [r for r in ratios if r != float("inf")]
        print(f"{name:14} median {statistics.median(finite):.2f}  p90 {percentile(finite, 0.9):.2f}  "
              f"max {max(finite):.2f}  > 1.5: {sum(r > 1.5 for r in ratios)}  <= 1.0: {sum(r <= 1.0 for r in ratios)}"
              f"  wrong: {sum(r == float('inf') for r in ratios)}")
    for name, ratios in columns.items():
        worst = sorted(zip(ratios, (row.id for row, *_ in results)), reverse=True)[:10]
        print(f"worst ten, {name}: " + ", ".join(f"{i} {r:.2f}" for r, i in worst))
    for name in prototypes:
        times = [o[name].seconds for _, _, _, o, _ in results]
        print(f"time {name}: median {statistics.median(times):.3f} s, max {max(times):.3f} s, "
              f"total {sum(times):.1f} s")
        relative = [t / d for t, d in zip(times, diff_seconds)]
        print(f"  relative to matcalc.diff on the same row (measured in this run): median "
              f"{statistics.median(relative):.0f}x, p90 {percentile(relative, 0.9):.0f}x")
        stops = {}
        for _, _, _, o, _ in results:
            stops[o[name].info.get("stop", "?")] = stops.get(o[name].info.get("stop", "?"), 0) + 1
        print(f"  stopped by: {stops}")
        if name.startswith("A"):
            nodes = [o[name].info.get("nodes", 0) for _, _, _, o, _ in results]
            print(f"  e-graph nodes (e-nodes + function rows): median {statistics.median(nodes):.0f}, "
                  f"max {max(nodes)}")
    print("book forms that matcalc read and found equal to its answer: "
          f"{sum(ok for *_, ok in results)} of {len(results)}")


def identity_table(prototypes) -> int:
    """Soundness beyond the corpus: every row of tests/test_identities.py in every layout,
    each prototype's answer checked against matcalc's at random points."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import test_identities
    counts = {name: {"wrong": 0, "shorter": 0, "seconds": []} for name in prototypes}
    cases = 0
    for row in test_identities.ROWS:
        for layout in ("mixed", "numerator", "denominator"):
            d = matcalc.diff(row.expr, row.wrt, layout=layout, **row.decl)
            if d.is_tensor:
                continue
            cases += 1
            for name, prototype in prototypes.items():
                outcome = run_prototype(prototype, d.expr)
                tally = counts[name]
                tally["seconds"].append(outcome.seconds)
                if not outcome.correct:
                    tally["wrong"] += 1
                    print(f"  {name}: {row.id} ({layout}) {outcome.text}  <-- WRONG or failed")
                elif outcome.tokens < tokens(printed(d.expr)):
                    tally["shorter"] += 1
    print(f"identity table: {cases} results ({len(test_identities.ROWS)} rows x 3 layouts, tensors left out)")
    for name, tally in counts.items():
        times = tally["seconds"]
        print(f"{name:24} wrong or failed {tally['wrong']:3d}  shorter {tally['shorter']:3d}  "
              f"time median {statistics.median(times) * 1000:.0f} ms, max {max(times):.2f} s, total {sum(times):.0f} s")
    return 0


def adversarial(prototypes):
    print("\n## adversarial inputs (simplify the expression itself)")
    names = ["a", "b", "c", "d", "e", "f", "g", "h", "j", "k", "l", "q"]
    cases = []
    for n in (4, 6, 8, 12):
        cases.append((f"sum of {n} terms A_i x", " + ".join(f"{names[i].upper()} x" for i in range(n)), {}))
    for n in (6,):
        cases.append((f"product of sums, {n} factors", " ".join(f"(A{i} + B{i})" for i in range(n)), {}))
    for n in (4, 8, 12):
        cases.append((f"chain of {n} transposed products", "(" * n + "A" + "".join(f" B{i})^T" for i in range(n)), {}))
    for n in (6,):
        cases.append((f"sum of {n} outer products (distribute+factor)",
                      " + ".join(f"(a + {names[i]}) (a + {names[i]})^T" for i in range(1, n + 1)), {}))
    for label, text, options in cases:
        e = matcalc.parse(text, **options)
        cells = []
        for name, p in prototypes.items():
            o = run_prototype(p, e)
            info = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in o.info.items())
            cells.append(f"{name[0]}: {o.tokens} tokens{'' if o.correct else ' WRONG'} in {o.seconds:.2f} s [{info}]")
        print(f"{label:42} input {tokens(printed(e)):3d} tokens; " + "; ".join(cells))


if __name__ == "__main__":
    sys.exit(main())
