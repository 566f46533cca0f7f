"""The pipeline: an analysed program and its variables -> the derivative's parts.

    analyse -> differentiate -> identify -> simplify -> arrange in the layout

`derivative_of` returns a `Result`, the data of a derivative with named fields; the API's
`Derivative` (api.py) is a Result that also prints, renders, evaluates and checks itself.
Stages above this one (evaluation, the check, code, index forms) take a Result.
The user's assumptions (matcalc.assumptions) simplify only what no later step
differentiates by a variable they involve; the Result carries them (`assumptions`,
and `stated` for the note line).  A variable declared orthogonal or diagonal is refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import expr as E
from .analyse import Analysis, absent_symbol
from .assumptions import usable
from .deep import call_deep
from .differentiate import differential
from .errors import MatcalcError
from .identify import identify, identify_vec
from .layout import (LAYOUTS, SYMMETRIC_CONVENTIONS, arrange, axis_dims, layout_order, named_intermediates,
                     symmetrised, symmetrised_vec, variable_axis_dims)
from .simplify import simplify

MAX_ORDER = 6


@dataclass(eq=False, repr=False)
class Result:
    """∂f/∂v1...∂vk in one layout.

    A result with at most two axes is an expression (`expr`).  One with more is a tensor,
    kept as its vec form J = d vec F / d (vec X)^T (`vec_expression()`)."""
    analysis: Analysis
    variables: tuple            # one per differentiation, in order (a Hessian names x twice)
    layout: str
    symmetric_as: str
    differentiated: E.Expr      # what the last variable differentiates
    f_axes: tuple               # its axes' sizes (those of all earlier variables included)
    core: E.Expr | None         # the engine's convention: gradient, Jacobian or F'; None for a tensor
    expr: E.Expr | None         # arranged in the layout; None for a tensor
    vec_form: E.Expr | None     # J, where computed (always, for a tensor)
    differentiated_is_vec_form: bool   # the last variable differentiated a tensor's vec form
    assumptions: tuple = ()     # of matcalc.assumptions.Assumption: what the result may rest on

    @property
    def stated(self) -> tuple:
        """The user's statements behind `assumptions`, as written (`assume sum(y) = 1`, `spd S`)."""
        return self.analysis.stated

    @property
    def function(self) -> E.Expr:
        return self.analysis.body

    @property
    def variable(self) -> E.Expr:
        return self.variables[-1]

    @property
    def order(self) -> int:
        return len(self.variables)

    @property
    def v_axes(self) -> tuple:
        return variable_axis_dims(self.variable)

    @property
    def is_tensor(self) -> bool:
        return self.expr is None

    @property
    def shape(self) -> tuple:
        if not self.is_tensor:
            return self.expr.shape
        dims = self.f_axes + self.v_axes
        return tuple(dims[k] for k in layout_order(len(self.f_axes), len(self.v_axes), self.layout))

    def vec_expression(self) -> E.Expr:
        """J = d vec F / d (vec X)^T (Magnus and Neudecker), F being what the last variable
        differentiates; vec stacks columns.  Computed on first use for a non-tensor."""
        if self.vec_form is None:
            self.vec_form = call_deep(vec_derivative, self.differentiated, self.variable, self.symmetric_as,
                                      self.assumptions)
        return self.vec_form


def derivative_of(analysis: Analysis, wrt, layout: str = "mixed", order: int = 1,
                  symmetric_as: str = "gradient") -> Result:
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
    _refuse_structured_variables(analysis, variables)
    assumptions = analysis.assumptions
    current = simplify(analysis.body, assumptions=usable(assumptions, variables))
    current_axes = axis_dims(current)
    is_vec_form = False
    for step, variable in enumerate(variables):
        last = step == len(variables) - 1
        # what a later step differentiates keeps the assumptions about its variables out
        now = usable(assumptions, variables[step + 1:])
        v_axes = variable_axis_dims(variable)
        if not is_vec_form and len(current_axes) + len(v_axes) <= 2:
            core = _derivative(current, variable, symmetric_as, now)
            if last:
                arranged = simplify(arrange(core, current, variable, layout), assumptions=now)
                expr = named_intermediates(arranged, analysis)
                return Result(analysis=analysis, variables=variables, layout=layout, symmetric_as=symmetric_as,
                              differentiated=current, f_axes=current_axes, core=core, expr=expr,
                              vec_form=None, differentiated_is_vec_form=False, assumptions=assumptions)
            current = simplify(arrange(core, current, variable, "mixed"), assumptions=now)
            current_axes = current_axes + v_axes
            continue
        jacobian = vec_derivative(current, variable, symmetric_as, now)
        if last:
            return Result(analysis=analysis, variables=variables, layout=layout, symmetric_as=symmetric_as,
                          differentiated=current, f_axes=current_axes, core=None, expr=None,
                          vec_form=named_intermediates(jacobian, analysis), differentiated_is_vec_form=is_vec_form,
                          assumptions=assumptions)
        # vec of J = d vec F / d (vec X)^T stacks the entries of the tensor, axes of F first
        current, current_axes, is_vec_form = jacobian, current_axes + v_axes, True
    raise AssertionError("unreachable: the loop returns at its last variable")


def vec_derivative(f: E.Expr, variable: E.Expr, symmetric_as: str, assumptions: tuple = ()) -> E.Expr:
    """d vec f / d (vec v)^T in the engine's convention, simplified."""
    return simplify(symmetrised_vec(identify_vec(differential(f, variable), variable), variable, symmetric_as),
                    assumptions=assumptions)


def _derivative(f: E.Expr, variable: E.Expr, symmetric_as: str, assumptions: tuple = ()) -> E.Expr:
    """The first derivative in the engine's convention, simplified."""
    return simplify(symmetrised(identify(differential(f, variable), variable), variable, symmetric_as),
                    assumptions=assumptions)


_STRUCTURED_VARIABLE = {
    "orthogonal": "{0} is declared orthogonal: its derivative along orthogonal matrices is not the one matcalc "
                  "computes; for the unconstrained gradient at orthogonal {0}, write assume {0}^T {0} = I",
    "diagonal": "{0} is declared diagonal: for the derivative by its diagonal entries, write {0} = diag(d) "
                "and differentiate by d",
}


def _refuse_structured_variables(analysis: Analysis, variables) -> None:
    for variable in variables:
        structure = analysis.structures.get(variable.name)
        if structure in _STRUCTURED_VARIABLE:
            raise MatcalcError(_STRUCTURED_VARIABLE[structure].format(variable.name))


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
