"""The Python API: `diff` and the `Derivative` it returns.

Contract (SYNTAX.md, "Python API"): a Derivative prints as re-parseable text in
the chosen layout, knows its `shape` and `layout`, renders LaTeX, evaluates
with NumPy with its axes in the layout's order, and cross-checks itself.
The derivative itself comes from the pipeline (pipeline.py), in the layout's
axis order (layout.py); this module presents it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from . import expr as E
from .expr import Expr
from .analyse import Analysis, parse as analyse_text
from .budget import DEFAULT_SECONDS, within
from .deep import call_deep
from .errors import LimitError, MatcalcError, NotDifferentiableError
from .layout import SYMMETRIC_NOTES, layout_order
from .pipeline import Result, derivative_of

if TYPE_CHECKING:     # for the annotations only: a plain diff imports none of these
    import numpy as np
    from numpy.typing import ArrayLike

    from .check import CheckReport
    from .index_form import IndexForm
    from .steps import Derivation


class Derivative(Result):
    """∂f/∂v in one layout: a printable, evaluable, checkable result.

    A result with at most two axes is an expression (`expr`). One with more is a
    tensor, kept as its vec form J = d vec F / d (vec X)^T (`vec()`), from which
    it is evaluated, and shown in index notation where F is an expression."""

    @classmethod
    def of(cls, result: Result) -> Derivative:
        return cls(**{name: getattr(result, name) for name in result.__dataclass_fields__})

    def vec(self) -> VecForm:
        """The matrix form d vec F / d (vec X)^T (Magnus and Neudecker), F being what the
        last variable differentiates; vec stacks columns."""
        return VecForm(self)

    def index_form(self) -> IndexForm:
        """∂F_ij/∂X_kl in index notation (Kronecker deltas, summation written out)."""
        from .index_form import index_form
        if self.differentiated_is_vec_form:
            raise NotDifferentiableError("index notation is given for derivatives of an expression; "
                                         "this one differentiates a tensor: use vec()")
        return call_deep(index_form, self)

    @property
    def inverse_spelling(self) -> str:
        """How the result spells an inverse: as the input did, inv(X) or X^-1 (emit_text)."""
        from .emit_text import inverse_spelling
        return inverse_spelling(self.analysis.program)

    @property
    def display_expr(self) -> E.Expr:
        """The result as it prints: sums the user typed keep their order (reading.py)."""
        from .reading import in_typed_order
        return in_typed_order(self.expr, self.analysis)

    @property
    def display_function(self) -> E.Expr:
        """The function as the equation and the vec heading print it, sums as typed."""
        from .reading import in_typed_order
        return in_typed_order(self.function, self.analysis)

    def __str__(self) -> str:
        if not self.is_tensor:
            return _text(self.display_expr, self.analysis, self.inverse_spelling)
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
        if self.variable.kind == "symmetric":
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
        stated = "".join(f" · {text}" for text in self.stated)
        return f"{self.layout} layout · {where}{size}{convention}{stated}" + (f" · {kinds}" if kinds else "")

    def latex(self, equation: bool = False, bold_vectors: bool = True) -> str:
        """LaTeX of the result; with equation=True the whole equation, its layout noted:
        \\frac{\\partial}{\\partial x}(f) = ... . bold_vectors=False writes vectors plain."""
        from .emit_latex import name_latex, to_latex
        if self.is_tensor:
            try:
                return self.index_form().latex(bold_vectors, equation)
            except NotDifferentiableError:
                return self.vec().latex(bold_vectors)
        result = to_latex(self.display_expr, bold_vectors)
        if not equation:
            return result
        names = [name_latex(v.name, v.kind, bold_vectors) for v in self.variables]
        power = f"^{self.order}" if self.order > 1 else ""
        if self.order == 2 and self.variables[0] is self.variables[1] and self.variable.shape[1] == 1:
            by = r"\partial " + names[0] + r" \partial " + names[0] + r"^\top"
        else:
            by = " ".join(r"\partial " + n for n in names)
        lets = [n for n in E.postorder(self.function) if n.op == "let"]
        where = ", ".join(f"{to_latex(n, bold_vectors)} = {to_latex(n.args[0], bold_vectors)}" for n in lets)
        return (r"\frac{\partial" + power + "}{" + by + r"} \left(" + to_latex(self.display_function, bold_vectors)
                + r"\right) = " + result + r" \qquad \text{(" + self.layout + " layout"
                + (r"; where } " + where + r"\text{)}" if where else ")}"))

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex(equation=True)}$"

    def evaluate(self, values: Mapping[str, ArrayLike]) -> float | np.ndarray:
        """The derivative at a point, as NumPy: a float for a scalar, a 2-D array for a
        result with one or two axes, an ndarray with the layout's axis order for a tensor.
        Values that break an assumption the result rests on are refused: there the formula
        is not the derivative."""
        from .evaluate_at import evaluate_at
        if self.assumptions:
            from .assumptions import violated
            from .evaluate_at import bind
            broken = violated(self.assumptions, *bind(self.analysis.symbols, values))
            if broken is not None:
                raise MatcalcError(f"the values do not satisfy {broken.text}, on which the result rests")
        try:
            return evaluate_at(self, values)
        except MemoryError:
            raise LimitError("the value is too large to compute in this machine's memory") from None

    def steps(self) -> Derivation:
        """The derivation, line by line, in the engine's own rules (text, LaTeX, Jupyter)."""
        from .steps import derivation
        if self.differentiated_is_vec_form:
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
        self.expr = derivative.vec_expression()

    @property
    def shape(self) -> tuple:
        return self.expr.shape

    def __str__(self) -> str:
        """The vec form, its identities and ones bare inside kron(...) (`kron(I, A)`) where
        reading the text back fits them one way; spelled with their sizes where it does not."""
        d = self.derivative
        bare = _text(self.expr, d.analysis, d.inverse_spelling)
        sized = _text(self.expr, d.analysis, d.inverse_spelling, sized=True)
        return bare if sized == bare or _reads_back(bare, d.analysis) else sized

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
            f = to_text(d.display_function, statements=False, inverse=d.inverse_spelling)
        else:
            f = "∂" + ("" if d.order == 2 else superscript(d.order - 1)) + "f/" + "".join(
                f"∂{v.name}" for v in d.variables[:-1])
        return f"d vec({f}) / d vec({d.variable.name})^T"

    def latex(self, bold_vectors: bool = True) -> str:
        from .emit_latex import to_latex
        return to_latex(self.expr, bold_vectors)

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def evaluate(self, values: Mapping[str, ArrayLike]) -> np.ndarray:
        from .evaluate_at import evaluate_expression
        return evaluate_expression(self.derivative, self.expr, values)


