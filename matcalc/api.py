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

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from . import expr as E
from .budget import DEFAULT_SECONDS, within
from .deep import call_deep
from .differentiate import differential, identify, identify_vec
from .errors import LimitError, MatcalcError, NotDifferentiableError
from .analyse import Analysis, absent_symbol, parse as analyse_text
from .simplify import simplify

if TYPE_CHECKING:     # for the annotations only: a plain diff imports none of these
    import numpy as np
    from numpy.typing import ArrayLike

    from .check import CheckReport
    from .index_form import IndexForm
    from .steps import Derivation

LAYOUTS = ("mixed", "numerator", "denominator")
MAX_ORDER = 6
SYMMETRIC_CONVENTIONS = ("gradient", "entries")
SYMMETRIC_NOTES = {"gradient": "symmetric gradient (G + G^T)/2",
                   "entries": "S_ij = S_ji as one variable: G + G^T - G .* I (Matrix Cookbook)"}


def axes(e: E.Expr) -> int:
    return len(axis_dims(e))


def axis_dims(e: E.Expr) -> tuple:
    """The sizes of an expression's axes: none for a scalar, one for a vector."""
    if e.is_scalar:
        return ()
    if e.shape[0] == 1 or e.shape[1] == 1:
        return (e.shape[1] if e.shape[0] == 1 else e.shape[0],)
    return tuple(e.shape)


def variable_axes(variable: E.Expr) -> int:
    return len(variable_axis_dims(variable))


def variable_axis_dims(variable: E.Expr) -> tuple:
    kind = variable.value[1]
    if kind == "scalar":
        return ()
    return (variable.shape[0],) if kind == "vector" else tuple(variable.shape)


def layout_order(f_count: int, v_count: int, layout: str) -> list:
    """Positions of the (f axes, variable axes) in the layout's order (SYNTAX.md, Layouts)."""
    f, v = list(range(f_count)), list(range(f_count, f_count + v_count))
    return {"mixed": f + v, "numerator": f + v[::-1], "denominator": v + f[::-1]}[layout]


