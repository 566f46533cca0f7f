"""The Python API: `diff` and the `Derivative` it returns; layouts are applied here.

Contract (SYNTAX.md, "Python API"): a Derivative prints as re-parseable text in
the chosen layout, knows its `shape` and `layout`, renders LaTeX, evaluates
with NumPy with its axes in the layout's order, and cross-checks itself.
The engine computes in one convention (differentiate.py); this module only
orders the axes:
  mixed        axes of f, then axes of the variable
  numerator    axes of f, then axes of the variable reversed
  denominator  axes of the variable, then axes of f reversed
"""
from __future__ import annotations

from fractions import Fraction

from . import expr as E
from .deep import call_deep
from .differentiate import differential, identify
from .errors import MatcalcError, NotDifferentiableError
from .shapes import Analysis, absent_symbol, parse as analyse_text
from .simplify import simplify

LAYOUTS = ("mixed", "numerator", "denominator")


def axes(e: E.Expr) -> int:
    if e.is_scalar:
        return 0
    return 1 if e.shape[0] == 1 or e.shape[1] == 1 else 2


def variable_axes(variable: E.Expr) -> int:
    kind = variable.value[1]
    return {"scalar": 0, "vector": 1}.get(kind, 2)


class Derivative:
    """∂f/∂v in one layout: a printable, evaluable, checkable result."""

    def __init__(self, analysis: Analysis, variable: E.Expr, layout: str, order: int,
                 core: E.Expr, expr: E.Expr):
        self.analysis = analysis
        self.function = analysis.body
        self.variable = variable
        self.layout = layout
        self.order = order
        self.core = core          # the engine's convention: gradient, Jacobian or F'
        self.expr = expr          # arranged in the layout

    @property
    def shape(self) -> tuple:
        return self.expr.shape

    def __str__(self) -> str:
        return str(self.expr)

    def __repr__(self) -> str:
        return f"<Derivative {self} · {self.describe()}>"

    def describe(self) -> str:
        """Layout, shape and the kinds of the symbols, for the line after the result."""
        rows, cols = self.shape
        kinds = ", ".join(_declaration(s) for s in self.analysis.symbols.values())
        return f"{self.layout} layout · {rows} x {cols}" + (f" · {kinds}" if kinds else "")

    def latex(self, equation: bool = False, bold_vectors: bool = True) -> str:
        """LaTeX of the result; with equation=True the whole equation, its layout noted:
        \\frac{\\partial}{\\partial x}(f) = ... . bold_vectors=False writes vectors plain."""
        from .emit_latex import name_latex, to_latex
        result = to_latex(self.expr, bold_vectors)
        if not equation:
            return result
        name = name_latex(self.variable.value[0], self.variable.value[1], bold_vectors)
        power = "^2" if self.order == 2 else ""
        by = (r"\partial " + name) * self.order if self.order == 1 else r"\partial " + name + r" \partial " + name + r"^\top"
        lets = [n for n in E.postorder(self.function) if n.op == "let"]
        where = ", ".join(f"{to_latex(n, bold_vectors)} = {to_latex(n.args[0], bold_vectors)}" for n in lets)
        return (r"\frac{\partial" + power + "}{" + by + r"} \left(" + to_latex(self.function, bold_vectors)
                + r"\right) = " + result + r" \qquad \text{(" + self.layout + " layout"
                + (r"; where } " + where + r"\text{)}" if where else ")}"))

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex(equation=True)}$"

    def evaluate(self, values: dict):
        """The derivative at a point, as NumPy: a float for a scalar, else a 2-D array."""
        from .evaluation import evaluate_at
        return evaluate_at(self, values)

    def steps(self):
        """The derivation, line by line, in the engine's own rules (text, LaTeX, Jupyter)."""
        from .steps import derivation
        if self.order != 1:
            raise NotDifferentiableError("steps are shown for first derivatives in this version")
        return call_deep(derivation, self)

    def check(self, **options):
        """Cross-check against elementwise SymPy and finite differences; raise on mismatch."""
        from .check import check
        return check(self, **options)


