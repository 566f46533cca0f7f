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