class Derivative:
    """∂f/∂v in one layout: a printable, evaluable, checkable result.

    A result with at most two axes is an expression (`expr`). One with more is a
    tensor, kept as its vec form J = d vec F / d (vec X)^T (`vec()`), from which
    it is evaluated, and shown in index notation where F is an expression."""

    def __init__(self, analysis: Analysis, variables: tuple, layout: str, symmetric_as: str,
                 differentiated: E.Expr, f_axes: tuple, core: E.Expr | None, expr: E.Expr | None,
                 vec_form: E.Expr | None, differentiated_is_vec_form: bool):
        self.analysis = analysis
        self.function = analysis.body
        self.variables = variables
        self.variable = variables[-1]
        self.layout = layout
        self.order = len(variables)
        self.symmetric_as = symmetric_as
        self.differentiated = differentiated  # what the last variable differentiates
        self.f_axes = f_axes                  # its axes (all earlier variables' included)
        self.v_axes = variable_axis_dims(self.variable)
        self.core = core          # the engine's convention: gradient, Jacobian or F'
        self.expr = expr          # arranged in the layout; None for a tensor
        self._vec_form = vec_form
        self._differentiated_is_vec_form = differentiated_is_vec_form

    @property
    def is_tensor(self) -> bool:
        return self.expr is None

    @property
    def shape(self) -> tuple:
        if not self.is_tensor:
            return self.expr.shape
        dims = self.f_axes + self.v_axes
        return tuple(dims[k] for k in layout_order(len(self.f_axes), len(self.v_axes), self.layout))

    def vec(self) -> VecForm:
        """The matrix form d vec F / d (vec X)^T (Magnus and Neudecker), F being what the
        last variable differentiates; vec stacks columns."""
        if self._vec_form is None:
            self._vec_form = call_deep(_vec_derivative, self.differentiated, self.variable, self.symmetric_as)
        return VecForm(self)

    def index_form(self) -> IndexForm:
        """∂F_ij/∂X_kl in index notation (Kronecker deltas, summation written out)."""
        from .index_form import index_form
        if self._differentiated_is_vec_form:
            raise NotDifferentiableError("index notation is given for derivatives of an expression; "
                                         "this one differentiates a tensor: use vec()")
        return call_deep(index_form, self)

    def __str__(self) -> str:
        if not self.is_tensor:
            return _text(self.expr, self.analysis)
        try:
            return str(self.index_form())
        except NotDifferentiableError:     # no index notation for it: the vec form says it all
            vec = self.vec()
            return f"{vec.heading()} = {vec}"

    def __repr__(self) -> str:
        return f"<Derivative {self} · {self.describe()}>"

    def describe(self) -> str:
        """Layout, shape and the kinds of the symbols, for the line after the result."""
        kinds = ", ".join(_declaration(s) for s in self.analysis.symbols.values())
        convention = ""
        if self.variable.value[1] == "symmetric":
            convention = f" · {SYMMETRIC_NOTES[self.symmetric_as]}"
        if self.is_tensor:
            from .index_form import index_names
            names = index_names(len(self.f_axes) + len(self.v_axes))
            ordered = [names[k] for k in layout_order(len(self.f_axes), len(self.v_axes), self.layout)]
            split = len(self.v_axes) if self.layout == "denominator" else len(self.f_axes)
            where = f"axes ({', '.join(ordered[:split])}; {', '.join(ordered[split:])}) · "
            size = " x ".join(str(d) for d in self.shape)
        else:
            rows, cols = self.shape
            where, size = "", f"{rows} x {cols}"
        return f"{self.layout} layout · {where}{size}{convention}" + (f" · {kinds}" if kinds else "")

    def latex(self, equation: bool = False, bold_vectors: bool = True) -> str:
        """LaTeX of the result; with equation=True the whole equation, its layout noted:
        \\frac{\\partial}{\\partial x}(f) = ... . bold_vectors=False writes vectors plain."""
        from .emit_latex import name_latex, to_latex
        if self.is_tensor:
            try:
                return self.index_form().latex(bold_vectors, equation)
            except NotDifferentiableError:
                return self.vec().latex(bold_vectors)
        result = to_latex(self.expr, bold_vectors)
        if not equation:
            return result
        names = [name_latex(v.value[0], v.value[1], bold_vectors) for v in self.variables]
        power = f"^{self.order}" if self.order > 1 else ""
        if self.order == 2 and self.variables[0] is self.variables[1] and self.variable.shape[1] == 1:
            by = r"\partial " + names[0] + r" \partial " + names[0] + r"^\top"
        else:
            by = " ".join(r"\partial " + n for n in names)
        lets = [n for n in E.postorder(self.function) if n.op == "let"]
        where = ", ".join(f"{to_latex(n, bold_vectors)} = {to_latex(n.args[0], bold_vectors)}" for n in lets)
        return (r"\frac{\partial" + power + "}{" + by + r"} \left(" + to_latex(self.function, bold_vectors)
                + r"\right) = " + result + r" \qquad \text{(" + self.layout + " layout"
                + (r"; where } " + where + r"\text{)}" if where else ")}"))

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex(equation=True)}$"

    def evaluate(self, values: Mapping[str, ArrayLike]) -> float | np.ndarray:
        """The derivative at a point, as NumPy: a float for a scalar, a 2-D array for a
        result with one or two axes, an ndarray with the layout's axis order for a tensor."""
        from .evaluate_at import evaluate_at
        try:
            return evaluate_at(self, values)
        except MemoryError:
            raise LimitError("the value is too large to compute in this machine's memory") from None

    def steps(self) -> Derivation:
        """The derivation, line by line, in the engine's own rules (text, LaTeX, Jupyter)."""
        from .steps import derivation
        if self._differentiated_is_vec_form:
            raise NotDifferentiableError("steps are shown where the last step differentiates an "
                                         "expression; this one differentiates a tensor's vec form")
        return call_deep(derivation, self)

    def check(self, seed: int = 0, time_limit: float | None = DEFAULT_SECONDS) -> CheckReport:
        """Cross-check against elementwise SymPy and finite differences; raise CheckError on a
        mismatch, LimitError when it takes longer than time_limit seconds."""
        from .check import check
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise MatcalcError(f"the seed is a whole number from 0 on, not {seed!r}")
        with within(time_limit):
            try:
                return check(self, seed)
            except MemoryError:
                raise LimitError("the check needs more memory than this machine has") from None


