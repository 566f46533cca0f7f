"""The grammar is unambiguous, reads every form of SYNTAX.md, and printing parses back."""
import os
import subprocess
import sys

import numpy as np
import pytest
from lark import Lark

import matcalc
from matcalc import expr as E
from matcalc.errors import ParseError, ShapeError
from matcalc.resources import read_text
from matcalc.analyse import Declared, analyse_rule
from matcalc.evaluate_numpy import evaluate
from matcalc.syntax import NormBars, parse_program, parse_rule_line


def test_grammar_builds_strict_lalr():
    # strict=True turns every shift/reduce conflict and terminal collision into an error
    Lark(read_text("grammar", "matcalc.lark"), parser="lalr", start=["program", "rule"],
         postlex=NormBars(), strict=True)


# (input, canonical text)
FORMS = [
    ("x^T A x", "x^T A x"),
    ("x' A x", "x^T A x"),
    ("x^⊤ A x", "x^T A x"),
    ("x^T * A @ x", "x^T A x"),
    ("X^-1", "X^-1"),
    ("X^(-1)", "X^-1"),
    ("inv(X)", "X^-1"),
    ("(X^-1)^T", "X^-T"),
    ("(X^T)^-1", "X^-T"),
    ("X^-T", "X^-T"),
    ("inv(X)^T", "X^-T"),
    ("X^3", "X^3"),
    ("X X X", "X^3"),
    ("scalar a; a^2", "a^2"),
    ("x .^ 2", "x .^ 2"),
    ("x .* y", "x .* y"),
    ("x ∘ y", "x .* y"),
    ("x ⊙ y", "x .* y"),
    ("x ./ y", "x ./ y"),
    ("x / 2", "1/2 x"),
    ("A ⊗ B", "kron(A, B)"),
    ("kron(A, B)", "kron(A, B)"),
    ("scalar a; -a^2", "-a^2"),
    ("1/2 ||e||^2", "1/2 ||e||^2"),
    ("||x||_2", "||x||"),
    ("norm(x)", "||x||"),
    ("||X||_F", "||X||_F"),
    ("||x||_1", "||x||_1"),
    ("‖x‖", "||x||"),
    ("||a|| * ||b||", "||a|| ||b||"),
    ("tr(X)", "tr(X)"),
    ("det(X) + logdet(X)", "det(X) + logdet(X)"),
    ("diag(x)", "diag(x)"),
    ("diag(X)", "diag(X)"),
    ("sum(x)", "sum(x)"),
    ("1^T x", "1^T x"),
    ("1 - tanh(x) .* tanh(x)", "1 - tanh(x) .^ 2"),
    ("exp(x) + log(x) + sin(x) + cos(x) + sigmoid(x) + sqrt(x) + abs(x) + relu(x) + softplus(x)",
     "abs(x) + cos(x) + exp(x) + log(x) + relu(x) + sigmoid(x) + sin(x) + softplus(x) + sqrt(x)"),
    ("softmax(x)", "softmax(x)"),
    ("logsumexp(x)", "logsumexp(x)"),
    ("scalar t; [t, 2 t; 3, t]", "[t, 2 t; 3, t]"),
    ("scalar t; x = [t cos(t); t sin(t)]; x[2]", "x = [t cos(t); t sin(t)]; x[2]"),
    ("scalar t; [t cos(t); t sin(t)][2]", "t sin(t)"),
    ("X[2, 1]", "X[2, 1]"),
    ("x[3]", "x[3]"),
    ("(A + A^T)^T", "A + A^T"),
    ("(A B)^T", "B^T A^T"),
    ("x^T y + y^T x", "2 x^T y"),
    ("2 * 3 * x / 4", "3/2 x"),
    ("S^T", "S^T"),
    ("S: symmetric[n]; S^T", "S"),
    ("x: vector[n]; A: matrix[n,n]; x^T A x", "x^T A x"),
    ("vector w; w^T w", "w^T w"),
    ("scalar a, lambda; a x + lambda y", "a x + lambda y"),
    ("h = W x; tanh(h)", "h = W x; tanh(h)"),
    ("h = W x; g = tanh(h); h + g", "h = W x; g = tanh(h); g + h"),
]


