"""Every line of a derivation is an equality that holds, at random points and directions;
the derivation reads as the texts write it (f as typed, terms in their order, the chain rule)."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcalc
from matcalc import expr as E
from matcalc import steps
from matcalc.check import concrete_sizes, random_values, sample_point
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
    ("scalar t; x - t", "t"), ("scalar t; A (x - t)", "t"),      # d(x - t) is -dt broadcast: a vector
    ("scalar a; g = [2; a]; logsumexp(g)", "a"),                  # an intermediate named as dg's g
]


def _point(d, seed):
    symbols = list(d.analysis.symbols.values())
    dims = concrete_sizes(symbols)
    # logdet(A + t B), log(1 + exp(...)): the corpus needs a point where they are defined
    rng = np.random.default_rng(seed)
    if d.assumptions:      # a point where the user's assumptions hold (check's own sampler)
        values = sample_point(d, symbols, dims, rng, positive=True)
    else:
        values = random_values(symbols, dims, rng, positive=True)
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
        if line.of is not None:        # du = ...: an intermediate u, which may be named f or g
            expected = _value(E.differential(line.of), env, dims, name, direction)
        elif line.lhs in ("df", "dg", ""):
            equalities += 1
            expected = df
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


# ---------------------------------------------------------------- steps that follow (issue 9)

@pytest.mark.parametrize("text, wrt, first", [
    ("x^T A x", "x", "f = x^T A x"),
    ("tr(X^T A X)", "X", "f = tr(X^T A X)"),
    ("-y^T log(softmax(W x + b))", "b", "f = -y^T log(softmax(W x + b))"),
    ("w^T x + x^T A x", "x", "f = w^T x + x^T A x"),
    ("x^T A x + w^T x", "x", "f = x^T A x + w^T x"),
    ("sum(x .^ 2 ./ x)", "x", "f = sum(x .^ 2 ./ x)"),
    ("sum(1 - tanh(x) .* tanh(x))", "x", "f = sum(1 - tanh(x) .* tanh(x))"),
    ("a^T (X .* C) b", "X", "f = a^T (X .* C) b"),
])
def test_the_first_line_is_f_as_typed(text, wrt, first):
    d = matcalc.diff(text, wrt)
    derivation = d.steps()
    assert str(derivation).splitlines()[0] == first
    env, dims, name, direction = _point(d, seed=3)
    _assert_lines_hold(d, derivation, env, dims, name, direction)     # the typed f is the engine's f


def test_the_first_latex_row_is_f_as_typed():
    latex = matcalc.diff("tr(X^T A X)", "X").steps().latex()
    assert latex.splitlines()[1] == r"f &= \operatorname{tr}\left(X^\top A X\right) \\"


def test_a_quadratic_form_starts_from_the_product_rule_as_a_student_writes_it():
    lines = str(matcalc.diff("x^T A x", "x").steps()).splitlines()
    assert lines[1].startswith("df = dx^T A x + x^T A dx ") and "d-product" in lines[1]
    assert lines[2].startswith("   = x^T A^T dx + x^T A dx ") and "a scalar is its own transpose" in lines[2]
    assert any(line.startswith("   = x^T (A + A^T) dx ") for line in lines[3:])


MARKED_TERMS = {"w^T x": "w^T", "x^T A x": "A", "||B x||^2": "B", "sum(exp(x))": "exp",
                "c^T tanh(x)": "tanh", "(u^T x)^2": "u^T"}


@settings(max_examples=25, deadline=None)
@given(st.permutations(sorted(MARKED_TERMS)), st.integers(2, len(MARKED_TERMS)))
def test_terms_keep_the_order_they_were_typed_in(terms, count):
    """The line after f differentiates each term where it was typed: each term's mark
    (a name only it has) comes in the typed order."""
    chosen = terms[:count]
    text = " + ".join(chosen)
    lines = str(matcalc.diff(text, "x").steps()).splitlines()
    assert lines[0] == f"f = {text}"
    df = lines[1]
    positions = [df.index(MARKED_TERMS[t]) for t in chosen]
    assert positions == sorted(positions), df


CHAIN_RULE_SEED = "scalar t; x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2)"


def test_the_scalar_chain_rule_reads_as_the_lecture_notes():
    """df = ∂f/∂x dx, dx = x' dt, then the product: a few short lines."""
    derivation = matcalc.diff(CHAIN_RULE_SEED, "t").steps()
    assert [line.lhs for line in derivation.lines] == ["f", "df", "dx", "df", "", "=>"]
    text = str(derivation).splitlines()
    assert text[0] == "x = [t cos(t); t sin(t)]" + text[0][len("x = [t cos(t); t sin(t)]"):]
    df, dx, product = text[2], text[3], text[4]
    assert df.startswith("df = exp(x[1] x[2]^2) [x[2]^2, 2 x[1] x[2]] dx ") and "∂f/∂x" in df
    assert dx.startswith("dx = [cos(t) - t sin(t); sin(t) + t cos(t)] dt ")
    assert product.startswith("df = exp(x[1] x[2]^2) [x[2]^2, 2 x[1] x[2]] [cos(t) - t sin(t); sin(t) + t cos(t)] dt ")
    assert "[chain rule]" in product
    assert all(len(line[:line.index("   [")].rstrip() if "   [" in line else line) <= 90 for line in text)


