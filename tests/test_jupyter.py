"""`%load_ext matcalc` in a real IPython shell: `%matcalc` and `%%matcalc` answer what the
command line answers and display it rendered, with the steps; errors display, never raise."""
import json

import pytest

from matcalc import commands
from matcalc.jupyter import Error

interactiveshell = pytest.importorskip("IPython.core.interactiveshell", reason="IPython is not installed")


@pytest.fixture(scope="module")
def shell():
    ipython = interactiveshell.InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "matcalc")
    yield ipython
    interactiveshell.InteractiveShell.clear_instance()


def cli_json(*argv):
    return json.loads(commands.answer(["diff", "--format", "json", *argv])[1])


def run(shell, source):
    """The value of a cell, as the notebook would display it; an error in the cell fails the test."""
    outcome = shell.run_cell(source)
    assert outcome.error_before_exec is None and outcome.error_in_exec is None
    return outcome.result


def test_load_ext_registers_a_line_and_a_cell_magic(shell):
    magics = shell.magics_manager.magics
    assert "matcalc" in magics["line"] and "matcalc" in magics["cell"]


def test_the_line_magic_shows_the_rendered_result_and_its_steps(shell):
    result = run(shell, '%matcalc diff "||y - Phi theta||^2" theta')
    expected = cli_json("||y - Phi theta||^2", "theta", "--steps")
    assert result.document == expected
    bundle = result._repr_mimebundle_()
    markdown = bundle["text/markdown"]
    assert markdown.startswith(f"$${expected['equation']}$$")
    assert f"$${expected['steps']['latex']}$$" in markdown
    assert f"`{expected['description']}`" in markdown and "`-2 Phi^T (y - Phi theta)`" in markdown
    assert bundle["text/latex"] == f"$${expected['equation']}$$"
    assert bundle["text/plain"] == "-2 Phi^T (y - Phi theta)\n# " + expected["description"]


def test_options_are_the_command_lines(shell):
    result = run(shell, '%matcalc diff "x^T S x" x --symmetric S --layout numerator --check')
    assert result.document == {**cli_json("x^T S x", "x", "--symmetric", "S", "--layout", "numerator", "--check",
                                          "--steps"), "check": result.document["check"]}
    assert str(result) == "2 x^T S"
    assert result.document["check"]["summary"].startswith("elementwise SymPy at n=")
    assert "checked: `elementwise SymPy" in result._repr_markdown_()


def test_the_cell_magic_reads_the_cell_as_the_expression(shell):
    source = "H1 = W1^T x;\nH2 = W2^T H1;\nyhat = W3^T H2;\n1/2 ||yhat - y||^2"
    result = run(shell, f"%%matcalc W1\n{source}\n")
    assert result.document == cli_json(source, "W1", "--steps")
    assert str(result) == "H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; x (yhat - y)^T W3^T W2^T"


def test_a_tensor_shows_its_vec_form(shell):
    result = run(shell, '%matcalc "W x" W')    # "diff" may be left out
    markdown = result._repr_markdown_()
    assert f"$${result.document['vec']['latex']}$$" in markdown and "`kron(x^T, I)`" in markdown


def test_a_result_without_a_derivation_still_shows_and_says_why(shell):
    refused = cli_json("W", "x", "W", "--steps")["error"]
    result = run(shell, "%matcalc diff W x W")
    assert result.document == cli_json("W", "x", "W") and result.document["steps"] is None
    assert result._repr_markdown_().endswith("No derivation for this one: " + refused["message"])


def test_another_format_is_the_command_lines_output(shell):
    output = run(shell, '%matcalc diff "x^T A x" x --format numpy')
    assert repr(output) + "\n" == commands.answer(["diff", "x^T A x", "x", "--format", "numpy"])[1]
    assert output._repr_markdown_().startswith("```\nimport numpy as np\n")


def test_an_error_is_displayed_with_its_place_not_raised(shell):
    error = run(shell, "%%matcalc x\nscalar a;\nx + a y^T")
    expected = cli_json("scalar a;\nx + a y^T", "x")["error"]
    assert repr(error) == expected["description"]
    page = error._repr_html_()
    assert "line 2, column 3:\nx <mark>+</mark> a y^T\n  ^" in page
    assert "Traceback" not in page


@pytest.mark.parametrize("source, message", [
    ("%matcalc", "write %matcalc diff"),
    ('%matcalc diff "x^T x', "cannot read the magic's line"),
    ("%matcalc diff - x", "standard input"),
    ("%%matcalc x\n   \n", "the cell is empty"),
    ("%matcalc diff x^T x x --layout sideways", "argument --layout: invalid choice"),
])
def test_a_magic_that_cannot_be_answered_says_why(shell, source, message):
    error = run(shell, source)
    assert isinstance(error, Error) and message in repr(error)


@pytest.mark.slow
def test_a_notebook_kernel_displays_the_magics_output():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext matcalc"),
        nbformat.v4.new_code_cell('%matcalc diff "x^T A x" x'),
        nbformat.v4.new_code_cell("%%matcalc x\nx + y^T")])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    shown = notebook.cells[1].outputs[0]["data"]
    expected = cli_json("x^T A x", "x", "--steps")
    assert shown["text/markdown"].startswith(f"$${expected['equation']}$$")
    assert f"$${expected['steps']['latex']}$$" in shown["text/markdown"]
    error = notebook.cells[2].outputs[0]["data"]
    assert "<mark>+</mark>" in error["text/html"] and error["text/plain"] == cli_json("x + y^T", "x")["error"]["description"]
