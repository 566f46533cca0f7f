"""The command line: `python -m matcalc diff EXPR WRT [options]`, as a subprocess where the
process matters (streams, encodings, signals, exit statuses, tracebacks) and otherwise in
process through `cli.run`, the function `python -m matcalc` runs.

Contract (matcalc/commands.py and cli.py, SYNTAX.md): the first line of standard output is the
result alone; the second starts with `# <layout> layout · <rows> x <cols>`.
Bad input prints `matcalc: <message>`, the source line and a caret line to
standard error and exits with status 2 — never a Python traceback.
"""
import json
import os
import re
import subprocess
import sys

import pytest

import matcalc as api

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


def in_process(*args, stdin=None):
    """`cli.run(args)`, what `python -m matcalc` runs, in this process: for the many option
    combinations, where a subprocess each would be slow.  Streams and exit statuses are
    tested as subprocesses below."""
    import contextlib
    import io
    import types

    from matcalc import cli
    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.run(list(args))
    finally:
        sys.stdin = saved_stdin
    return types.SimpleNamespace(returncode=status, stdout=out.getvalue(), stderr=err.getvalue())


def lines(text):
    return text.splitlines()


def ok(*args, stdin=None, run=None):
    """The lines of standard output of a command that succeeds (in process unless `run` says)."""
    result = (run or in_process)(*args, stdin=stdin)
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


@pytest.mark.parametrize("args", [("diff", "-x", "x"), ("diff", "-x", "x", "--layout", "numerator"),
                                  ("diff", "--layout", "numerator", "-x", "x"), ("diff", "-x", "--order", "1", "x"),
                                  ("diff", "--", "-x", "x")])
def test_an_expression_starting_with_minus_is_the_expression(args):
    out = ok(*args)
    assert out[0] == "-I"
    assert out[1].split(" · ")[1] == "n x n"


def test_leading_minus_expressions_match_the_api():
    for text in ("-x^T x", "-2 x^T A x", "-sum(exp(x))", "-(x^T x)"):
        assert ok("diff", text, "x")[0] == str(api.diff(text, "x")), text


def test_an_unknown_option_is_still_refused_by_name():
    result = matcalc("diff", "x^T x", "x", "--chek")
    assert result.returncode == 2 and "unrecognized arguments: --chek" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_abbreviated_options_keep_their_values():
    assert ok("diff", "x^T A x", "x", "--lay", "numerator")[0] == "x^T (A + A^T)"
    assert ok("diff", "x^T A x", "x", "--layout=numerator")[0] == "x^T (A + A^T)"


def test_json_format():
    result = matcalc("diff", "x^T A x", "x", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"result", "layout", "shape"} <= set(data)
    assert data["result"] == "(A + A^T) x"
    assert data["layout"] == "mixed"
    assert [str(d) for d in data["shape"]] == ["n", "1"]


def test_json_format_numerator_and_matrix_shape():
    result = in_process("diff", "tr(X^T A X)", "X", "--format", "json", "--layout", "numerator")
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
    err = assert_bad_input(in_process("diff", "foo(x)", "x"), "foo(x)")
    assert "foo" in err[0]
    assert err[2] == "  ^"


def test_syntax_error_on_a_later_line_from_stdin():
    err = assert_bad_input(in_process("diff", "-", "x", stdin="x^T A\n  + * x\n"), "  + * x")
    assert err[1:] == ["    + * x", "      ^"]


@pytest.mark.parametrize("text", ["x +", ")", "x^T A x;;", "tr(x)", "||_F x||", "x .* A", "[1, 2; 3]"])
def test_bad_expressions(text):
    assert_bad_input(in_process("diff", "--", text, "x"), text)


def test_empty_expression_from_stdin():
    assert_bad_input(in_process("diff", "-", "x", stdin=""))


def test_variable_not_in_expression_gives_zero_of_its_shape():
    result = in_process("diff", "x^T A x", "y")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].startswith("# mixed layout · m x 1")