@pytest.mark.parametrize("text, canonical", FORMS)
def test_every_form_reads_and_prints_canonically(text, canonical):
    e = matcalc.parse(text)
    assert str(e) == canonical


@pytest.mark.parametrize("text, canonical", FORMS)
def test_printed_text_parses_back_to_the_same_expression(text, canonical):
    """Equal up to the names given to unknown dimensions, which depend on reading order."""
    program = parse_program(text)
    declarations = "; ".join(
        f"{d.name}: {d.kind}" + (f"[{d.dims[0]}]" if d.kind in ("vector", "symmetric") and d.dims else
                                 f"[{d.dims[0]},{d.dims[1]}]" if d.kind == "matrix" and d.dims else "")
        for d in program.declarations)
    original = matcalc.parse(text)
    again = matcalc.parse((declarations + "; " if declarations else "") + str(original))
    assert str(again) == str(original)
    assert again.op == original.op and again.size == original.size


def test_dimensions_are_unified_and_named_in_order():
    e = matcalc.parse("||y - Phi theta||^2")
    inner = e.args[0].args[0]
    assert inner.shape == ("n", 1)
    analysis = matcalc.diff("||y - Phi theta||^2", "theta").analysis
    assert {n: s.shape for n, s in analysis.symbols.items()} == {
        "y": ("n", 1), "Phi": ("n", "m"), "theta": ("m", 1)}


def test_interning_makes_equal_expressions_identical():
    assert matcalc.parse("A x + B x") is matcalc.parse("B x + A x")
    assert E.transpose(E.transpose(matcalc.parse("A"))) is matcalc.parse("A")


@pytest.mark.parametrize("text, message, column", [
    ("x + y^T", "cannot add x (n x 1) and y^T (1 x m)", 3),
    ("A x x", "cannot multiply A x (n x 1) by x (m x 1)", 5),
    ("tr(x)", "the trace needs a square matrix, not x (n x 1)", 1),
    ("x: vector[n]; y: vector[m]; x - y", "cannot subtract x (n x 1) and y (m x 1)", 31),
    ("x / y", "cannot divide by y (m x 1)", 3),
    ("||A||", "A (n x m) is a matrix: write ||X||_F", 1),
])
def test_shape_errors_name_both_operands_and_point_at_the_operator(text, message, column):
    with pytest.raises(ShapeError) as caught:
        matcalc.parse(text)
    assert message in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, column)
    assert caught.value.describe().splitlines()[-1] == " " * (2 + column - 1) + "^"


@pytest.mark.parametrize("text, column", [("x + ", 5), ("x ++ y", 4), ("(x", 3), ("x $ y", 3),
                                          ("tr(", 4), ("||x", 4)])
def test_syntax_errors_carry_line_and_column(text, column):
    with pytest.raises(ParseError) as caught:
        matcalc.parse(text)
    assert (caught.value.line, caught.value.column) == (1, column)


def test_differentials_belong_to_rules_files():
    with pytest.raises(matcalc.MatcalcError, match="differential"):
        matcalc.parse("d(x)")
    assert str(matcalc.parse("scalar d; d (x)")) == "d x"


def test_latex_grammar_builds_strict_lalr():
    from matcalc.latex_input import Bars
    Lark(read_text("grammar", "latex.lark"), parser="lalr", postlex=Bars(), strict=True)


