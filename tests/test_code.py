"""--format numpy and --format sympy: the emitted code computes the derivative.

For every row of the identity table (and every derivative in turn) the NumPy code
is executed and compared with d.evaluate (itself checked against SymPy and finite
differences in test_identities.py); the SymPy code of every result with at most two
axes is executed, instantiated at the row's sizes and evaluated at the same point.
Executing generated code is the test's doing: matcalc never executes it.
"""
import numpy as np
import pytest
import sympy as sp

import matcalc
import oracle
import test_identities
from matcalc.emit_code import numpy_code, sympy_code

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
    arrays, sizes = {}, {}
    for name, symbol in d.analysis.symbols.items():
        value = np.atleast_2d(np.asarray(values[name], dtype=float))
        arrays[name] = value.reshape(-1, 1) if symbol.value[1] == "vector" else value
        sizes.update((dim, size) for dim, size in zip(symbol.shape, arrays[name].shape)
                     if isinstance(dim, str) and dim.isidentifier())
    # the code at the row's sizes: its line binding the dimension symbols binds numbers instead
    lines = [", ".join(sorted(sizes)) + " = " + ", ".join(str(sizes[k]) for k in sorted(sizes))
             if "sp.symbols(" in line else line for line in sympy_code(d).splitlines()]
    namespace = _run("\n".join(lines))
    point = {namespace[name]: float(arrays[name][0, 0]) if symbol.value[1] == "scalar"
             else sp.ImmutableMatrix(arrays[name]) for name, symbol in d.analysis.symbols.items()}
    result = namespace["derivative"].subs(point)
    constants = result.atoms(sp.Identity, sp.OneMatrix, sp.ZeroMatrix) if hasattr(result, "atoms") else ()
    result = result.xreplace({c: sp.ImmutableMatrix(c.as_explicit()) for c in constants}).doit()
    if isinstance(result, sp.MatrixExpr):
        result = result.as_explicit().doit()
    got = np.array(sp.Matrix(result).evalf() if getattr(result, "is_Matrix", False) else [[result.evalf()]],
                   dtype=float)
    want = np.atleast_2d(np.asarray(d.evaluate(values), dtype=float))
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-8, atol=1e-10)