class VecForm:
    """d vec F / d (vec X)^T as an expression: prints, renders LaTeX and evaluates."""

    def __init__(self, derivative: Derivative):
        self.derivative = derivative
        self.expr = derivative._vec_form

    @property
    def shape(self) -> tuple:
        return self.expr.shape

    def __str__(self) -> str:
        return _text(self.expr, self.derivative.analysis)

    def __repr__(self) -> str:
        return f"<VecForm {self} · {self.describe()}>"

    def describe(self) -> str:
        rows, cols = self.shape
        return f"{self.heading()} · {rows} x {cols}"

    def heading(self) -> str:
        from .emit_text import to_text
        from .index_form import superscript
        d = self.derivative
        if d.order == 1:
            f = to_text(d.function, statements=False)
        else:
            f = "∂" + ("" if d.order == 2 else superscript(d.order - 1)) + "f/" + "".join(
                f"∂{v.value[0]}" for v in d.variables[:-1])
        return f"d vec({f}) / d vec({d.variable.value[0]})^T"

    def latex(self, bold_vectors: bool = True) -> str:
        from .emit_latex import to_latex
        return to_latex(self.expr, bold_vectors)

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def evaluate(self, values: Mapping[str, ArrayLike]) -> np.ndarray:
        from .evaluate_at import evaluate_expression
        return evaluate_expression(self.derivative, self.expr, values)


def _text(e: E.Expr, analysis: Analysis) -> str:
    """A result as text; a constant no neighbour sizes (a zero vector) may be sized by the
    function's symbols, which a reader has from the same declarations."""
    from .emit_text import to_text
    return call_deep(to_text, e, context=tuple(analysis.symbols.values()))


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


def _symmetrised(gradient: E.Expr, variable: E.Expr, symmetric_as: str) -> E.Expr:
    """For symmetric S: the symmetric gradient (G + G^T)/2, or with entries S_ij = S_ji
    taken as one variable G + G^T - G .* I."""
    if variable.value[1] != "symmetric":
        return gradient
    if symmetric_as == "entries":
        return E.add(gradient, E.transpose(gradient), E.neg(E.hadamard(gradient, E.identity(gradient.shape[0]))))
    return E.mul(E.number(Fraction(1, 2)), E.add(gradient, E.transpose(gradient)))


def _symmetrised_vec(jacobian: E.Expr, variable: E.Expr, symmetric_as: str) -> E.Expr:
    """The same conventions on d vec F / d (vec S)^T: J (I + K)/2, or J (I + K - diag(vec I))."""
    if variable.value[1] != "symmetric":
        return jacobian
    n = variable.shape[0]
    swapped = E.mul(jacobian, E.commutation(n, n))
    if symmetric_as == "entries":
        return E.add(jacobian, swapped, E.neg(E.mul(jacobian, E.diag(E.vec(E.identity(n))))))
    return E.mul(E.number(Fraction(1, 2)), E.add(jacobian, swapped))


def _vec_derivative(f: E.Expr, variable: E.Expr, symmetric_as: str) -> E.Expr:
    return simplify(_symmetrised_vec(identify_vec(differential(f, variable), variable), variable, symmetric_as))