def _declaration(symbol: E.Expr) -> str:
    name, kind = symbol.value
    rows, cols = symbol.shape
    if kind == "scalar":
        return f"{name}: scalar"
    if kind == "vector":
        return f"{name}: vector[{rows}]"
    if kind == "symmetric":
        return f"{name}: symmetric[{rows}]"
    return f"{name}: matrix[{rows},{cols}]"


def arrange(core: E.Expr, f: E.Expr, variable: E.Expr, layout: str) -> E.Expr:
    """Order the axes of the engine's result as the layout says (SYNTAX.md, Layouts)."""
    fa, va = axes(f), variable_axes(variable)
    if va == 0:
        column = E.transpose(core) if (fa == 1 and core.is_row) else core
        if layout == "denominator" and fa >= 1:
            return E.transpose(column)
        return column
    if fa == 0:
        return E.transpose(core) if layout == "numerator" else core
    return E.transpose(core) if layout == "denominator" else core


def _symmetrised(gradient: E.Expr, variable: E.Expr) -> E.Expr:
    """For symmetric S the derivative is the symmetric gradient (G + G^T) / 2."""
    if variable.value[1] != "symmetric":
        return gradient
    return E.mul(E.number(Fraction(1, 2)), E.add(gradient, E.transpose(gradient)))


def derivative_of(analysis: Analysis, wrt: str, layout: str = "mixed", order: int = 1) -> Derivative:
    if layout not in LAYOUTS:
        raise MatcalcError(f"unknown layout {layout!r}: choose mixed, numerator or denominator")
    if wrt in analysis.definitions:
        raise MatcalcError(f"{wrt} is an intermediate defined by an equation; "
                           f"differentiate by one of the variables it is made of")
    variable = analysis.symbols.get(wrt) or _absent_variable(analysis, wrt)
    if order not in (1, 2):
        raise MatcalcError("order must be 1 or 2")
    f = simplify(analysis.body)
    core = _derivative(f, variable)
    if order == 2:
        if variable_axes(variable) == 0:
            core = simplify(identify(differential(core, variable), variable))
        elif f.is_scalar and variable_axes(variable) == 1:
            hessian = simplify(identify(differential(core, variable), variable))
            return Derivative(analysis, variable, layout, order, hessian, hessian)
        else:
            raise NotDifferentiableError("order 2 is the Hessian of a scalar by a vector, or the second "
                                         "derivative by a scalar, in this version")
    expr = _named(simplify(arrange(core, f, variable, layout)), analysis)
    return Derivative(analysis, variable, layout, order, core, expr)


def _absent_variable(analysis: Analysis, wrt: str) -> E.Expr:
    """A variable the expression does not contain: the derivative is zero, of its shape."""
    if not wrt.isidentifier():
        raise MatcalcError(f"{wrt!r} is not a variable name")
    variable = absent_symbol(analysis, wrt)
    analysis.symbols[wrt] = variable
    return variable


def _named(result: E.Expr, analysis: Analysis) -> E.Expr:
    """Where an intermediate's definition reappears in the result, write its name."""
    lets = {}
    for node in E.postorder(analysis.body):
        if node.op == "let":
            lets[node.args[0]] = node
    if not lets:
        return result

    def replace(node, again):
        if node in lets:
            return lets[node]
        return node if node.op == "let" else None   # a definition keeps its own body
    return E.transform(result, replace)


def _derivative(f: E.Expr, variable: E.Expr) -> E.Expr:
    """The first derivative in the engine's convention, simplified."""
    return simplify(_symmetrised(identify(differential(f, variable), variable), variable))


def diff(text: str, wrt: str, layout: str = "mixed", order: int = 1, scalars=(), symmetric=(),
         declare=()) -> Derivative:
    """∂(text)/∂(wrt) in the given layout. See SYNTAX.md for the language."""
    def run():
        analysis = analyse_text(text, scalars=_names(scalars), symmetric=_names(symmetric),
                                declare=_names(declare, split=False))
        return derivative_of(analysis, wrt, layout, order)
    return call_deep(run)


def _names(value, split=True) -> tuple:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",")) if split else (value,)
    return tuple(value)
