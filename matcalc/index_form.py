"""Index notation of a derivative: ∂(W x)_i/∂W_jk = δ_ij x_k.

Contract: `index_form(d)` takes a Derivative whose last step differentiates an
expression F by X and returns an IndexForm (text and LaTeX) of ∂F_{a...}/∂X_{b...},
or raises NotDifferentiableError where F uses an operator index notation is not
given for here.  The engine's own differential dF, linear in dX, is handed to
SymPy as a matrix expression in which each part free of dX is one opaque symbol;
SymPy indexes it, differentiates by an entry of dX and contracts the Kronecker
deltas (`doit`).  No user text reaches SymPy: symbols are made by name.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from . import expr as E
from .derivative import variable_axes
from .differentiate import differential
from .emit_latex import name_latex, to_latex
from .errors import NotDifferentiableError
from .simplify import simplify

INDEX_LETTERS = "ijklpqrs"


def index_names(count: int) -> list:
    if count <= len(INDEX_LETTERS):
        return list(INDEX_LETTERS[:count])
    return [f"i{k + 1}" for k in range(count)]


@dataclass
class IndexTerm:
    coefficient: sp.Rational
    factors: list            # (kind, payload, indices): kind "delta", "entry" or "scalar"


@dataclass
class IndexForm:
    """∂F_{f indices}/∂X_{v indices} = sum of terms, each a product of deltas and entries."""
    numerator: str           # the text of what is differentiated
    numerator_latex: str
    order: int
    f_indices: list
    variables: list          # (name, kind, indices) per differentiation
    terms: list

    def __str__(self) -> str:
        power = "" if self.order == 1 else _superscript(self.order)
        top = f"∂{power}({self.numerator})" + ("_" + "".join(self.f_indices) if self.f_indices else "")
        bottom = "".join(f"∂{name}" + ("_" + "".join(ix) if ix else "") for name, _, ix in self.variables)
        return f"{top}/{bottom} = {self._text_terms()}"

    def _text_terms(self) -> str:
        return _join_terms(self.terms, str, _factor_text)

    def latex(self, bold_vectors: bool = True, equation: bool = True) -> str:
        body = self._latex_terms(bold_vectors)
        if not equation:
            return body
        power = "" if self.order == 1 else f"^{{{self.order}}}"
        sub = "_{" + "".join(self.f_indices) + "}" if self.f_indices else ""
        top = rf"\partial{power} \left({self.numerator_latex}\right){sub}"
        bottom = r" \, ".join(r"\partial {" + name_latex(name, "scalar", False) + "}" + ("_{" + "".join(ix) + "}" if ix else "")
                              for name, kind, ix in self.variables)
        return rf"\frac{{{top}}}{{{bottom}}} = {body}"

    def _latex_terms(self, bold: bool) -> str:
        return _join_terms(self.terms, sp.latex, lambda f: _factor_latex(f, bold))

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"


def _join_terms(terms: list, number, factor) -> str:
    """c1 f f ... + c2 f ...: signs between terms, a coefficient only where it is not 1."""
    if not terms:
        return "0"
    pieces = []
    for n, term in enumerate(terms):
        magnitude = abs(term.coefficient)
        words = [number(magnitude)] if magnitude != 1 or not term.factors else []
        words += [factor(f) for f in term.factors]
        sign = "-" if term.coefficient < 0 else "+"
        pieces.append((sign if sign == "-" else "") if n == 0 else f" {sign} ")
        pieces.append(" ".join(words))
    return "".join(pieces)


def _superscript(k: int) -> str:
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(k))


def _factor_text(factor) -> str:
    kind, payload, indices = factor
    if kind == "delta":
        return "δ_" + "".join(indices)
    text = str(payload)
    if payload.op not in ("sym", "let") and (indices or payload.op in ("add", "mul")):
        text = f"({text})"
    return text + ("_" + "".join(indices) if indices else "")


def _factor_latex(factor, bold: bool) -> str:
    kind, payload, indices = factor
    sub = "_{" + "".join(indices) + "}" if indices else ""
    if kind == "delta":
        return r"\delta" + sub
    if payload.op in ("sym", "let"):
        name = payload.value[0] if payload.op == "sym" else payload.value
        return "{" + name_latex(name, "scalar", False) + "}" + sub
    if not indices and payload.op not in ("add", "mul"):
        return to_latex(payload, bold)
    return r"\left(" + to_latex(payload, bold) + r"\right)" + sub


def index_form(derivative) -> IndexForm:
    F, variable = derivative.differentiated, derivative.variable
    count_f, count_v = len(derivative.f_axes), len(derivative.v_axes)
    names = index_names(count_f + count_v)
    f_indices, v_indices = names[:count_f], names[count_f:]
    converter = _ToSympy(E.differential(variable))
    dF = converter.convert(simplify(differential(F, variable)))
    symbols = {name: sp.Symbol(name, integer=True) for name in names}
    entry = _entry(dF, F, [symbols[n] for n in f_indices])
    dX = converter.differential_symbol
    dX_entry = _entry(dX, variable, [symbols[n] for n in v_indices])
    result = sp.expand(sp.diff(entry, dX_entry).doit())
    if result.has(sp.Sum):
        raise NotDifferentiableError("index notation with a remaining sum is not shown; use vec()")
    terms = [_term(t, converter, symbols) for t in sp.Add.make_args(result) if t != 0]
    # the function's own indices first, then each earlier variable's, then the last one's
    own = count_f - sum(variable_axes(v) for v in derivative.variables[:-1])
    per_variable, position = [], own
    for v in derivative.variables[:-1]:
        per_variable.append((v.value[0], v.value[1], f_indices[position:position + variable_axes(v)]))
        position += variable_axes(v)
    per_variable.append((variable.value[0], variable.value[1], v_indices))
    function = derivative.function
    return IndexForm(str(function), to_latex(function), derivative.order, f_indices[:own], per_variable, terms)


def _entry(matrix, e: E.Expr, indices: list):
    """The entry of a SymPy matrix expression at the indices of e's axes."""
    if not isinstance(matrix, sp.MatrixExpr):
        return matrix
    rows, cols = e.shape
    if rows == 1 and cols == 1:
        return matrix[0, 0]
    if cols == 1:
        return matrix[indices[0], 0]
    if rows == 1:
        return matrix[0, indices[0]]
    return matrix[indices[0], indices[1]]


