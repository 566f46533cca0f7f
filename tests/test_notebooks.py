"""Every teaching notebook in notebooks/ runs top to bottom without an error.

The notebooks contain their own `assert`s (symbolic results against hand formulas and finite
differences), so executing them is a real test of the engine.
"""
import os
import re
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = [
    "000_gradient_jacobian_hessian.ipynb",
    "001_vector_valued_functions.ipynb",
    "002_linear_network_backprop.ipynb",
    "003_backprop_matrix_calculus.ipynb",
    "004_tensors_and_vec_forms.ipynb",
]


def test_exactly_these_notebooks():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_saved_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{name}: saved with outputs"
            assert cell.get("execution_count") is None


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_has_value_checks(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "assert " in code and "matcalc.diff(" in code


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_executes(name, monkeypatch, katex):
    # the kernel must import this checkout's matcalc even when it is not installed
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError if a cell raised

    # errors that do not abort execution (e.g. raised while a figure is rendered) still count
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{name} cell {i}: {out.ename}: {out.evalue}"
            if out.output_type == "stream" and out.name == "stderr":
                assert "Traceback" not in out.text, f"{name} cell {i}: {out.text}"

    # every formula the notebook shows renders in KaTeX: rendered outputs and Markdown math
    formulas = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            formulas += [m.group(1) or m.group(2) for m in
                         re.finditer(r"\$\$(.+?)\$\$|(?<!\$)\$([^$\n]+?)\$(?!\$)", cell.source, flags=re.S)]
        for out in cell.get("outputs", []):
            latex = out.get("data", {}).get("text/latex")
            if latex:
                formulas.append(latex.strip().strip("$").removeprefix("\\displaystyle").strip())
    assert formulas, f"{name} shows no formulas"
    errors = katex(formulas)
    assert [(f, e) for f, e in zip(formulas, errors) if e] == []