def test_a_network_reads_as_backpropagation():
    """df in dyhat, then each intermediate's differential in the next one's, outermost first."""
    derivation = matcalc.diff("H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2", "W1").steps()
    assert [line.lhs for line in derivation.lines][:6] == ["f", "df", "dyhat", "dH2", "dH1", "df"]
    text = str(derivation).splitlines()
    assert text[4].startswith("df = (yhat - y)^T dyhat ")
    assert text[5].startswith("dyhat = W3^T dH2 ")
    assert text[8].startswith("df = (yhat - y)^T W3^T W2^T dW1^T x ")


def _named_rules(derivation) -> set:
    return {name for line in derivation.lines if line.reason for name in line.reason.split(", ")}


@pytest.mark.parametrize("text, wrt", CORPUS)
def test_no_bookkeeping_rule_is_named(text, wrt):
    derivation = matcalc.diff(text, wrt, symmetric=("S",)).steps()
    assert not _named_rules(derivation) & steps.BOOKKEEPING


def test_the_rules_kept_off_the_lines_are_rules():
    names = {r.name for stem in ("identify", "simplify", "search", "differentials") for r in ruleset(stem)}
    assert (steps.BOOKKEEPING | steps.EXPANDING) - {"linearity"} <= names


def test_a_differential_of_an_intermediate_prints_as_du():
    text = str(matcalc.diff("scalar t; U = A + t B; logdet(U)", "t").steps())
    assert "tr(U^-1 dU)" in text and "d(U)" not in text


# random programs: every line, every intermediate's line, at random points and directions

_VECTOR_TERMS = ["x^T A x", "w^T x", "||B x - c||^2", "sum(exp(A x))", "c^T tanh(B x)", "(w^T x)^2",
                 "log(1 + (w^T x)^2)", "sin(w^T x) (c^T x)"]
_COMBINE = [" + ", " - "]


@st.composite
def _scalar_programs(draw):
    terms = draw(st.lists(st.sampled_from(_VECTOR_TERMS), min_size=1, max_size=3))
    signs = draw(st.lists(st.sampled_from(_COMBINE), min_size=len(terms) - 1, max_size=len(terms) - 1))
    body = terms[0] + "".join(s + t for s, t in zip(signs, terms[1:]))
    if draw(st.booleans()):          # through an intermediate: the chain rule's lines
        inner = draw(st.sampled_from(["A x", "tanh(A x)", "x + B x", "exp(x) .* x"]))
        return f"u = {inner}; " + re.sub(r"\bx\b", "u", body)
    return body


@settings(max_examples=20, deadline=None)
@given(_scalar_programs(), st.integers(0, 1000))
def test_every_line_holds_for_random_programs(program, seed):
    d = matcalc.diff(program, "x")
    env, dims, name, direction = _point(d, seed=seed)
    _assert_lines_hold(d, d.steps(), env, dims, name, direction, atol=1e-6)


_MATRIX_TERMS = ["tr(X^T A X)", "tr(A X)", "||X w||^2", "logdet(X^T X + I)", "sum(exp(X))", "w^T X^T A X w"]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(_MATRIX_TERMS), min_size=1, max_size=3), st.integers(0, 1000))
def test_every_line_holds_for_random_matrix_functions(terms, seed):
    d = matcalc.diff(" + ".join(terms), "X")
    env, dims, name, direction = _point(d, seed=seed)
    _assert_lines_hold(d, d.steps(), env, dims, name, direction, atol=1e-6)