def _term(term, converter: "_ToSympy", symbols: dict) -> IndexTerm:
    names = {s: n for n, s in symbols.items()}
    coefficient, factors = sp.Rational(1), []
    for factor in sp.Mul.make_args(term):
        base, exponent = factor.as_base_exp()
        if factor.is_Rational:
            coefficient *= factor
        elif isinstance(base, sp.KroneckerDelta) and exponent == 1:
            factors.append(("delta", None, [_index_text(a, names) for a in base.args[:2]]))
        elif isinstance(factor, sp.matrices.expressions.matexpr.MatrixElement):
            opaque = converter.opaque[factor.parent.name]
            rows, cols = opaque.shape
            indices = [factor.i, factor.j] if rows != 1 and cols != 1 else ([factor.i] if cols == 1 else [factor.j])
            factors.append(("entry", opaque, [_index_text(a, names) for a in indices]))
        elif isinstance(factor, sp.Symbol) and factor.name in converter.opaque:
            factors.append(("entry", converter.opaque[factor.name], []))
        else:
            raise NotDifferentiableError(f"index notation is not given for {factor}; use vec()")
    return IndexTerm(coefficient, factors)


def _index_text(index, names: dict) -> str:
    if index in names:
        return names[index]
    if index.is_Integer:
        return str(int(index) + 1)
    raise NotDifferentiableError(f"index notation is not given for the index {index}; use vec()")


