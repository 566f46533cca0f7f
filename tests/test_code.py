"""--format numpy and --format sympy: the emitted code computes the derivative.

For every row of the identity table (and every derivative in turn) the NumPy code
is executed and compared with d.evaluate (itself checked against SymPy and finite
differences in test_identities.py); the SymPy code of every result with at most two
axes is executed, instantiated at the row's sizes and evaluated at the same point.
Executing generated code is the test's doing: matcalc never executes it.
"""
import ast

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import matcalc
import oracle
import test_identities
from matcalc.codegen import numpy_code
from matcalc.codegen_sympy import sympy_code

ROWS = [pytest.param(r.expr, r.wrt, r.dims, r.decl, r.id, id=r.id) for r in test_identities.ROWS]
HIGHER = [pytest.param(h[1], h[2], h[3], h[5], h[0], id=h[0]) for h in test_identities.HIGHER]


def _run(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<matcalc code>", "exec"), namespace)   # noqa: S102 - our own output
    return namespace


def _values(dims, key):
    values = oracle.make_values(dims, oracle.seed_for(key))
    return oracle.to_matcalc(values, dims)


@pytest.mark.parametrize("layout", ["mixed", "numerator", "denominator"])
@pytest.mark.parametrize("expr, wrt, dims, decl, key", ROWS + HIGHER)
def test_numpy_code_computes_the_derivative(expr, wrt, dims, decl, key, layout):
    d = matcalc.diff(expr, wrt, layout=layout, **decl)
    values = _values(dims, key)
    function = _run(numpy_code(d))["derivative"]
    symbols = list(d.analysis.symbols)
    got = function(*(values[name] for name in symbols))
    want = d.evaluate(values)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("expr, wrt, dims, decl, key", ROWS + HIGHER)
def test_sympy_code_builds_the_derivative(expr, wrt, dims, decl, key):
    d = matcalc.diff(expr, wrt, **decl)
    if d.is_tensor:
        with pytest.raises(matcalc.MatcalcError, match="at most two axes"):
            sympy_code(d)
        return
    values = _values(dims, key)
    want = np.atleast_2d(np.asarray(d.evaluate(values), dtype=float))
    np.testing.assert_allclose(_sympy_value(d, values), want, rtol=1e-8, atol=1e-10)


def _sympy_value(d, values) -> np.ndarray:
    """The SymPy code of d, run at the sizes of `values` and evaluated there."""
    arrays, sizes = {}, {}
    for name, symbol in d.analysis.symbols.items():
        value = np.atleast_2d(np.asarray(values[name], dtype=float))
        arrays[name] = value.reshape(-1, 1) if symbol.value[1] == "vector" else value
        sizes.update((dim, size) for dim, size in zip(symbol.shape, arrays[name].shape)
                     if isinstance(dim, str) and "*" not in dim)
    # the code at the row's sizes: its line binding the dimension symbols binds numbers instead
    lines = []
    for line in sympy_code(d).splitlines():
        if "sp.symbols(" in line:
            targets, names = line.split(" = sp.symbols(")
            names = ast.literal_eval(names.split(", integer=")[0]).split()
            line = f"{targets} = " + ", ".join(f"sp.Integer({sizes[name]})" for name in names)
        lines.append(line)
    namespace = _run("\n".join(lines))
    point = {}
    for name, symbol in d.analysis.symbols.items():
        target = next(v for v in namespace.values() if isinstance(v, (sp.Symbol, sp.MatrixSymbol))
                      and v.name == name and (symbol.value[1] == "scalar") == isinstance(v, sp.Symbol)
                      and not v.is_integer)
        point[target] = float(arrays[name][0, 0]) if symbol.value[1] == "scalar" else sp.ImmutableMatrix(arrays[name])
    # SymPy 1.14's DiagMatrix and DiagonalOf of an explicit matrix have Python-int sizes that
    # its products reject: written first as the equal v 1^T .* I and (M .* I) 1
    result = namespace["derivative"].replace(
        lambda e: isinstance(e, sp.DiagMatrix),
        lambda e: sp.HadamardProduct(e.args[0] * sp.OneMatrix(1, e.shape[0]), sp.Identity(e.shape[0])))
    result = result.replace(
        lambda e: isinstance(e, sp.DiagonalOf),
        lambda e: sp.HadamardProduct(e.args[0], sp.Identity(e.args[0].shape[0])) * sp.OneMatrix(e.args[0].shape[0], 1))
    result = result.subs(point)
    constants = result.atoms(sp.Identity, sp.OneMatrix, sp.ZeroMatrix) if hasattr(result, "atoms") else ()
    result = result.xreplace({c: sp.ImmutableMatrix(c.as_explicit()) for c in constants}).doit()
    if isinstance(result, sp.MatrixExpr):
        result = result.as_explicit().doit()
    return np.array(sp.Matrix(result).evalf() if getattr(result, "is_Matrix", False) else [[result.evalf()]],
                    dtype=float)

# Names a user may give that Python or the generated code also uses
AWKWARD_NAMES = ["lambda", "def", "True", "None", "class", "for", "in", "not", "pass", "yield",
                 "match", "case", "type", "float", "len", "print", "int", "list", "id", "min", "range",
                 "np", "sp", "derivative", "z", "e", "top", "places", "rows", "cols", "x", "n", "m",
                 "x_size", "n_size", "lambda_", "θ", "ℌ", "H", "import", "self"]


@st.composite
def awkward_programs(draw):
    """A program whose symbols, intermediate and dimensions have awkward names, any of which
    may be equal to one another across kinds (a dimension named like a symbol)."""
    symbols = draw(st.lists(st.sampled_from(AWKWARD_NAMES), min_size=5, max_size=5, unique=True))
    s, u, v, M, h = symbols
    p, q = draw(st.lists(st.sampled_from(AWKWARD_NAMES), min_size=2, max_size=2, unique=True))
    declarations = f"{s}: scalar; {u}: vector[{p}]; {v}: vector[{q}]; {M}: matrix[{p},{q}]"
    body = draw(st.sampled_from([
        f"{h} = {M} {v}; {s} {u}^T {h} + {s}^2 sum(exp({M}))",
        f"{h} = relu({u}) .* {u}; {s} sum({h}) + {u}^T {M} {v}",
        f"{h} = {M}^T {u}; {s}^3 ||{h}||^2",
        f"{h} = tanh({M} {v}); {h}",
    ]))
    wrt = draw(st.sampled_from([s, u, v, M]))
    layout = draw(st.sampled_from(["mixed", "numerator", "denominator"]))
    return f"{declarations}; {body}", wrt, layout, (s, u, v, M), (p, q)


@settings(derandomize=True, database=None, deadline=None, max_examples=60)
@given(awkward_programs())
def test_generated_code_with_awkward_names_computes_the_derivative(program):
    text, wrt, layout, (s, u, v, M), _ = program
    d = matcalc.diff(text, wrt, layout=layout)
    rng = np.random.default_rng(7)
    values = {s: 0.8, u: np.array([0.3, -0.5, 1.2]), v: rng.normal(size=2), M: rng.normal(size=(3, 2))}
    want = d.evaluate(values)
    function = _run(numpy_code(d))["derivative"]
    got = function(*(values[name] for name in d.analysis.symbols))
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    if not d.is_tensor:
        np.testing.assert_allclose(_sympy_value(d, values), np.atleast_2d(want), rtol=1e-8, atol=1e-10)


def test_step_at_zero_agrees_with_evaluate():
    """step(0) = 0 in d.evaluate, in the NumPy code and in the SymPy code (Heaviside(0, 0))."""
    d = matcalc.diff("s sum(step(x) .* x) + s^2 sum(step(x))", "s", scalars=("s",))
    values = {"s": 1.5, "x": np.array([0.0, -1.0, 2.0])}
    want = d.evaluate(values)
    assert want == 2.0 + 2 * 1.5 * 1.0
    assert _run(numpy_code(d))["derivative"](*(values[name] for name in d.analysis.symbols)) == want
    np.testing.assert_array_equal(_sympy_value(d, values), [[want]])


def test_a_size_no_argument_has_is_a_keyword_argument():
    """tr(I) with I of its own size: the code asks for the size by name, as evaluate does."""
    d = matcalc.diff("scalar a; a^2 tr(I)", "a")
    function = _run(numpy_code(d))["derivative"]
    import inspect
    (size,) = [p.name for p in inspect.signature(function).parameters.values() if p.kind == p.KEYWORD_ONLY]
    assert function(1.5, **{size: 4}) == 2 * 1.5 * 4
    with pytest.raises(TypeError):
        function(1.5)


@pytest.mark.parametrize("text, wrt, values", [
    # the sum of two entries of one inverse: its parentheses must survive as an operand
    ("S: matrix[2,2]; logdet(S + [2, tr(S); tr(S), 2])", "S", {"S": np.array([[0.5, 0.1], [0.1, 0.4]])}),
    ("X: matrix[2,2]; sum(inv(X)[1, 2] + inv(X)[2, 1]) X", "X", {"X": np.array([[2.0, 0.3], [0.1, 1.5]])}),
    # integer literals to a negative power
    ("a: scalar; [a; 2] ./ [2; 4] .^ 2", "a", {"a": 1.5}),
])
def test_generated_code_found_wrong_by_the_fuzzer(text, wrt, values):
    d = matcalc.diff(text, wrt)
    got = _run(numpy_code(d))["derivative"](**values)
    np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-12, atol=1e-12)