def _text(e: E.Expr, analysis: Analysis, inverse: str, sized: bool = False) -> str:
    """A result as text; a constant no neighbour sizes (a zero vector) may be sized by the
    function's symbols, which a reader has from the same declarations."""
    from .emit_text import to_text
    return call_deep(to_text, e, context=tuple(analysis.symbols.values()), inverse=inverse, sized=sized)


def _reads_back(text: str, analysis: Analysis) -> bool:
    """Whether text reads as an expression, with the declarations of the function's symbols
    (stated inline: one program, one parse)."""
    declarations = [_declaration(s) for s in analysis.symbols.values()
                    if not any("*" in str(dim) for dim in s.shape)]
    try:
        parse("; ".join(declarations + [text]))
    except MatcalcError:
        return False
    return True


def _declaration(symbol: E.Expr) -> str:
    name, kind = symbol.name, symbol.kind
    rows, cols = symbol.shape
    if kind == "scalar":
        return f"{name}: scalar"
    if kind == "vector":
        return f"{name}: vector[{rows}]"
    if kind == "symmetric":
        return f"{name}: symmetric[{rows}]"
    return f"{name}: matrix[{rows},{cols}]"


def diff(text: str, wrt: str | Sequence[str], *more_wrt: str, layout: str = "mixed", order: int = 1,
         scalars: str | Sequence[str] | None = (), symmetric: str | Sequence[str] | None = (),
         declare: str | Sequence[str] | None = (), symmetric_as: str = "gradient",
         time_limit: float | None = DEFAULT_SECONDS, assume: str | Sequence[str] | None = ()) -> Derivative:
    """∂(text)/∂(wrt) in the given layout. See docs/language.md for the language.

    diff(f, "x", "y") (or wrt=("x", "y")) differentiates by x, then by y: the mixed
    second derivative. symmetric_as="entries" takes S_ij = S_ji as one variable.
    assume: equations the result may rest on ("sum(y) = 1", or a sequence of them), as
    the program's own `assume` statements.
    A computation that takes longer than time_limit seconds (None: no limit) stops
    with a LimitError."""
    variables = _names(wrt, split=False, what="the variable") + _names(more_wrt, split=False,
                                                                      what="the variable")

    def run():
        with within(time_limit):
            analysis = analyse_text(text, scalars=_names(scalars), symmetric=_names(symmetric),
                                    declare=_names(declare, split=False, what="a declaration"),
                                    assume=_names(assume, split=False, what="an assumption"))
            return Derivative.of(derivative_of(analysis, variables, layout, order, symmetric_as))
    return call_deep(run)



def parse(text: str, scalars: str | Sequence[str] | None = (), symmetric: str | Sequence[str] | None = (),
          declare: str | Sequence[str] | None = (), assume: str | Sequence[str] | None = ()) -> Expr:
    """The expression of `text` (its last statement), canonical and well-shaped; declarations
    and assumptions as for `diff` ("a, b", a sequence of names, or None)."""
    names = dict(scalars=_names(scalars), symmetric=_names(symmetric),
                 declare=_names(declare, split=False, what="a declaration"),
                 assume=_names(assume, split=False, what="an assumption"))
    return call_deep(lambda: analyse_text(text, **names).body)


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
