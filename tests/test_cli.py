"""The command line, run as a subprocess: `python -m matcalc diff EXPR WRT [options]`.

Contract (matcalc/cli.py, SYNTAX.md): the first line of standard output is the
result alone; the second starts with `# <layout> layout · <rows> x <cols>`.
Bad input prints `matcalc: <message>`, the source line and a caret line to
standard error and exits with status 2 — never a Python traceback.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TIMEOUT = 60


def matcalc(*args, stdin=None, env=None):
    """Run the CLI; returns the CompletedProcess (text mode)."""
    environment = dict(os.environ)
    environment.pop("PYTHONIOENCODING", None)
    if env:
        environment.update(env)
    return subprocess.run([sys.executable, "-m", "matcalc", *args], input=stdin, cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=TIMEOUT, env=environment)


def lines(text):
    return text.splitlines()


def ok(*args, stdin=None):
    result = matcalc(*args, stdin=stdin)
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return lines(result.stdout)


def assert_bad_input(result, source_line=None, caret=True):
    """Exit 2, `matcalc: <message>` first, then (for located errors) source and caret, no traceback."""
    assert result.returncode == 2, f"exit {result.returncode}; stdout {result.stdout!r}; stderr {result.stderr!r}"
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout
    err = lines(result.stderr)
    assert err and err[0].startswith("matcalc: ") and len(err[0]) > len("matcalc: "), result.stderr
    if caret:
        assert len(err) == 3, f"expected message, source line and caret line: {result.stderr!r}"
        assert err[2].strip() == "^", result.stderr
        if source_line is not None:
            assert err[1].strip() == source_line.strip(), result.stderr
    assert result.stdout == "", f"nothing on standard output for an error: {result.stdout!r}"
    return err


# ------------------------------------------------------------------ results
def test_gradient_of_quadratic_form():
    out = ok("diff", "x^T A x", "x")
    assert out[0] == "(A + A^T) x"
    assert out[1].startswith("# mixed layout · n x 1")


def test_numerator_layout():
    out = ok("diff", "x^T A x", "x", "--layout", "numerator")
    assert out[0] == "x^T (A + A^T)"
    assert out[1].startswith("# numerator layout · 1 x n")


def test_denominator_layout():
    out = ok("diff", "x^T A x", "x", "--layout", "denominator")
    assert out[0] == "(A + A^T) x"
    assert out[1].startswith("# denominator layout · n x 1")


def test_symmetric():
    out = ok("diff", "x^T S x", "x", "--symmetric", "S")
    assert out[0] == "2 S x"
    assert "S: symmetric[n]" in out[1]


def test_scalar():
    out = ok("diff", "a x^T x", "x", "--scalar", "a")
    assert out[0] == "2 a x"
    assert "a: scalar" in out[1]


def test_several_scalars_comma_separated_and_repeated():
    out = ok("diff", "a x^T x + b sum(x) + c", "x", "--scalar", "a,b", "--scalar", "c")
    assert out[1].startswith("# mixed layout · n x 1")
    for name in ("a", "b", "c"):
        assert f"{name}: scalar" in out[1]


def test_derivative_by_a_declared_scalar():
    out = ok("diff", "exp(a) x", "a", "--scalar", "a")
    assert out[0] == "exp(a) x"
    assert out[1].startswith("# mixed layout · n x 1")


def test_declare():
    out = ok("diff", "x^T x", "x", "--declare", "x: vector[n]")
    assert out[0] == "2 x"
    assert "x: vector[n]" in out[1]


def test_declare_matrix_sizes():
    out = ok("diff", "x^T A y", "A", "--declare", "A: matrix[n,m]", "--declare", "x: vector[n]")
    assert out[1].startswith("# mixed layout · n x m")


def test_inline_declaration():
    out = ok("diff", "scalar a; a x^T x", "x")
    assert out[0] == "2 a x"


def test_expression_from_stdin():
    out = ok("diff", "-", "x", stdin="w^T x\n")
    assert out[0] == "w"
    assert out[1].startswith("# mixed layout · n x 1")


def test_statement_list_from_stdin():
    out = ok("diff", "-", "x", "--scalar", "a", stdin="h = a x;\n1/2 ||h||^2\n")
    assert out[1].startswith("# mixed layout · n x 1")


def test_leading_minus_after_double_dash():
    out = ok("diff", "--", "-x^T x", "x")
    assert out[0] == "-2 x"


def test_json_format():
    result = matcalc("diff", "x^T A x", "x", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"result", "layout", "shape"} <= set(data)
    assert data["result"] == "(A + A^T) x"
    assert data["layout"] == "mixed"
    assert [str(d) for d in data["shape"]] == ["n", "1"]


def test_json_format_numerator_and_matrix_shape():
    result = matcalc("diff", "tr(X^T A X)", "X", "--format", "json", "--layout", "numerator")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["layout"] == "numerator"
    assert [str(d) for d in data["shape"]] == ["m", "n"]


def test_latex_format():
    out = ok("diff", "x^T A x", "x", "--format", "latex")
    assert out[0] and "A" in out[0] and out[0] != "(A + A^T) x"


def test_check_passes():
    out = ok("diff", "x^T A x", "x", "--check")
    assert out[0] == "(A + A^T) x"
    assert any(line.startswith("# checked") for line in out)


def test_help_shows_examples():
    result = matcalc("--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout
    assert 'matcalc diff "x^T A x" x' in result.stdout
    result = matcalc("diff", "--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout and "--layout" in result.stdout


# ------------------------------------------------------------------ bad input
def test_shape_mismatch_message_source_and_caret():
    result = matcalc("diff", "x + y^T", "x")
    err = assert_bad_input(result, "x + y^T")
    assert err[0] == "matcalc: cannot add x (n x 1) and y^T (1 x m)"
    assert err[1] == "  x + y^T"
    assert err[2] == "    ^"   # under the `+`


def test_unknown_function():
    err = assert_bad_input(matcalc("diff", "foo(x)", "x"), "foo(x)")
    assert "foo" in err[0]
    assert err[2] == "  ^"


def test_syntax_error_on_a_later_line_from_stdin():
    err = assert_bad_input(matcalc("diff", "-", "x", stdin="x^T A\n  + * x\n"), "  + * x")
    assert err[1:] == ["    + * x", "      ^"]


@pytest.mark.parametrize("text", ["x +", ")", "x^T A x;;", "tr(x)", "||_F x||", "x .* A", "[1, 2; 3]"])
def test_bad_expressions(text):
    assert_bad_input(matcalc("diff", "--", text, "x"), text)


def test_empty_expression_from_stdin():
    assert_bad_input(matcalc("diff", "-", "x", stdin=""))


def test_variable_not_in_expression_gives_zero_of_its_shape():
    result = matcalc("diff", "x^T A x", "y")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].startswith("# mixed layout · m x 1")


def test_not_differentiable_in_this_version():
    assert_bad_input(matcalc("diff", "sum(kron(A, X))", "X"), caret=False)


def test_huge_input_from_stdin():
    assert_bad_input(matcalc("diff", "-", "x", stdin="(" * 10_000 + "x" + ")" * 10_000))
    assert_bad_input(matcalc("diff", "-", "x", stdin="x + " * 250_000 + "x"))


@pytest.mark.parametrize("text", ["- " * 5_000 + "x", "x" + "^T" * 5_000, "exp(" * 300 + "x" + ")" * 300])
def test_deep_input_never_a_traceback(text):
    result = matcalc("diff", "-", "x", stdin=text)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        assert result.stderr.startswith("matcalc: ")


def test_usage_errors_exit_2_without_traceback():
    for args in ([], ["diff"], ["diff", "x^T x", "x", "--layout", "sideways"], ["frobnicate"]):
        result = matcalc(*args)
        assert result.returncode == 2, (args, result.returncode)
        assert "Traceback" not in result.stderr


def test_output_in_an_ascii_only_encoding_is_not_a_traceback():
    """`·` in the description line (and Unicode names) must not crash a non-UTF-8 stdout."""
    for args in (["diff", "x^T A x", "x"], ["diff", "x + λ^T", "x"]):
        result = matcalc(*args, env={"PYTHONIOENCODING": "ascii"})
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in (0, 2)


# ------------------------------------------------------------------ tensors and vec forms
def test_a_tensor_prints_its_index_form_then_its_vec_form():
    out = ok("diff", "W x", "W")
    assert out == ["∂(W x)_i/∂W_jk = δ_ij x_k",
                   "# mixed layout · axes (i; j, k) · n x n x m · W: matrix[n,m], x: vector[m]",
                   "vec form: kron(x^T, I)",
                   "# d vec(W x) / d vec(W)^T · n x m*n"]


def test_vec_option_prints_the_matrix_form_alone():
    out = ok("diff", "A X B", "X", "--vec")
    assert out == ["kron(B^T, A)", "# d vec(A X B) / d vec(X)^T · n*p x k*m"]


def test_several_variables_and_higher_orders():
    assert ok("diff", "x^T A y", "x", "y")[0] == "A"
    assert ok("diff", "sum(exp(x))", "x", "--order", "3", "--check")[-1].startswith("# checked:")
    assert_bad_input(matcalc("diff", "x^T x", "x", "--order", "9"), caret=False)


def test_symmetric_convention_option_is_stated():
    out = ok("diff", "tr(A S)", "S", "--symmetric", "S", "--symmetric-as", "entries")
    assert "Matrix Cookbook" in out[1]


def test_json_of_a_tensor_has_its_vec_form():
    data = json.loads("\n".join(ok("diff", "x x^T", "x", "--format", "json")))
    assert data["result"] == "∂(x x^T)_ij/∂x_k = δ_ik x_j + δ_jk x_i"
    assert data["vec"] == "kron(I, x) + kron(x, I)" and data["shape"] == ["n", "n", "n"]


# ------------------------------------------------------------------ code (tests/test_code.py runs it)
def test_format_numpy_prints_a_function():
    out = ok("diff", "x^T A x", "x", "--format", "numpy")
    assert out[0] == "import numpy as np" and "def derivative(x, A):" in out
    assert out[-2] == "    return (A + A.T) @ x"
    assert out[-1].startswith("# mixed layout")


def test_format_sympy_prints_matrix_expressions():
    out = ok("diff", "x^T A x", "x", "--format", "sympy")
    assert out[0] == "import sympy as sp"
    assert out[-2].startswith("derivative = (A + A.T) * x")


def test_format_sympy_of_a_tensor_is_refused_clearly():
    assert_bad_input(matcalc("diff", "W x", "W", "--format", "sympy"), caret=False)
