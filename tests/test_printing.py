"""Printed text reads back as the same value.

A hypothesis strategy builds random expressions with matcalc's own constructors (so
they are in the canonical forms derivatives come in: ones vectors, zero vectors,
identities, sizes, reciprocals, symbolic exponents, transposes of products...).  Each
is printed with `to_text`, read back with `matcalc.parse` and the same declarations,
and both are evaluated at a random point with NumPy: the values must agree, with the
same shape.  Only the outermost shape of the text may be left to the reader (the CLI
prints it on the next line): `2 I` reads back with an unnamed size, given here.
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

import matcalc
from matcalc import expr as E
from matcalc.evaluate_numpy import evaluate
from matcalc.emit_text import to_text
from matcalc.errors import MatcalcError

SIZES = {"n": 3, "m": 2}
DECLARE = ("x: vector[n]", "y: vector[m]", "A: matrix[n,n]", "B: matrix[n,m]", "C: matrix[m,m]",
           "S: symmetric[n]")
SCALARS = ("a", "b")
SYMBOLS = {
    "a": E.symbol("a", (1, 1), "scalar"), "b": E.symbol("b", (1, 1), "scalar"),
    "x": E.symbol("x", ("n", 1), "vector"), "y": E.symbol("y", ("m", 1), "vector"),
    "A": E.symbol("A", ("n", "n"), "matrix"), "B": E.symbol("B", ("n", "m"), "matrix"),
    "C": E.symbol("C", ("m", "m"), "matrix"), "S": E.symbol("S", ("n", "n"), "symmetric"),
}
DIMS = ("n", "m")
SCALAR = (1, 1)


def _size(d) -> int:
    if isinstance(d, int):
        return d
    total = 1
    for part in d.split("*"):
        total *= int(part) if part.isdigit() else SIZES[part]
    return total


def point(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    env = {}
    for name, s in SYMBOLS.items():
        rows, cols = _size(s.shape[0]), _size(s.shape[1])
        value = rng.uniform(0.3, 1.3, size=(rows, cols))
        if s.kind == "symmetric":
            value = (value + value.T) / 2
        if rows == cols and rows > 1:
            value = value + rows * np.eye(rows)
        env[name] = value
    return env


class Builder:
    """Random canonical expressions of a requested shape."""

    def __init__(self, draw):
        self.draw = draw
        self.definitions = 0

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def leaf(self, shape):
        rows, cols = shape
        options = ["ones", "zero"]
        if shape == SCALAR:
            return self.pick([SYMBOLS["a"], SYMBOLS["b"], E.number(self.pick([2, 3, -1, Fraction(1, 2)])),
                              E.trace(E.identity(self.pick(DIMS))), E.total(E.ones(self.pick(DIMS), 1))])
        symbols = [s for s in SYMBOLS.values() if s.shape == shape]
        transposed = [E.transpose(s) for s in SYMBOLS.values() if s.shape == (cols, rows) and not s.is_scalar]
        if rows == cols:
            options.append("I")
        choice = self.pick(options + ["symbol"] * 2 * bool(symbols + transposed))
        if choice == "ones":
            return E.ones(rows, cols)
        if choice == "zero":
            return E.zeros(shape)
        if choice == "I":
            return E.identity(rows)
        return self.pick(symbols + transposed)

    def scalar(self, depth):
        return self.expr(SCALAR, depth)

    def expr(self, shape, depth):
        if depth <= 0 or self.draw(st.integers(0, 4)) == 0:
            return self.leaf(shape)
        rows, cols = shape
        d = depth - 1
        builders = ["add", "neg", "scale", "product", "transpose", "hadamard", "epow", "function"]
        if shape == SCALAR:
            builders += ["trace", "total", "norm", "power", "logsumexp", "entry", "det", "literal_sum",
                         "reciprocal", "exp_power", "vec", "kron", "commutation"]
        if rows == cols and shape != SCALAR:
            builders += ["inverse", "mpow", "diag_of_column", "kron_identity"]
        if cols == 1 and shape != SCALAR:
            builders += ["softmax", "diag_of_matrix"]
        builders += ["named", "shared"]
        kind = self.pick(builders)
        if kind == "named":        # an intermediate, printed as a statement `h1 = ...;`
            self.definitions += 1
            return E.named(f"h{self.definitions}", self.expr(shape, d))
        if kind == "shared":       # printed once, as u1 = ...
            part = self.expr(shape, d)
            return E.add(part, E.hadamard(part, E.func("cos", part)))
        if kind == "add":
            return E.add(self.expr(shape, d), self.expr(shape, d))
        if kind == "neg":
            return E.neg(self.expr(shape, d))
        if kind == "scale":
            return E.mul(self.scalar(d), self.expr(shape, d))
        if kind == "product":
            inner = self.pick(DIMS + (1,))
            return E.mul(self.expr((rows, inner), d), self.expr((inner, cols), d))
        if kind == "transpose":
            return E.transpose(self.expr((cols, rows), d))
        if kind == "hadamard":
            return E.hadamard(self.expr(shape, d), self.expr(shape, d))
        if kind == "epow":
            exponent = self.pick([E.number(2), E.number(Fraction(3, 2)), E.number(-1), SYMBOLS["a"],
                                  E.mul(SYMBOLS["a"], SYMBOLS["b"]), E.neg(SYMBOLS["b"])])
            return E.elementwise_power(E.func("exp", self.expr(shape, d)), exponent)
        if kind == "function":
            return E.func(self.pick(["exp", "sin", "cos", "tanh", "sigmoid", "abs", "softplus"]),
                          self.expr(shape, d))
        if kind == "trace":
            n = self.pick(DIMS)
            return E.trace(self.expr((n, n), d))
        if kind == "total":
            return E.total(self.expr(self.pick([("n", 1), ("m", "n"), ("n", "n")]), d))
        if kind == "norm":
            which = self.pick(["2", "F", "1"])
            inner = ("m", 1) if which != "F" else ("n", "m")
            return E.norm(self.expr(inner, d), which)
        if kind == "power":
            base = E.func("exp", self.scalar(d))
            return E.power(base, self.scalar(d))
        if kind == "exp_power":
            return E.power(E.func("exp", self.scalar(d)), self.pick([E.total(self.expr(("n", 1), d)),
                                                                   E.norm(self.expr(("n", 1), d), "2"),
                                                                   E.neg(SYMBOLS["a"]),
                                                                   E.number(Fraction(-1, 2))]))
        if kind == "reciprocal":
            return E.divide(self.scalar(d), E.add(E.number(2), E.func("exp", self.scalar(d))))
        if kind == "logsumexp":
            return E.vector_function("logsumexp", self.expr((self.pick(DIMS), 1), d))
        if kind == "entry":
            return E.entry(self.expr(("n", "m"), d), 2, 1)
        if kind == "det":
            return E.call("det", self.expr(("m", "m"), d))
        if kind == "literal_sum":
            return E.total(E.literal([[self.scalar(d)], [self.scalar(d)]]))
        if kind == "inverse":
            return E.inverse(E.add(E.mul(E.number(4), E.identity(rows)), E.func("sin", self.expr(shape, d))))
        if kind == "mpow":
            return E.power(self.expr(shape, d), E.number(self.pick([2, 3])))
        if kind == "diag_of_column":
            return E.diag(self.expr((rows, 1), d))
        if kind == "kron_identity":
            return E.kron(E.identity(1), self.expr(shape, d))
        if kind == "softmax":
            return E.vector_function("softmax", self.expr(shape, d))
        if kind == "diag_of_matrix":
            return E.diag(self.expr((rows, rows), d))
        if kind == "vec":
            return E.norm(E.vec(self.expr(self.pick([("n", "m"), ("n", "n")]), d)), "2")
        if kind == "kron":
            return E.total(E.kron(self.expr(("n", 1), d), self.expr(self.pick([("m", 1), (1, "m")]), d)))
        if kind == "commutation":
            return E.total(E.mul(E.commutation("n", "m"), E.vec(self.expr(("n", "m"), d))))
        raise AssertionError(kind)


@st.composite
def expressions(draw):
    shape = draw(st.sampled_from([SCALAR, ("n", 1), ("m", 1), (1, "n"), ("n", "n"), ("n", "m"), ("m", "n")]))
    return Builder(draw).expr(shape, 4)


def read_back(text: str, original: E.Expr) -> np.ndarray:
    back = matcalc.parse(text, scalars=SCALARS, declare=DECLARE)
    dims = dict(SIZES)
    for mine, theirs in zip(back.shape, original.shape):
        if isinstance(mine, str) and mine not in dims:     # the outermost size, stated beside the text
            dims[mine] = _size(theirs)
    return evaluate(back, point_env, dims)


point_env = {name: value for name, value in point(1).items()}


def value_of(e: E.Expr) -> np.ndarray:
    return evaluate(e, point_env, SIZES)


def _multiple_of_ones(e: E.Expr) -> bool:
    return E.mul_parts(e)[2] in ((E.ones(*e.shape),),) and e.shape[1] == 1


def assert_reads_back(e: E.Expr, context=(), reject=assume, tell=note):
    """`reject(False)` drops a case whose point is undefined or whose read-back is refused
    for a stated reason (hypothesis's assume, or a failure for a fixed case)."""
    text = to_text(e, context=context)
    tell(f"printed: {text}")
    try:
        with np.errstate(all="ignore"):
            want = value_of(e)
    except MatcalcError:
        reject(False)
    reject(np.all(np.isfinite(want)) and np.max(np.abs(want), initial=0) < 1e8)
    try:
        with np.errstate(all="ignore"):
            got = read_back(text, e)
    except MatcalcError as exc:
        # the sizes of I and 1 inside kron(...) and vec(...) are left to the reader
        if "is not known" in str(exc) and ("kron(" in text or "vec(" in text):
            reject(False)
        raise
    if text == "0" or _multiple_of_ones(e) and got.shape == (1, 1):
        # a result that is zero is printed 0, one that is c 1 the number c: the shape is
        # stated beside it
        got = np.broadcast_to(got, want.shape)
    assert got.shape == want.shape, f"{text!r} reads back with shape {got.shape}, not {want.shape}"
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=text)


PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=400,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@PROPERTY
@given(expressions())
def test_random_expressions_read_back_as_the_same_value(e):
    """With the function's symbols in scope a constant's size is spelled with them (`0 x`)."""
    assert_reads_back(e, context=SYMBOLS.values())


# Found by the property above, kept
REGRESSIONS = [
    E.trace(E.diag(E.func("tanh", E.func("exp", E.ones("n", 1))))),     # diag(v) is sized by v alone
    E.mul(E.number(-1), E.ones("n", 1), E.ones(1, "m")),                  # -1 1^T: 1 is the number
    E.mul(E.ones("m", 1), E.ones(1, "n"), E.ones("n", 1)),                # 1 u^T v: 1 is the number
    E.zeros(("m", "n")),
]


@pytest.mark.parametrize("e", REGRESSIONS, ids=str)
def test_regressions_read_back(e):
    def reject(ok):
        assert ok, "the fixed case must be defined at the point and read back"
    assert_reads_back(e, context=SYMBOLS.values(), reject=reject, tell=print)


# Operands and exponents where a parenthesis too few reads back as something else
PRECEDENCE = [
    "a^(b c)", "a^(-b)", "(a^b)^c", "a^(b^c)", "a^(1/2)", "a^(-1/2)", "(2/3)^a", "2^(a + b)",
    "exp(x) .^ (a b)", "exp(x) .^ (-a)", "(exp(x) .^ a) .^ b", "-(x^T x)", "-(x^T x)^2", "(A S)^-1",
    "inv(A + S)", "(A^2)^T", "(A^T)^2", "(A^-1)^T", "inv(A^T A)^2", "(A B)^T", "||x + z||", "||x - z||^2",
    "||2 x|| ||z||", "a^(sum(x))", "det(A)^(sum(x))", "a^(||x||)", "a^(tr(A))", "a^(x^T z)", "a^(x[1])",
    "(x^T z)^a", "sum(x)^(1/2)", "1 / (a b)", "a / (b + a)", "(a + b) x", "x (a + b)", "2 (1^T x)",
    "(1^T x) ones_not_a_name", "x .* (z + x)", "(x .* z) .^ 2", "x ./ (z .* x)", "1 ./ exp(x)",
    "kron(x, z + x)", "A^(2) x", "-x^T A x", "x^T (A + S) x", "tr((A + S)^2)",
]