def _run(code: str, cache_home: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_CACHE_HOME=cache_home)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("damage", [b"garbage", b"", None])
def test_a_damaged_parser_cache_is_rebuilt_and_rewritten(tmp_path, damage):
    code = "import matcalc; print(matcalc.parse('x^T A x')); print(matcalc.parse(r'\\mathbf{x}^\\top A \\mathbf{x}'))"
    first = _run(code, str(tmp_path))
    assert first.returncode == 0, first.stderr
    caches = sorted((tmp_path / "matcalc").glob("*.lark-cache"))
    assert [p.name.split("-")[0] for p in caches] == ["latex", "matcalc"]
    for path in caches:
        good = path.read_bytes()
        path.write_bytes(good[:len(good) // 2] if damage is None else damage)
    again = _run(code, str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout == "x^T A x\nx^T A x\n"
    assert all(path.stat().st_size > 1000 for path in caches)     # rewritten whole


def test_plain_input_loads_neither_the_latex_grammar_nor_difflib(tmp_path):
    code = ("import sys, matcalc; matcalc.diff('x^T A x', 'x'); "
            "print(sorted(m for m in ('matcalc.latex_input', 'difflib') if m in sys.modules))")
    assert _run(code, str(tmp_path)).stdout == "[]\n"


def test_scientific_notation_and_unicode_forms():
    assert matcalc.parse("1e-3 x") is matcalc.parse("1/1000 x")
    assert matcalc.parse("scalar a; ||x a²||") is matcalc.parse("scalar a; ||x a^2||")
    assert matcalc.parse("||A + eye||_F") is matcalc.parse("||A + I||_F")
    assert matcalc.parse("‖x‖²") is matcalc.parse("||x||^2")
    assert matcalc.parse("x₁₂") is matcalc.parse("x_12")
    assert matcalc.parse("x.T @ A") is matcalc.parse("x^T A")


def test_entries_of_symbolic_size_parse():
    e = matcalc.parse("x: vector[n]; s x[5]")     # the entry's range is checked where n is known
    assert e.shape == ("m", 1) and str(e) == "x[5] s"


def test_a_name_defined_twice_points_at_the_second_definition():
    with pytest.raises(matcalc.MatcalcError) as caught:
        matcalc.parse("u = A x;\nu = B x; u^T u")
    assert caught.value.message == "u is defined twice (first at line 1, column 1)"
    assert (caught.value.line, caught.value.column) == (2, 1)


def test_the_parser_cache_is_keyed_by_the_grammar_text(tmp_path, monkeypatch):
    from matcalc.syntax import _cache_path
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _cache_path("matcalc.lark", "start: A") != _cache_path("matcalc.lark", "start: B")
    assert _cache_path("matcalc.lark", "start: A") == _cache_path("matcalc.lark", "start: A")


@pytest.mark.parametrize("text, shape", [
    ("A: matrix[n,2]; kron(I, A^T) + kron(A^T, I) commutation(n, 2)", (4, "2*n")),   # m*2 = 4: m = 2
    ("y: vector[2]; kron(y, y) + kron(y, I) y", (4, 1)),                               # 2*m = 4
])
def test_products_of_sizes_unify_with_their_value(text, shape):
    assert matcalc.parse(text).shape == shape


def test_a_rule_with_typed_declarations_binds_their_dimensions_on_the_right():
    """`N: matrix[m, n]` in a rules file: commutation(m, n) on the right side takes N's sizes."""
    text = "vec-transpose : A vec(N^T) => A commutation(m, n) vec(N)"
    _, _, lhs, rhs, _ = parse_rule_line(text)
    with pytest.raises(matcalc.MatcalcError, match="does not bind"):
        analyse_rule(text, lhs, rhs, ())
    left, right, variables = analyse_rule(text, lhs, rhs, (), {"N": Declared("matrix", ("m", "n"))})
    assert variables["N"].shape == ("m", "n")
    rng = np.random.default_rng(3)
    values = {"A": rng.normal(size=(4, 6)), "N": rng.normal(size=(2, 3))}
    sizes = {"m": 2, "n": 3, "k": 4}
    assert np.allclose(evaluate(left, values, sizes), evaluate(right, values, sizes))