def derivative_of(analysis: Analysis, wrt, layout: str = "mixed", order: int = 1,
                  symmetric_as: str = "gradient") -> Derivative:
    """∂^k f / ∂v1 ... ∂vk: each variable differentiates the mixed-layout result of the ones
    before it (SYNTAX.md: a Hessian is the derivative of the mixed-layout gradient)."""
    if layout not in LAYOUTS:
        raise MatcalcError(f"unknown layout {layout!r}: choose mixed, numerator or denominator")
    if symmetric_as not in SYMMETRIC_CONVENTIONS:
        raise MatcalcError(f"unknown symmetric convention {symmetric_as!r}: choose gradient or entries")
    names = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    if not names:
        raise MatcalcError("name a variable to differentiate by")
    if not isinstance(order, int) or order < 1 or order > MAX_ORDER:
        raise MatcalcError(f"order must be a whole number from 1 to {MAX_ORDER}")
    if len(names) > 1 and order != 1:
        raise MatcalcError("give either several variables or an order, not both")
    for name in names[1:]:
        if name in LAYOUTS and name not in analysis.symbols:
            raise MatcalcError(f"{name!r} is a layout: pass it as layout={name!r}; "
                               f"further positional arguments are variables")
    variables = tuple(_variable(analysis, name) for name in names) * order
    if len(variables) > MAX_ORDER:
        raise MatcalcError(f"at most {MAX_ORDER} derivatives in a row")
    current = simplify(analysis.body)
    current_axes = axis_dims(current)
    is_vec_form = False
    for step, variable in enumerate(variables):
        last = step == len(variables) - 1
        v_axes = variable_axis_dims(variable)
        if not is_vec_form and len(current_axes) + len(v_axes) <= 2:
            core = _derivative(current, variable, symmetric_as)
            if last:
                expr = named_intermediates(simplify(arrange(core, current, variable, layout)), analysis)
                return Derivative(analysis, variables, layout, symmetric_as, current, current_axes,
                                  core, expr, None, False)
            current, current_axes = simplify(arrange(core, current, variable, "mixed")), current_axes + v_axes
            continue
        jacobian = _vec_derivative(current, variable, symmetric_as)
        if last:
            return Derivative(analysis, variables, layout, symmetric_as, current, current_axes,
                              None, None, named_intermediates(jacobian, analysis), is_vec_form)
        # vec of J = d vec F / d (vec X)^T stacks the entries of the tensor, axes of F first
        current, current_axes, is_vec_form = jacobian, current_axes + v_axes, True
    raise AssertionError("unreachable: the loop returns at its last variable")



def _variable(analysis: Analysis, wrt: str) -> E.Expr:
    if not isinstance(wrt, str):
        raise MatcalcError(f"a variable is given by its name, not {wrt!r}")
    if wrt in analysis.definitions:
        raise MatcalcError(f"{wrt} is an intermediate defined by an equation; "
                           f"differentiate by one of the variables it is made of")
    return analysis.symbols.get(wrt) or _absent_variable(analysis, wrt)


def _absent_variable(analysis: Analysis, wrt: str) -> E.Expr:
    """A variable the expression does not contain: the derivative is zero, of its shape."""
    if not wrt.isidentifier():
        raise MatcalcError(f"{wrt!r} is not a variable name")
    variable = absent_symbol(analysis, wrt)
    analysis.symbols[wrt] = variable
    return variable


def named_intermediates(result: E.Expr, analysis: Analysis) -> E.Expr:
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


def _derivative(f: E.Expr, variable: E.Expr, symmetric_as: str) -> E.Expr:
    """The first derivative in the engine's convention, simplified."""
    return simplify(_symmetrised(identify(differential(f, variable), variable), variable, symmetric_as))


def diff(text: str, wrt: str | Sequence[str], *more_wrt: str, layout: str = "mixed", order: int = 1,
         scalars: str | Sequence[str] | None = (), symmetric: str | Sequence[str] | None = (),
         declare: str | Sequence[str] | None = (), symmetric_as: str = "gradient",
         time_limit: float | None = DEFAULT_SECONDS) -> Derivative:
    """∂(text)/∂(wrt) in the given layout. See docs/language.md for the language.

    diff(f, "x", "y") (or wrt=("x", "y")) differentiates by x, then by y: the mixed
    second derivative. symmetric_as="entries" takes S_ij = S_ji as one variable.
    A computation that takes longer than time_limit seconds (None: no limit) stops
    with a LimitError."""
    variables = _names(wrt, split=False, what="the variable") + _names(more_wrt, split=False,
                                                                      what="the variable")

    def run():
        with within(time_limit):
            analysis = analyse_text(text, scalars=_names(scalars), symmetric=_names(symmetric),
                                    declare=_names(declare, split=False, what="a declaration"))
            return derivative_of(analysis, variables, layout, order, symmetric_as)
    return call_deep(run)



def _names(value, split=True, what="a name") -> tuple:
    """Names given as "a, b", ("a", "b") or None (none)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",")) if split else (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise MatcalcError(f"{what} is given as text or a sequence of texts, not {value!r}") from None
    for name in names:
        if not isinstance(name, str):
            raise MatcalcError(f"{what} is given as text, not {name!r}")
    return names