@pytest.mark.parametrize("text", PRECEDENCE)
def test_precedence_cases_read_back(text):
    declared = {"scalars": SCALARS + ("c", "ones_not_a_name"), "declare": DECLARE + ("z: vector[n]",)}
    e = matcalc.parse(text, **declared)
    printed = to_text(e)
    back = matcalc.parse(printed, **declared)
    env = {**point_env, "c": np.array([[0.7]]), "ones_not_a_name": np.array([[1.3]]),
           "z": point_env["x"][::-1].copy()}
    want, got = evaluate(e, env, SIZES), evaluate(back, env, SIZES)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{text} printed {printed}")


# Sized constants where the text around them does not give the size (issue 12)
SIZED = [
    ("logsumexp(x - x) a^2", "a", "2 a logsumexp(0 x)"),
    ("||cos(x - x)|| a", "a", "||cos(0 x)||"),
    ("a^(sum(x))", "x", "log(a) a^(sum(x)) 1"),
    ("det(A)^(sum(x))", "x", "log(det(A)) det(A)^(sum(x)) 1"),
    ("H2 = 1'; H1 = H2; H1 x", "x", "H2 = (x .^ 0)^T; H1 = H2; H1^T"),
    ("sum(exp(B - B)) a", "a", "sum(exp(0 B))"),
    ("x^T x", "x", "2 x"),
]


