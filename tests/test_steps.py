"""Every line of a derivation is an equality that holds, at random points and directions."""
import numpy as np
import pytest

import matcalc
from matcalc import expr as E
from matcalc.check import concrete_sizes, random_values
from matcalc.evaluate_numpy import evaluate
from matcalc.evaluate_at import bind
from matcalc.expr import postorder
from matcalc.rules import ruleset

STEP = 1e-6
CORPUS = [
    ("||y - Phi theta||^2", "theta"), ("x^T A x", "x"), ("x^T S x", "x"), ("tr(X^T A X)", "X"),
    ("w^T x", "x"), ("W x", "x"), ("x^T W", "x"), ("||W x||^2", "W"), ("||W x||^2", "x"),
    ("H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2", "W1"),
    ("H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2", "W2"),
    ("scalar t; x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2)", "t"),
    ("sum(log(1 + exp(-y .* (X w))))", "w"), ("logdet(X)", "X"), ("tr(X^-1 A)", "X"),
    ("softmax(x)", "x"), ("tanh(W x + b)", "x"), ("||W3 tanh(W2 tanh(W1 x)) - y||^2", "W1"),
    ("scalar t; U = A + t B; logdet(U)", "t"), ("x / ||x||", "x"), ("kron(x, y)", "x"),
]


def _point(d, seed):
    symbols = list(d.analysis.symbols.values())
    dims = concrete_sizes(symbols)
    # logdet(A + t B), log(1 + exp(...)): the corpus needs a point where they are defined
    values = random_values(symbols, dims, np.random.default_rng(seed), positive=True)
    env, bound = bind(d.analysis.symbols, values)
    name = d.variable.name
    direction = np.random.default_rng(seed + 1).normal(size=env[name].shape)
    return env, bound, name, direction


def _value(e, env, dims, name, direction):
    """e with each d(Q) read as the derivative of Q along `direction` of the variable."""
    def moved(h):
        return {**env, name: env[name] + h * direction}
    values = dict(env)
    mapping = {}
    for i, node in enumerate(n for n in postorder(e) if n.op == "d"):
        inner = node.args[0]
        slope = (evaluate(inner, moved(STEP), dims) - evaluate(inner, moved(-STEP), dims)) / (2 * STEP)
        values[f"differential{i}"] = slope
        mapping[node] = E.symbol(f"differential{i}", node.shape, "matrix")
    return evaluate(E.substitute(e, mapping), values, dims)


def _assert_lines_hold(d, derivation, env, dims, name, direction, rtol=1e-5, atol=1e-7):
    """Each line of df (and of an intermediate's du) at the point, along the direction;
    the first line is f itself.  Returns df."""
    top = derivation.lines[0]
    np.testing.assert_allclose(evaluate(top.expr, env, dims), evaluate(top_function(d), env, dims),
                               rtol=1e-9, atol=1e-12, err_msg=f"{top}")
    df = _value(E.differential(top_function(d)), env, dims, name, direction)
    equalities = 0
    for line in derivation.lines:
        if line.lhs in ("df", "dg", ""):
            equalities += 1
            expected = df
        elif line.of is not None:
            expected = _value(E.differential(line.of), env, dims, name, direction)
        else:
            continue
        got = _value(line.expr, env, dims, name, direction)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"{d.function}: {line}")
    assert equalities >= 1
    return df


def top_function(d):
    return d.function if d.order == 1 else d.differentiated


@pytest.mark.parametrize("text, wrt", CORPUS)
def test_every_line_holds(text, wrt):
    d = matcalc.diff(text, wrt, symmetric=("S",))
    derivation = d.steps()
    env, dims, name, direction = _point(d, seed=5)
    df = _assert_lines_hold(d, derivation, env, dims, name, direction)
    identified = next(line for line in derivation.lines if line.lhs == "=>").expr
    core = evaluate(identified, env, dims)
    if d.variable.is_scalar:
        paired = core * direction[0, 0]
    elif d.function.is_scalar:
        paired = np.array([[np.sum(core * direction)]])            # tr(G^T dX)
    else:
        paired = core @ direction                                  # J dx
    expected = df.T if d.function.is_row else df                  # a row f is read as a vector
    np.testing.assert_allclose(paired, expected, rtol=1e-5, atol=1e-7)


def test_steps_name_the_rules_they_use():
    d = matcalc.diff("||y - Phi theta||^2", "theta")
    text = str(d.steps())
    for name in ("d-norm-squared", "d-product", "identification", "mixed layout"):
        assert name in text
    assert text.splitlines()[0] == "f = ||y - Phi theta||^2"
    assert text.splitlines()[-1].startswith(f"=> {d} ")