@pytest.mark.parametrize("text, wrt", [("-y^T log(softmax(W x + b))", "b"), ("||W3 tanh(W2 tanh(W1 x)) - y||^2", "W1"),
                                       ("sum(log(1 + exp(-y .* (X w))))", "w"), ("x^T A x", "x")])
def test_repeated_parts_are_named_and_the_last_line_reads_as_the_result(text, wrt):
    """A part a line repeats is named once (u1 = softmax(W x + b), as the result names it);
    the derivative's line names only what the result's text names."""
    d = matcalc.diff(text, wrt)
    lines = str(d.steps()).splitlines()
    result = str(d).split("; ")[-1]
    assert lines[-1].startswith(f"=> {result} ")
    named = [line for line in lines if line.endswith(f"[{steps.REPEATED}]")]
    for line in named:
        name = line.split(" = ")[0]
        assert any(re.search(rf"\b{name}\b", later) for later in lines[lines.index(line) + 1:])
    bodies = [line.split("   [")[0].rstrip() for line in lines if not line.startswith("=> ")]
    assert all(len(body) < 90 for body in bodies), bodies


def test_intermediates_are_written_by_their_names_where_their_definitions_reappear():
    derivation = matcalc.diff("h = tanh(W x); p = softmax(V h); -y^T log(p)", "W").steps()
    text = str(derivation).splitlines()
    assert [line.lhs for line in derivation.lines][:5] == ["f", "df", "dp", "dh", "df"]
    assert text[4].startswith("dp = (diag(p) - p p^T) V dh ")
    assert text[5].startswith("dh = (dW x) .* (1 - h .^ 2) ")
    assert not any("softmax(V h)" in line or "tanh(W x)" in line for line in text[3:])


@pytest.mark.parametrize("text, wrt, stated", [
    ("assume sum(y) = 1; -y^T log(softmax(W x + b))", "b", "assume sum(y) = 1"),
    ("assume x^T x = 1; x^T A x + (x^T x) (w^T x)", "w", "assume x^T x = 1"),
])
def test_an_assumption_is_named_where_it_acts(text, wrt, stated):
    """The line where the simplifier uses the user's equation names it; every line holds at
    points where it does."""
    d = matcalc.diff(text, wrt)
    derivation = d.steps()
    lines = str(derivation).splitlines()
    assert any(stated in line[line.index("   ["):] for line in lines if "   [" in line)
    assert lines[-1].startswith(f"=> {str(d).split('; ')[-1]} ")
    env, dims, name, direction = _point(d, seed=4)
    _assert_lines_hold(d, derivation, env, dims, name, direction, atol=1e-6)


@settings(max_examples=25, deadline=None, database=None)
@given(st.data())
def test_every_line_holds_for_generated_programs(data):
    """Programs of the fuzzer's grammar (tests/fuzz_grammar.py): definitions, broadcasts,
    literals, entries; where matcalc differentiates them, its steps hold line by line."""
    import fuzz_grammar
    program = data.draw(fuzz_grammar.programs())
    names = [n for n in program.symbols if n not in program.extra]
    if program.by_keyword or not names:
        return
    wrt = data.draw(st.sampled_from(names))
    try:
        d = matcalc.diff(program.text, wrt)
    except matcalc.MatcalcError:
        return
    try:
        derivation = d.steps()
    except matcalc.NotDifferentiableError:    # steps of a tensor through intermediates: refused in one line
        return
    try:
        env, dims, name, direction = _point(d, seed=data.draw(st.integers(0, 1000)))
        evaluate(d.function, env, dims)
    except matcalc.MatcalcError:       # the point drawn is outside the program's domain
        return
    _assert_lines_hold(d, derivation, env, dims, name, direction, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("text, wrt, read_off", [
    ("tr(S^3)", "S", "   = 3 tr(S^2 dS) "),
    ("logdet(S) + (x - mu)^T inv(S) (x - mu)", "S", "   = tr((I - inv(S) (x - mu) (x - mu)^T) inv(S) dS) "),
])
def test_the_read_off_line_shows_the_gradient_it_reads(text, wrt, read_off):
    """tr(G^T dX) with G^T as short as it reads: a symmetric S's S^2 is not (S^2)^T."""
    lines = str(matcalc.diff(text, wrt, symmetric=("S",)).steps()).splitlines()
    assert lines[-2].startswith(read_off) and "symmetric-transpose" in lines[-2]
