"""LaTeX output: golden files, and every output rendered by a real renderer (KaTeX, with node).

The `katex` fixture (conftest.py) renders with KaTeX under node. Golden files are
rewritten with MATCALC_UPDATE_GOLDEN=1.
"""
import os
from pathlib import Path

import pytest

import matcalc

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"

# (file stem, expression, variable, options): results and derivations written for slides
CASES = [
    ("quadratic_form", "x^T A x", "x", {}),
    ("quadratic_form_numerator", "x^T A x", "x", {"layout": "numerator"}),
    ("least_squares", "||y - Phi theta||^2", "theta", {}),
    ("trace_quadratic", "tr(X^T A X)", "X", {}),
    ("chain_rule_seed", "scalar t; x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2)", "t", {}),
    ("linear_network", "H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2", "W1", {}),
    ("logistic_loss", "sum(log(1 + exp(-y .* (X w))))", "w", {}),
    ("logdet", "logdet(X)", "X", {}),
    ("softmax_jacobian", "softmax(W x)", "x", {}),
    ("vector_by_matrix", "W x", "W", {}),
    ("matrix_by_matrix", "X^T X", "X", {}),
    ("inverse_by_matrix", "X^-1", "X", {"layout": "numerator"}),
    ("hessian_by_matrix", "tr(X^T A X)", "X", {"order": 2}),
    ("third_derivative", "sum(exp(x))", "x", {"order": 3}),
]


def _outputs(expression, wrt, options):
    d = matcalc.diff(expression, wrt, **options)
    outputs = {"result.tex": d.latex(equation=True) + "\n"}
    if d.order == 1:
        outputs["steps.tex"] = d.steps().latex() + "\n"
    if len(d.shape) > 2:
        outputs["vec.tex"] = d.vec().latex() + "\n"
    return outputs


@pytest.mark.parametrize("stem, expression, wrt, options", CASES, ids=[c[0] for c in CASES])
def test_golden_latex(stem, expression, wrt, options):
    for suffix, text in _outputs(expression, wrt, options).items():
        path = GOLDEN / f"{stem}.{suffix}"
        if os.environ.get("MATCALC_UPDATE_GOLDEN"):
            path.write_text(text, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == text, f"{path.name} differs; see the diff above"


def test_golden_files_render_in_katex(katex):
    files = sorted(GOLDEN.glob("*.tex"))
    assert {f.name for f in files} == {f"{stem}.{suffix}" for stem, expression, wrt, options in CASES
                                       for suffix in _outputs(expression, wrt, options)}
    errors = katex([f.read_text(encoding="utf-8") for f in files])
    assert [(f.name, e) for f, e in zip(files, errors) if e] == []


def test_every_identity_renders_in_katex(katex):
    import test_identities
    texts, labels = [], []
    for row in test_identities.ROWS:
        for layout in ("mixed", "numerator", "denominator"):
            d = matcalc.diff(row.expr, row.wrt, layout=layout, **row.decl)
            texts.append(d.latex(equation=True))
            labels.append(f"{row.id} [{layout}]")
        texts.append(matcalc.diff(row.expr, row.wrt, **row.decl).steps().latex())
        labels.append(f"{row.id} steps")
        texts.append(matcalc.diff(row.expr, row.wrt, **row.decl).latex(bold_vectors=False))
        labels.append(f"{row.id} plain")
        texts.append(matcalc.diff(row.expr, row.wrt, **row.decl).vec().latex())
        labels.append(f"{row.id} vec form")
    for hid, expr, variables, dims, fn, decl in test_identities.HIGHER:
        d = matcalc.diff(expr, variables, **decl)
        texts += [d.latex(equation=True), d.vec().latex()]
        labels += [f"{hid}", f"{hid} vec form"]
        try:
            texts.append(d.steps().latex())
            labels.append(f"{hid} steps")
        except matcalc.MatcalcError as exc:   # the last step differentiates a tensor's vec form
            assert "vec form" in str(exc) and len(variables) > 3
    errors = katex(texts)
    assert [(label, tex, e) for label, tex, e in zip(labels, texts, errors) if e] == []


def test_bad_latex_is_caught(katex):
    """The renderer check can fail: a broken string is reported."""
    assert katex([r"\frac{1}{", r"x^{2}"]) [0] is not None


ODD_NAMES = ["x_", "a__b", "x_y_z", "_", "__", "_x", "x__hat", "x_hat", "W1", "W_1", "W_a1", "Phi_2b", "θ", "θ_1",
             "Ω", "ς", "名", "é", "Ж", "ª", "x٣", "ﬁ", "ℌ", "lambda_", "theta_hat", "y_hat_2", "a1b", "αβ", "xᵢ"]


def _random_names(count: int, seed: int = 12) -> list:
    """Names the language reads (a letter or _ first), over ASCII, digits, _ and other scripts."""
    import random
    rng = random.Random(seed)
    alphabet = "abcxyzABXW0129____θαΩς名éЖªﬁℌ٣"
    names = []
    while len(names) < count:
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        if name.isidentifier() and not name[0].isdigit():
            names.append(name)
    return names


def test_every_name_renders_in_katex(katex):
    from matcalc.emit_latex import name_latex
    names = ODD_NAMES + _random_names(300)
    texts, labels = [], []
    for name in names:
        for kind in ("scalar", "vector", "matrix"):
            for bold in (True, False):
                texts.append(name_latex(name, kind, bold))
                labels.append((name, kind, bold))
    errors = katex(texts)
    assert [(label, tex, e) for label, tex, e in zip(labels, texts, errors) if e] == []


def test_odd_names_render_in_whole_results(katex):
    """A derivative, its steps and its index form with odd names for a vector, a matrix and
    an intermediate render; every name the language reads is used."""
    texts = []
    for name in ODD_NAMES + _random_names(60, seed=5):
        program = f"{name}: vector[n]; Q: matrix[n,n]; h_ = Q {name}; {name}^T h_ + sum(exp({name}))"
        try:
            d = matcalc.diff(program, name)
        except matcalc.MatcalcError:
            continue      # a reserved word is not a name
        texts += [d.latex(equation=True), d.steps().latex(), matcalc.diff(program, "Q").latex(equation=True)]
    assert len(texts) > 150
    errors = katex(texts)
    assert [(tex, e) for tex, e in zip(texts, errors) if e] == []


def test_names_keep_their_regular_forms():
    from matcalc.emit_latex import name_latex
    assert name_latex("W1", "matrix") == "W_{1}"
    assert name_latex("theta", "vector") == r"\boldsymbol{\theta}"
    assert name_latex("θ", "vector") == r"\boldsymbol{\theta}"
    assert name_latex("xhat", "vector") == r"\hat{\mathbf{x}}"
    assert name_latex("x_hat", "vector") == r"\mathbf{x}_{hat}"
    assert name_latex("x_y_z", "scalar") == r"\mathrm{x\_y\_z}"
    assert name_latex("x_", "vector") == r"\mathbf{x\_}"
    assert name_latex("ª", "scalar") == r"\text{U+00AA}"


def test_index_forms_with_definitions_render_in_katex(katex):
    texts = []
    for name in ("u1", "x_y_z", "θ", "a__b"):
        d = matcalc.diff(f"{name} = tanh(W1 x); u2 = tanh(W2 {name}); ||u2 - y||^2", ("W1", "W2"))
        assert d.is_tensor
        texts += [d.latex(equation=True), d.index_form().latex(equation=False), d.vec().latex()]
    assert katex(texts) == [None] * len(texts)