@pytest.mark.parametrize("text, wrt, ending, rules", [
    ("tr(A X B)", "X", " dX)", ("trace-cycle",)),
    ("logdet(X)", "X", " dX)", ("trace-cycle",)),
    ("tr(X^T A X)", "X", " dX)", ("trace-cycle", "trace-transpose")),
    ("sum(x .* (A x))", "x", " dx", ("trace-hadamard",)),
    ("W x", "W", " vec(dW)", ("vec-product",)),
])
def test_steps_name_the_identification_rules(text, wrt, ending, rules):
    """The line before the derivative is df in the form it is read from, the differential
    last, and names the rules of rules/identify.rules that moved it there."""
    lines = str(matcalc.diff(text, wrt).steps()).splitlines()
    line = lines[next(i for i, t in enumerate(lines) if t.startswith("=> ")) - 1]
    body, reason = line[:line.index("   [")].rstrip(), line[line.index("[") + 1:-1]
    assert body.endswith(ending) and body.startswith(("   = ", "vec df = "))
    names = reason.split(", ")
    assert set(rules) <= set(names) and set(names) <= {r.name for r in ruleset("identify")}


@pytest.mark.parametrize("text, wrt, before", [
    ("W x", "x", "df = W dx"), ("w^T x", "x", "df = w^T dx"), ("x^T A x", "x", "   = x^T (A + A^T) dx"),
    ("tr(A X)", "X", "   = tr(A dX)")])
def test_no_identification_line_where_df_is_in_the_form_already(text, wrt, before):
    lines = str(matcalc.diff(text, wrt).steps()).splitlines()
    assert lines[-2].startswith(before + " ") and lines[-1].startswith("=> ")


def test_steps_in_latex_are_an_align_block():
    latex = matcalc.diff("x^T A x", "x").steps().latex()
    assert latex.startswith("\\begin{align*}") and latex.endswith("\\end{align*}")
    assert "\\frac{\\partial f}{\\partial \\mathbf{x}} &= \\left(A + A^\\top\\right) \\mathbf{x}" in latex


def test_long_derivations_are_summarised():
    depth = 12
    text = "W1 x"
    for i in range(2, depth + 1):
        text = f"W{i} tanh({text})"
    derivation = matcalc.diff(f"||{text} - y||^2", "W1").steps()
    assert len(derivation.lines) <= 16


def _table_rows():
    import test_identities
    return list(test_identities.ROWS)


@pytest.mark.parametrize("row", _table_rows(), ids=lambda r: r.id)
def test_every_line_holds_for_the_identity_table(row):
    import oracle
    import test_identities
    d = test_identities._diff(row, "mixed")       # the table's own result, computed once
    env, dims = bind(d.analysis.symbols, oracle.to_matcalc(row.values(), row.dims))
    name = d.variable.name
    direction = np.random.default_rng(11).normal(size=env[name].shape)
    if d.variable.kind == "symmetric":
        direction = direction + direction.T
    df = _value(E.differential(d.function), env, dims, name, direction)
    derivation = d.steps()
    _assert_lines_hold(d, derivation, env, dims, name, direction, atol=1e-6)
    for line in derivation.lines:
        if line.lhs == "vec":       # vec df = J vec(dX), the differential in it
            got = _value(line.expr, env, dims, name, direction)
            np.testing.assert_allclose(got, df.reshape(-1, 1, order="F"), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{row.expr}: {line}")
        if line.lhs == "vec=>":     # vec df = J vec dX
            jacobian = evaluate(line.expr, env, dims)
            got = jacobian @ direction.reshape(-1, 1, order="F")
            np.testing.assert_allclose(got, df.reshape(-1, 1, order="F"), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{row.expr}: {line}")


HIGHER_CORPUS = [("x^T A x", ("x", "x")), ("x^T A y", ("x", "y")), ("logsumexp(x)", ("x", "x")),
                 ("tr(X^T A X)", ("X", "X")), ("sum(exp(x))", ("x", "x", "x")),
                 ("sum(log(1 + exp(-y .* (X w))))", ("w", "w"))]


@pytest.mark.parametrize("text, variables", HIGHER_CORPUS)
def test_every_line_holds_for_derivatives_in_turn(text, variables):
    """Steps of the last step: g (the mixed-layout derivative before it) and dg, line by line."""
    d = matcalc.diff(text, variables)
    derivation = d.steps()
    assert derivation.lines[0].lhs == "g" and derivation.lines[0].expr is d.differentiated
    env, dims, name, direction = _point(d, seed=9)
    _assert_lines_hold(d, derivation, env, dims, name, direction)
    assert derivation.latex().startswith("\\begin{align*}")
