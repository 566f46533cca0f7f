"""`%load_ext matcalc`: the `%matcalc` line magic and the `%%matcalc` cell magic for IPython and Jupyter.

    %matcalc diff "x^T A x" x --layout numerator      (options as on the command line)

    %%matcalc theta --check                           (the line: the variable(s) and options)
    ||y - Phi theta||^2                               (the cell: the expression, over lines)

Contract: a magic answers exactly what `matcalc diff ... --format json --steps` answers
(`commands.answer`, so options, declarations and errors mean what they mean on the command
line) and returns a display object: a `Result` shows the derivative rendered, its layout,
shape and kinds, its text form and its derivation, rule by rule; an `Error` shows the
command line's message with the place marked, never a traceback.  `--format numpy` (or
any other format) gives that format's output as `Output`.  The expression is never read
from standard input (`-`): a notebook has none.
"""
from __future__ import annotations

import html
import json
import shlex


class Result:
    """A derivative as the command line's JSON document (docs/json.md) describes it.

    Notebooks render `text/markdown` with the mathematics typeset (JupyterLab, the classic
    notebook, VS Code, nbconvert): `_repr_latex_` alone could show one formula, not the
    description, the text form and the derivation beside it."""

    def __init__(self, document: dict, no_steps: str | None = None):
        self.document = document
        self.no_steps = no_steps     # why there is no derivation, where there is none

    def __str__(self) -> str:
        return self.document["result"]

    def __repr__(self) -> str:
        return f"{self.document['result']}\n# {self.document['description']}"

    def _repr_latex_(self) -> str:
        return f"$${self.document['equation']}$$"

    def _repr_markdown_(self) -> str:
        d = self.document
        parts = [f"$${d['equation']}$$", f"{_code(d['description'])}", f"text: {_code(d['result'])}"]
        if d["vec"] is not None:
            parts += [f"vec form, {_code(d['vec']['heading'])}:", f"$${d['vec']['latex']}$$", _code(d["vec"]["result"])]
        parts += [f"warning: {_code(warning)}" for warning in d["warnings"]]
        if d["check"] is not None:
            parts.append(f"checked: {_code(d['check']['summary'])}")
        if d["steps"] is not None:
            parts += ["**Derivation**", f"$${d['steps']['latex']}$$"]
        elif self.no_steps:
            parts.append(f"No derivation for this one: {self.no_steps}")
        return "\n\n".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/markdown": self._repr_markdown_(), "text/latex": self._repr_latex_(),
                "text/plain": repr(self)}


class Error:
    """A refused input, as the command line prints it: the message, the line and a caret."""

    def __init__(self, document: dict):
        self.error = document["error"]

    def __repr__(self) -> str:
        return self.error["description"]

    def _repr_html_(self) -> str:
        e = self.error
        lines = [f'<p style="color:#b3261e;font-weight:600">{html.escape(e["description"].splitlines()[0])}</p>']
        if e["line"] is not None and e["column"] is not None and e["source_line"] is not None:
            at = e["column"] - 1
            line = e["source_line"]
            lines.append(f"<pre>line {e['line']}, column {e['column']}:\n{html.escape(line[:at])}"
                         f"<mark>{html.escape(line[at:at + 1] or ' ')}</mark>{html.escape(line[at + 1:])}\n"
                         f"{' ' * at}^</pre>")
        return "\n".join(lines)


class Output:
    """What the command line prints in another format (`--format numpy`: a Python function)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text.rstrip("\n")

    def _repr_markdown_(self) -> str:
        return "```\n" + self.text.rstrip("\n") + "\n```"


def _code(text: str) -> str:
    """Inline code in Markdown, so `*`, `_` and `|` in shapes and names stay as typed."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _refusal(message: str) -> Error:
    return Error({"error": {"type": "UsageError", "message": message, "line": None, "column": None,
                            "source_line": None, "description": "matcalc: " + message}})


def answer(argv: list):
    """The display object for the command line `argv` (starting with `diff`)."""
    from .commands import answer as cli_answer
    if any(arg == "--format" or arg.startswith("--format=") for arg in argv):
        status, out, err = cli_answer(argv)
        return Output(out + err)
    document = json.loads(cli_answer([*argv, "--steps", "--format", "json"])[1])
    if not document["ok"] and _steps_may_be_the_problem(document["error"]):
        without = json.loads(cli_answer([*argv, "--format", "json"])[1])   # some results have no derivation
        if without["ok"]:
            return Result(without, no_steps=document["error"]["message"])
    return Result(document) if document["ok"] else Error(document)


def _steps_may_be_the_problem(error: dict) -> bool:
    """An error with a place is the input's, a time-out would only repeat, a usage error is the line's."""
    return error["line"] is None and error["type"] not in ("LimitError", "UsageError")


def matcalc_magic(line: str, cell: str | None = None):
    """%matcalc diff EXPR WRT [options], or %%matcalc WRT [options] with the cell as EXPR."""
    try:
        words = shlex.split(line)
    except ValueError as exc:      # an unclosed quote
        return _refusal(f"cannot read the magic's line: {exc}")
    if words[:1] == ["diff"]:
        words = words[1:]
    if cell is not None:
        if not cell.strip():
            return _refusal("the cell is empty: write the expression in the cell, the variable on the %%matcalc line")
        words = [cell.strip(), *words]
    if not words:
        return _refusal('write %matcalc diff "x^T A x" x (the expression, then the variable), '
                        "or the expression in a %%matcalc cell")
    if words[0] == "-":
        return _refusal("'-' reads the expression from standard input, which a notebook has not: write it out")
    return answer(["diff", *words])


def register(ipython) -> None:
    """Register `%matcalc` and `%%matcalc` with an IPython shell (called by `%load_ext matcalc`)."""
    ipython.register_magic_function(matcalc_magic, magic_kind="line_cell", magic_name="matcalc")