@pytest.mark.parametrize("text, wrt, printed", SIZED)
def test_derivatives_print_sized_constants(text, wrt, printed):
    d = matcalc.diff(text, wrt, scalars=SCALARS, declare=DECLARE)
    result = str(d)
    assert result == printed == to_text(d.expr, context=d.analysis.symbols.values())
    values = {name: (value[0, 0] if name in SCALARS else value) for name, value in point_env.items()}
    want = np.atleast_2d(d.evaluate(values))
    got = read_back(result, d.expr)
    if _multiple_of_ones(d.expr):        # c 1 reads back as the number c, broadcast
        assert got.shape == (1, 1)
        got = np.broadcast_to(got, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ------------------------------------------------------------------ index notation
def index_form_tensor(d, values) -> np.ndarray:
    """The tensor the index form of d states, entry by entry, from its terms alone."""
    from itertools import product

    from matcalc.evaluate_at import bind
    form = d.index_form()
    env, dims = bind(d.analysis.symbols, values)
    names = form.f_indices + [i for _, _, ix in form.variables for i in ix]
    sizes = list(np.shape(d.evaluate(values)))
    cache = {}

    def entry(payload, indices, at):
        if payload not in cache:
            cache[payload] = evaluate(payload, env, dims)
        array = cache[payload]
        positions = [at[i] if isinstance(i, str) else i for i in indices]
        if array.shape[0] == 1 and array.shape[1] == 1:
            return array[0, 0]
        if array.shape[1] == 1:
            return array[positions[0], 0]
        if array.shape[0] == 1:
            return array[0, positions[0]]
        return array[positions[0], positions[1]]

    tensor = np.zeros(sizes)
    for place in product(*(range(s) for s in sizes)):
        at = dict(zip(names, place))
        total = 0.0
        for term in form.terms:
            value = float(term.coefficient)
            for kind, payload, indices in term.factors:
                if kind == "delta":
                    a, b = (at[i] if isinstance(i, str) else i for i in indices)
                    value *= float(a == b)
                else:
                    value *= entry(payload, indices, at)
            total += value
        tensor[place] = total
    return tensor


def _tensor_rows():
    import test_identities
    for row in test_identities.ROWS:
        yield pytest.param(row.expr, (row.wrt,), row.dims, row.decl, row.id, id=row.id)
    for hid, expr, variables, dims, _, decl in test_identities.HIGHER:
        yield pytest.param(expr, tuple(variables), dims, decl, hid, id=hid)


NETWORKS = [
    ("u1 = tanh(W1 x); u2 = tanh(W2 u1); ||u2 - y||^2", ("W1", "W2")),
    ("H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2", ("W1", "W2")),
    ("softmax(W x)", ("W",)), ("x[2] X + diag(x) X", ("X",)), ("S x", ("S",)),
    ("sigmoid(W x + b) .* (V x)", ("W",)), ("tr(X^T A X) x", ("X",)), ("A X B X^T", ("X",)),
]


@pytest.mark.parametrize("expression, variables, dims, decl, key", list(_tensor_rows()))
def test_index_form_states_the_tensor(expression, variables, dims, decl, key):
    import oracle
    d = matcalc.diff(expression, variables, **decl)
    if not d.is_tensor:
        pytest.skip("not a tensor: no index form")
    try:
        d.index_form()
    except MatcalcError as exc:
        assert "vec" in str(exc)       # refused, pointing at the vec form
        return
    values = oracle.to_matcalc(oracle.make_values(dims, oracle.seed_for(key)), dims)
    np.testing.assert_allclose(index_form_tensor(d, values), d.evaluate(values), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("symmetric_as", ["gradient", "entries"])
@pytest.mark.parametrize("expression, variables", NETWORKS)
def test_index_form_of_networks_states_the_tensor_and_its_definitions_once(expression, variables, symmetric_as):
    d = matcalc.diff(expression, variables, symmetric=("S",), symmetric_as=symmetric_as)
    assert d.is_tensor
    rng = np.random.default_rng(3)
    values = {}
    for name, s in d.analysis.symbols.items():
        shape = tuple(3 if isinstance(k, str) else k for k in s.shape)
        values[name] = rng.uniform(0.3, 1.3, size=shape) + (3 * np.eye(3) if shape == (3, 3) else 0)
        if s.kind == "symmetric":
            values[name] = (values[name] + values[name].T) / 2
    np.testing.assert_allclose(index_form_tensor(d, values), d.evaluate(values), rtol=1e-9, atol=1e-12)
    text = str(d.index_form())
    statements = [f"{n} = " for n in d.analysis.definitions]
    for s in statements:
        assert text.count(s) == 1, text
    result = text.rsplit("; ", 1)[-1] if statements else text
    assert result.startswith("∂") and " = " in result and ";" not in result, text


@settings(derandomize=True, database=None, max_examples=300)
@given(st.integers(-10**40, 10**40), st.integers(0, 60), st.integers(0, 60), st.integers(0, 3))
def test_numbers_print_exactly(numerator, twos, fives, threes):
    """Integers and fractions, scientific notation where it is shorter, read back exactly."""
    q = Fraction(numerator, 2 ** twos * 5 ** fives * 3 ** threes)
    assume(q != 0)
    e = E.mul(E.number(q), SYMBOLS["a"])
    text = to_text(e)
    assert matcalc.parse(text, scalars=SCALARS) is e, text
    assert len(text) <= len(f"{q.numerator}/{q.denominator} a") + 1


# ------------------------------------------------------------------ vec forms read back
def _free_dims(e: E.Expr, known: dict) -> list:
    names = set()
    for node in E.postorder(e):
        for dim in node.shape:
            if isinstance(dim, str):
                names.update(p for p in dim.split("*") if not p.isdigit() and p not in known)
    return sorted(names)


def _vec_rows():
    import test_identities
    for row in test_identities.ROWS:
        yield pytest.param(row.expr, (row.wrt,), row.dims, row.decl, row.id, id=row.id)
    for hid, expr, variables, dims, _, decl in test_identities.HIGHER:
        yield pytest.param(expr, tuple(variables), dims, decl, hid, id=hid)


@pytest.mark.parametrize("expression, variables, dims, decl, key", list(_vec_rows()))
def test_vec_forms_read_back_unambiguously(expression, variables, dims, decl, key):
    """The vec form leaves the sizes of I and 1 inside kron to the reader: the text reads
    back, and every choice of those sizes that gives the stated shape gives the same value,
    the derivative's."""
    from itertools import product

    import oracle
    from matcalc.evaluate_at import bind
    d = matcalc.diff(expression, variables, **decl)
    if not d.is_tensor:
        pytest.skip("not a tensor")
    if any("*" in str(dim) for s in d.analysis.symbols.values() for dim in s.shape):
        pytest.skip("a size such as k*m cannot be declared")
    vec = d.vec()
    values = oracle.to_matcalc(oracle.make_values(dims, oracle.seed_for(key)), dims)
    want = vec.evaluate(values)
    from matcalc.api import _declaration
    back = matcalc.parse(str(vec), declare=[_declaration(s) for s in d.analysis.symbols.values()])
    env, known = bind(d.analysis.symbols, values)
    free = _free_dims(back, known)
    if len(free) > 3:
        pytest.skip(f"{len(free)} sizes left to the reader: too many to try")
    # a size left to the reader is a factor of one of the stated sizes
    candidates = sorted({k for dim in want.shape for k in range(1, dim + 1) if dim % k == 0})
    readings = []
    for sizes in product(candidates, repeat=len(free)):
        try:
            with np.errstate(all="ignore"):
                got = evaluate(back, env, {**known, **dict(zip(free, sizes))})
        except (MatcalcError, ValueError):      # sizes that do not fit together
            continue
        if got.shape == want.shape:
            readings.append(got)
    assert readings, f"{vec} reads back with no sizes of the shape {want.shape}"
    for got in readings:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=str(vec))


# ------------------------------------------------------------------ assumptions in what is printed
SOFTMAX_LOSS = "-y^T log(softmax(W x + b))"


def test_an_assumption_given_apart_reads_as_the_statement_and_is_named_in_the_note():
    from matcalc.commands import answer
    inline = matcalc.diff(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    apart = matcalc.diff(SOFTMAX_LOSS, "b", assume="sum(y) = 1")
    assert apart.expr is inline.expr and str(apart) == str(inline)
    assert "· assume sum(y) = 1 ·" in apart.describe() and "assume" not in matcalc.diff(SOFTMAX_LOSS, "b").describe()
    status, out, err = answer(["diff", SOFTMAX_LOSS, "b", "--assume", "sum(y) = 1"])
    assert status == 0 and out.splitlines() == [str(inline), "# " + inline.describe()], err
    import json
    status, out, _ = answer(["diff", SOFTMAX_LOSS, "b", "--assume", "sum(y) = 1", "--format", "json"])
    document = json.loads(out)
    assert status == 0 and document["assumptions"] == ["assume sum(y) = 1"] and document["result"] == str(inline)


def test_a_bad_assumption_is_a_located_one_line_error():
    from matcalc.commands import answer
    status, out, err = answer(["diff", SOFTMAX_LOSS, "b", "--assume", "sum(y = 1"])
    assert status == 2 and out == "" and err.startswith("matcalc: ") and "^" in err


def test_codegen_self_test_is_refused_for_a_result_resting_on_an_assumption():
    from matcalc.commands import answer
    status, out, err = answer(["codegen", f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b", "--self-test"])
    assert status == 2 and out == "" and err.count("\n") == 1 and "assume sum(y) = 1" in err
    status, out, _ = answer(["codegen", f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b"])
    assert status == 0 and "def evaluate(" in out


def test_evaluating_where_an_assumption_fails_is_refused():
    d = matcalc.diff(f"assume sum(y) = 1; {SOFTMAX_LOSS}", "b")
    rng = np.random.default_rng(5)
    W, x, b = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=3)
    y = rng.uniform(0.1, 1.0, size=3)
    with pytest.raises(MatcalcError, match=r"assume sum\(y\) = 1"):
        d.evaluate({"W": W, "x": x, "b": b, "y": y})
    y = y / y.sum()
    s = np.exp(W @ x + b) / np.exp(W @ x + b).sum()
    np.testing.assert_allclose(d.evaluate({"W": W, "x": x, "b": b, "y": y}).ravel(), s - y, rtol=1e-12)