class _ToSympy:
    """dF -> a SymPy matrix expression; each part free of dX becomes one opaque symbol."""

    def __init__(self, dvar: E.Expr):
        self.dvar = dvar
        self.memo: dict = {}
        self.opaque: dict = {}       # symbol name -> the Expr it stands for
        self.keys: dict = {}
        rows, cols = dvar.shape
        self.differential_symbol = sp.MatrixSymbol("d" + dvar.args[0].value[0], _size(rows), _size(cols))

    def convert(self, e: E.Expr):
        if e is self.dvar:
            return self.differential_symbol
        if not E.contains(e, self.dvar, self.memo):
            return self._leaf(e)
        method = getattr(self, "_" + e.op, None)
        if method is None:
            raise NotDifferentiableError(f"index notation is not given for {e.op}; use vec()")
        return method(e)

    def _leaf(self, e: E.Expr):
        if e.op == "num":
            return sp.Rational(e.value.numerator, e.value.denominator)
        if e.op == "T":     # (X^T)_ij is written X_ji
            return self._leaf(e.args[0]).T
        if e.op == "I":
            return sp.Identity(_size(e.shape[0]))
        key = self.keys.get(e)
        if key is None:
            key = self.keys[e] = f"opaque{len(self.keys)}"
            self.opaque[key] = e
        if e.is_scalar:
            return sp.Symbol(key)
        return sp.MatrixSymbol(key, _size(e.shape[0]), _size(e.shape[1]))

    def _scalar(self, e: E.Expr):
        value = self.convert(e)
        return value[0, 0] if isinstance(value, sp.MatrixExpr) else value

    def _add(self, e: E.Expr):
        rows, cols = e.shape
        terms = []
        for t in e.args:
            if t.is_scalar and not e.is_scalar:   # a broadcast scalar
                terms.append(self._scalar(t) * sp.OneMatrix(_size(rows), _size(cols)))
            else:
                terms.append(self._scalar(t) if e.is_scalar else self.convert(t))
        return sp.Add(*terms) if e.is_scalar else sp.MatAdd(*terms)

    def _mul(self, e: E.Expr):
        q, scalars, chain = E.mul_parts(e)
        factor = sp.Rational(q.numerator, q.denominator)
        for s in scalars:
            factor = factor * self._scalar(s)
        groups, run = [], []
        for f in chain:
            if E.contains(f, self.dvar, self.memo):
                if run:
                    groups.append(self._leaf(E.mul(*run)))
                    run = []
                groups.append(self.convert(f))
            else:
                run.append(f)
        if run:
            groups.append(self._leaf(E.mul(*run)))
        if not groups:
            return factor
        product = groups[0] if len(groups) == 1 else sp.MatMul(*groups)
        return factor * product

    def _T(self, e: E.Expr):
        return self.convert(e.args[0]).T

    def _had(self, e: E.Expr):
        return sp.HadamardProduct(*(self.convert(a) for a in e.args))

    def _tr(self, e: E.Expr):
        return sp.Trace(self.convert(e.args[0]))

    def _sum(self, e: E.Expr):
        rows, cols = e.args[0].shape
        return (sp.OneMatrix(1, _size(rows)) * self.convert(e.args[0]) * sp.OneMatrix(_size(cols), 1))[0, 0]

    def _entry(self, e: E.Expr):
        i, j = e.value
        return self.convert(e.args[0])[i - 1, j - 1]

    def _diagm(self, e: E.Expr):
        return DiagMatrix(self.convert(e.args[0]))

    def _diagv(self, e: E.Expr):
        return DiagonalOf(self.convert(e.args[0]))


def _size(d):
    if isinstance(d, int):
        return d
    return sp.Mul(*(sp.Integer(int(p)) if p.isdigit() else sp.Symbol(p, integer=True, positive=True)
                    for p in d.split("*")))