def test_not_differentiable_in_this_version():
    assert_bad_input(in_process("diff", "tr(B kron(A, X))", "X"), caret=False)


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
    assert_bad_input(in_process("diff", "x^T x", "x", "--order", "9"), caret=False)


def test_symmetric_convention_option_is_stated():
    out = ok("diff", "tr(A S)", "S", "--symmetric", "S", "--symmetric-as", "entries")
    assert "Matrix Cookbook" in out[1]


def test_json_of_a_tensor_has_its_vec_form():
    data = json.loads("\n".join(ok("diff", "x x^T", "x", "--format", "json")))
    assert data["result"] == "∂(x x^T)_ij/∂x_k = δ_ik x_j + δ_jk x_i"
    assert data["vec"]["result"] == "kron(I, x) + kron(x, I)" and data["shape"] == ["n", "n", "n"]
    assert data["vec"]["shape"] == ["n*n", "n"] and data["tensor"] is True


# ------------------------------------------------------------------ code (tests/test_code.py runs it)
def test_format_numpy_prints_a_function():
    out = ok("diff", "x^T A x", "x", "--format", "numpy")
    assert out[0] == "import numpy as np" and "def derivative(x, A):" in out
    assert out[-2] == "    return A @ x + A.T @ x"   # two mat-vecs: no n x n temporary
    assert out[-1].startswith("# mixed layout")


def test_format_sympy_prints_matrix_expressions():
    out = ok("diff", "x^T A x", "x", "--format", "sympy")
    assert out[0] == "import sympy as sp"
    assert out[-2].startswith("derivative = (A + A.T) * x")


def test_format_sympy_of_a_tensor_is_refused_clearly():
    assert_bad_input(in_process("diff", "W x", "W", "--format", "sympy"), caret=False)


# ------------------------------------------------------------------ conventions
def test_version():
    result = matcalc("--version")
    assert result.returncode == 0 and result.stdout == f"matcalc {api.__version__}\n"
    from importlib.metadata import version
    assert version("matcalc-engine") == api.__version__


def test_help_links_the_language_reference_in_the_repository():
    for args in (["--help"], ["diff", "--help"]):
        text = matcalc(*args).stdout
        for document in ("docs/language.md", "docs/cli.md", "docs/json.md"):
            assert document in text, (args, document)
            assert os.path.isfile(os.path.join(ROOT, document)), document


def test_a_variable_absent_from_the_expression_is_warned_about():
    result = matcalc("diff", "x^T A x", "X")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "0"
    assert result.stderr == "matcalc: warning: X does not occur in the expression: its derivative is 0\n"
    result = in_process("diff", "x^T x", "x", "y")
    assert result.stdout.splitlines()[0] == "0"
    assert result.stderr == "matcalc: warning: y does not occur in the expression: its derivative is 0\n"


def test_no_warning_for_variables_that_occur():
    for args in (["x^T A x", "x"], ["u = A x; u^T u", "x"], ["x^T A y", "x", "y"], ["x^T A x", "x", "--order", "2"]):
        result = in_process("diff", *args)
        assert result.returncode == 0 and result.stderr == "", (args, result.stderr)


# ------------------------------------------------------------------ streams
@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGPIPE"), reason="SIGPIPE is POSIX")
def test_a_closed_pipe_ends_silently_by_sigpipe():
    import signal
    reader, writer = os.pipe()
    os.close(reader)             # the reader has gone before matcalc writes
    try:
        result = subprocess.run([sys.executable, "-m", "matcalc", "diff", "x^T A x", "x"], cwd=ROOT,
                                stdout=writer, stderr=subprocess.PIPE, timeout=TIMEOUT)
    finally:
        os.close(writer)
    assert result.stderr == b""
    assert result.returncode == -signal.SIGPIPE


@pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="needs bash for PIPESTATUS")
def test_piping_into_a_command_that_reads_nothing():
    script = f'"{sys.executable}" -m matcalc diff "x^T A x" x | true; echo "${{PIPESTATUS[0]}}"'
    result = subprocess.run(["/bin/bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.stderr == ""
    assert result.stdout.strip() in ("0", "141")    # 141: ended by SIGPIPE, as `yes | true` is


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_device_is_one_line():
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "matcalc", "diff", "x^T A x", "x"], cwd=ROOT,
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT)
    assert result.returncode == 2
    assert result.stderr == "matcalc: cannot write the output: No space left on device\n"


POSIX = pytest.mark.skipif(os.name != "posix", reason="closes the child's standard input with preexec_fn")


@POSIX
def test_a_closed_standard_input_is_one_line():
    result = subprocess.run([sys.executable, "-m", "matcalc", "diff", "-", "x"], cwd=ROOT, capture_output=True,
                            text=True, timeout=TIMEOUT, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("matcalc: standard input is closed: give the expression as an argument "
                             "instead of -\n")


def test_standard_input_that_is_not_text():
    result = subprocess.run([sys.executable, "-m", "matcalc", "diff", "-", "x"], cwd=ROOT, input=b"x^T \xff x",
                            capture_output=True, timeout=TIMEOUT, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.startswith(b"matcalc: ") and b"Traceback" not in result.stderr


# ------------------------------------------------------------------ every --format with every option
def _honoured(fmt, option, result):
    """What `--format fmt option` must print for x^T x by x, from the Python API as the oracle."""
    d = api.diff("x^T x", "x")
    out = result.stdout
    if fmt == "json":
        data = json.loads(out)
        if option == "--steps":
            assert data["steps"] == {"text": d.steps().text(), "latex": d.steps().latex()}
        elif option == "--check":
            assert data["check"]["summary"].startswith("elementwise SymPy at n=2")
            assert data["check"]["sizes"] == {"n": 2} and data["check"]["finite_difference_error"] < 1e-6
        elif option == "--vec":
            assert data["vec"]["result"] == str(d.vec()) and data["result"] == str(d)
        else:
            assert data["latex"] == d.latex(bold_vectors=False) != d.latex()
        return
    if fmt in ("numpy", "sympy"):
        compile(out, "<matcalc output>", "exec")       # comments keep it a Python file
        if option == "--steps":
            assert ["# " + line for line in d.steps().text().splitlines()] == out.splitlines()[-5:]
        else:
            assert out.splitlines()[-1].startswith("# checked: elementwise SymPy at n=2")
        return
    latex = fmt == "latex"
    first = out.splitlines()[0]
    if option == "--steps":
        assert out.endswith((d.steps().latex() if latex else d.steps().text()) + "\n")
    elif option == "--check":
        assert out.splitlines()[2].startswith("# checked: elementwise SymPy at n=2")
    elif option == "--vec":
        assert first == (d.vec().latex() if latex else str(d.vec()))
        assert out.splitlines()[1] == "# " + d.vec().describe()
    else:
        assert first == d.latex(equation=True, bold_vectors=False) and "mathbf" not in first


PAIRS = [(fmt, option) for fmt in ("text", "latex", "numpy", "sympy", "json")
         for option in ("--steps", "--check", "--vec", "--plain-vectors")]
REFUSED = {("text", "--plain-vectors"), ("numpy", "--plain-vectors"), ("sympy", "--plain-vectors"),
           ("numpy", "--vec"), ("sympy", "--vec")}


@pytest.mark.parametrize("fmt, option", PAIRS, ids=[f"{f}{o}" for f, o in PAIRS])
def test_every_format_with_every_option_is_honoured_or_refused(fmt, option):
    result = in_process("diff", "x^T x", "x", "--format", fmt, option)
    if (fmt, option) in REFUSED:
        assert result.returncode == 2 and "Traceback" not in result.stderr
        if fmt == "json":
            assert json.loads(result.stdout)["error"]["message"].startswith(f"{option} does not go with")
        else:
            assert result.stdout == ""
            assert result.stderr.startswith(f"matcalc: {option} does not go with --format {fmt}: ")
            assert len(result.stderr.splitlines()) == 1
    else:
        assert result.returncode == 0, result.stderr
        _honoured(fmt, option, result)


def test_numpy_code_with_steps_still_computes_the_derivative():
    import numpy as np
    code = "\n".join(ok("diff", "x^T A x", "x", "--format", "numpy", "--steps", "--check"))
    namespace = {}
    exec(compile(code, "<matcalc output>", "exec"), namespace)   # generated code, not user text
    x, a = np.array([1.0, 2.0]), np.array([[1.0, 2.0], [3.0, 5.0]])
    expected = api.diff("x^T A x", "x").evaluate({"x": x, "A": a})
    assert np.allclose(namespace["derivative"](x, a), expected)


# ------------------------------------------------------------------ --format json (docs/json.md)
def _documented_keys(section):
    """The keys listed in docs/json.md's table under `section` (a heading)."""
    text = open(os.path.join(ROOT, "docs", "json.md"), encoding="utf-8").read()
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return {line.split("|")[1].strip().strip("`") for line in part.splitlines()
            if line.startswith("| `")}


def test_json_result_has_exactly_the_documented_keys():
    data = json.loads(in_process("diff", "x^T A x", "x", "--format", "json", "--check", "--steps").stdout)
    assert set(data) == _documented_keys("A result")
    d = api.diff("x^T A x", "x")
    assert data["schema"] == 1 and data["ok"] is True and data["matcalc"] == api.__version__
    assert data["expression"] == "x^T A x" and data["wrt"] == ["x"] and data["order"] == 1
    assert data["result"] == str(d) and data["latex"] == d.latex()
    assert data["equation"] == d.latex(equation=True) and data["description"] == d.describe()
    assert data["symbols"] == {"x": {"kind": "vector", "shape": ["n", 1]}, "A": {"kind": "matrix", "shape": ["n", "n"]}}
    assert data["shape"] == ["n", 1] and data["tensor"] is False and data["warnings"] == []
    assert data["vec"] is None


def test_json_error_has_exactly_the_documented_keys_on_stdout():
    result = matcalc("diff", "x + y^T", "x", "--format", "json")
    assert result.returncode == 2 and result.stderr == ""
    data = json.loads(result.stdout)
    assert set(data) == {"schema", "matcalc", "ok", "error"} and data["ok"] is False
    assert set(data["error"]) == _documented_keys("An error")
    assert data["error"] == {"type": "ShapeError", "message": "cannot add x (n x 1) and y^T (1 x m)",
                             "line": 1, "column": 3, "source_line": "x + y^T",
                             "description": "matcalc: cannot add x (n x 1) and y^T (1 x m)\n  x + y^T\n    ^"}


def test_json_errors_of_every_stage():
    cases = [(["diff", "-", "x", "--format", "json"], "x^T A\n  + * x\n", "ParseError", 2, 5),
             (["diff", "foo(x)", "x", "--format=json"], None, "UnknownNameError", 1, 1),
             (["diff", "x^T x", "x", "--format", "json", "--layout", "sideways"], None, "UsageError", None, None),
             (["diff", "tr(B kron(A, X))", "X", "--format", "json"], None, "NotDifferentiableError", None, None)]
    for args, stdin, kind, line, column in cases:
        result = in_process(*args, stdin=stdin)
        assert result.returncode == 2 and result.stderr == "", args
        error = json.loads(result.stdout)["error"]
        assert (error["type"], error["line"], error["column"]) == (kind, line, column), (args, error)
        assert error["message"] and "Traceback" not in result.stdout
        assert error["type"] in _documented_error_types()


def _documented_error_types():
    text = open(os.path.join(ROOT, "docs", "json.md"), encoding="utf-8").read()
    row = next(line for line in text.splitlines() if line.startswith("| `type` |"))
    return set(re.findall(r"`(\w+Error)`", row))


@POSIX
def test_a_closed_standard_input_in_json():
    result = subprocess.run([sys.executable, "-m", "matcalc", "diff", "-", "x", "--format", "json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2 and result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "UsageError" and error["message"].startswith("standard input is closed")


def test_json_warnings_are_in_the_document():
    result = in_process("diff", "x^T A x", "X", "--format", "json")
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout)["warnings"] == ["X does not occur in the expression: its derivative is 0"]


# ------------------------------------------------------------------ errors no input reaches today
def matcalc_patched(patch, *args):
    """Run the CLI after `patch` (Python source) replaces a stage, to reach an error path."""
    program = f"import sys\n{patch}\nfrom matcalc.cli import main\nsys.argv[0] = 'matcalc'\nmain()\n"
    return subprocess.run([sys.executable, "-c", program, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=TIMEOUT)


RAISES = "import matcalc.api\ndef diff(*args, **kwargs):\n    raise {}\nmatcalc.api.diff = diff"
FAILS_CHECK = ("import matcalc.api, matcalc.errors\ndef check(self, **options):\n"
               "    raise matcalc.errors.CheckError('entry (1, 1) differs')\n"
               "matcalc.api.Derivative.check = check")


def test_out_of_memory_is_a_clear_message():
    result = matcalc_patched(RAISES.format("MemoryError"), "diff", "x^T x", "x")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "matcalc: the input is too large: it ran out of memory (try smaller sizes)\n"
    data = json.loads(matcalc_patched(RAISES.format("MemoryError"), "diff", "x^T x", "x", "--format", "json").stdout)
    assert data["error"]["type"] == "LimitError"


def test_recursion_error_is_a_clear_message():
    result = matcalc_patched(RAISES.format("RecursionError"), "diff", "x^T x", "x")
    assert result.returncode == 2 and result.stderr == "matcalc: input nested too deeply\n"


def test_an_internal_error_is_one_line_and_its_own_status():
    result = matcalc_patched(RAISES.format("ValueError('oops')"), "diff", "x^T x", "x")
    assert result.returncode == 70 and result.stdout == ""
    assert result.stderr == "matcalc: internal error, please report it: ValueError: oops\n"


def test_a_failed_check_exits_1_in_text_and_json():
    result = matcalc_patched(FAILS_CHECK, "diff", "x^T x", "x", "--check")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "matcalc: check failed: entry (1, 1) differs\n"
    result = matcalc_patched(FAILS_CHECK, "diff", "x^T x", "x", "--check", "--format", "json")
    assert result.returncode == 1 and result.stderr == ""
    assert json.loads(result.stdout)["error"]["type"] == "CheckError"


def test_json_is_exact_on_a_terminal_that_is_not_utf8():
    utf8 = json.loads(matcalc("diff", "x x^T", "x", "--format", "json").stdout)
    result = matcalc("diff", "x x^T", "x", "--format", "json", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0 and result.stdout.isascii()
    assert json.loads(result.stdout) == utf8 and utf8["result"].startswith("∂(x x^T)_ij")


def test_a_symmetric_convention_without_a_symmetric_variable_is_refused():
    for convention in ("gradient", "entries"):
        result = in_process("diff", "x^T A x", "x", "--symmetric-as", convention)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("matcalc: --symmetric-as applies to a derivative by a symmetric matrix")
    assert ok("diff", "tr(A S)", "S", "--symmetric", "S", "--symmetric-as", "gradient")[0] == \
        str(api.diff("tr(A S)", "S", symmetric="S"))


def test_a_declared_name_absent_from_the_expression_is_warned_about():
    result = in_process("diff", "lamda x^T x", "x", "--scalar", "lambda", "--symmetric", "S,A",
                        "--declare", "y: vector[n]", "--declare", "x: vector[n]")
    assert result.returncode == 0
    assert result.stderr.splitlines() == [f"matcalc: warning: {name} is declared but does not occur in the expression"
                                          for name in ("lambda", "S", "A", "y")]
    quiet = in_process("diff", "a x^T S x", "x", "--scalar", "a", "--symmetric", "S", "--declare", "x: vector[n]")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_time_limit_stops_a_long_derivative_in_one_line():
    chain = "x^T " + " ".join(["A B"] * 150) + " x"      # minutes without a limit
    result = matcalc("diff", chain, "A", "--time-limit", "0.5")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["matcalc: gave up after the time limit of 0.5 s: the expression is "
                                          "too large to finish in time (diff(..., time_limit=...) or "
                                          "--time-limit changes it)"]
    assert matcalc("diff", "x^T x", "x", "--time-limit", "5").stdout.splitlines()[0] == "2 x"


# ------------------------------------------------------------------ matcalc codegen (docs/codegen.md)
def _module(*args):
    namespace: dict = {}
    exec(compile("\n".join(ok("codegen", *args)), "<matcalc codegen>", "exec"), namespace)  # noqa: S102
    return namespace


def test_codegen_returns_value_gradient_and_hessian_together():
    import numpy as np
    module = _module("||y - Phi theta||^2", "theta", "--value", "--gradient", "--hessian", "--self-test")
    rng = np.random.default_rng(2)
    y, Phi, theta = rng.normal(size=5), rng.normal(size=(5, 3)), rng.normal(size=3)
    value, gradient, hessian = module["evaluate"](y, Phi, theta)
    residual = y - Phi @ theta
    assert value == pytest.approx(residual @ residual)
    np.testing.assert_allclose(gradient, (-2 * Phi.T @ residual).reshape(-1, 1), rtol=1e-12)
    np.testing.assert_allclose(hessian, 2 * Phi.T @ Phi, rtol=1e-12)
    assert module["self_test"]() is True


def test_codegen_defaults_to_value_and_gradient_and_one_result_is_returned_alone():
    import numpy as np
    x, A = np.array([1.0, 2.0]), np.array([[1.0, 2.0], [3.0, 4.0]])
    value, gradient = _module("x^T A x", "x")["evaluate"](x, A)
    assert value == pytest.approx(x @ A @ x)
    np.testing.assert_allclose(gradient.ravel(), (A + A.T) @ x)
    np.testing.assert_allclose(_module("x^T A x", "x", "--hessian")["evaluate"](x, A), A + A.T)


def test_codegen_and_diff_refuse_bad_sizes_and_pairs():
    assert_bad_input(in_process("codegen", "x^T x", "x", "--sizes", "n=ten"), caret=False)
    assert_bad_input(in_process("diff", "x^T x", "x", "--sizes", "n=10"), caret=False)   # text: nothing to size
    assert_bad_input(in_process("codegen", "x^T x +", "x"))
    assert_bad_input(in_process("codegen", "tr(X^T X)", "X", "--scipy"), caret=False)


def test_diff_sizes_choose_the_code():
    """(T - U V^T) V is distributed for a thin V only: --sizes decides."""
    text = "T: matrix[n,m]; U: matrix[n,k]; V: matrix[m,k]; ||T - U V^T||_F^2"
    thin = "\n".join(ok("diff", text, "U", "--format", "numpy", "--sizes", "n=1000,m=1000,k=5"))
    square = "\n".join(ok("diff", text, "U", "--format", "numpy", "--sizes", "n=50,m=50,k=50"))
    assert "U @ (V.T @ V)" in thin and "U @ V.T" in square


@pytest.mark.parametrize("dialect, first", [("jax", "import jax"), ("torch", "import torch")])
def test_diff_prints_code_for_jax_and_torch(dialect, first):
    out = ok("diff", "x^T A x", "x", "--format", dialect)
    assert out[0] == first and "def derivative(x, A):" in out and out[-1].startswith("# mixed layout")
