"""Index notation of a derivative: ∂(W x)_i/∂W_jk = δ_ij x_k.

Contract: `index_form(d)` takes a Derivative whose last step differentiates an
expression F by X and returns an IndexForm (text and LaTeX) of ∂F_{a...}/∂X_{b...},
or raises NotDifferentiableError where F uses an operator index notation is not
given for here, or where a sum over an index would remain.

The engine's own differential dF is linear in dX.  Each of its terms is read entry
by entry: the parts of a product free of dX are single entries (L dX R)_ab =
L_ac dX_cd R_db, with sums over the inner indices; ∂dX_cd/∂dX_kl = δ_ck δ_dl; and
every Kronecker delta with a summed index is contracted.  The work is linear in the
size of dF (no symbolic summation).  Intermediates (`u1 = tanh(W1 x)`) are stated
once, before the result, and named in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from . import expr as E
from .layout import named_intermediates, variable_axes
from .differentiate import differential
from .emit_latex import name_latex, number_latex, to_latex
from .emit_text import number_text, to_text
from .errors import NotDifferentiableError
from .simplify import simplify

INDEX_LETTERS = "ijklpqrs"


def index_names(count: int) -> list:
    if count <= len(INDEX_LETTERS):
        return list(INDEX_LETTERS[:count])
    return [f"i{k + 1}" for k in range(count)]


@dataclass(frozen=True)
class Summed:
    """An index summed over inside a term, until a Kronecker delta contracts it."""
    number: int


@dataclass
class IndexTerm:
    coefficient: Fraction
    factors: list            # (kind, payload, indices): kind "delta" or "entry"; an index is a
                             # name, or an int (a fixed 0-based position, from x[2])


@dataclass
class IndexForm:
    """∂F_{f indices}/∂X_{v indices} = sum of terms, each a product of deltas and entries."""
    numerator: E.Expr        # what is differentiated
    order: int
    f_indices: list
    variables: list          # (name, kind, indices) per differentiation
    terms: list
    definitions: list        # the intermediates (let nodes) the form names, in order
    inverse: str = "postfix"   # the spelling of an inverse (emit_text.INVERSE_SPELLINGS)

    def __str__(self) -> str:
        power = "" if self.order == 1 else superscript(self.order)
        numerator = to_text(self.numerator, statements=False, inverse=self.inverse)
        top = f"∂{power}({numerator})" + ("_" + _subscript(self.f_indices) if self.f_indices else "")
        bottom = "".join(f"∂{name}" + ("_" + _subscript(ix) if ix else "") for name, _, ix in self.variables)
        where = "".join(f"{d.value} = {to_text(d.args[0], statements=False, inverse=self.inverse)}; "
                        for d in self.definitions)
        return f"{where}{top}/{bottom} = {self._text_terms()}"

    def _text_terms(self) -> str:
        return _join_terms(self.terms, number_text, lambda f: _factor_text(f, self.inverse))

    def latex(self, bold_vectors: bool = True, equation: bool = True) -> str:
        body = self._latex_terms(bold_vectors)
        if not equation:
            return body
        power = "" if self.order == 1 else f"^{{{self.order}}}"
        sub = "_{" + _subscript(self.f_indices) + "}" if self.f_indices else ""
        top = rf"\partial{power} \left({to_latex(self.numerator, bold_vectors)}\right){sub}"
        bottom = r" \, ".join(r"\partial {" + name_latex(name, "scalar", False) + "}" + ("_{" + _subscript(ix) + "}" if ix else "")
                              for name, kind, ix in self.variables)
        where = ", ".join(f"{to_latex(d, bold_vectors)} = {to_latex(d.args[0], bold_vectors)}"
                          for d in self.definitions)
        return rf"\frac{{{top}}}{{{bottom}}} = {body}" + (rf" \qquad \text{{where }} {where}" if where else "")

    def _latex_terms(self, bold: bool) -> str:
        return _join_terms(self.terms, number_latex, lambda f: _factor_latex(f, bold))

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


def superscript(k: int) -> str:
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(k))


def _index_text(index) -> str:
    return str(index + 1) if isinstance(index, int) else index


def _subscript(indices) -> str:
    """ij, or i1,i2 and k,12 where an index has more than one character."""
    texts = [_index_text(i) for i in indices]
    return ("," if any(len(t) > 1 for t in texts) else "").join(texts)


def _factor_text(factor, inverse: str) -> str:
    kind, payload, indices = factor
    sub = _subscript(indices)
    if kind == "delta":
        return "δ_" + sub
    text = to_text(payload, statements=False, inverse=inverse)
    if payload.op not in ("sym", "let") and (indices or payload.op in ("add", "mul")):
        text = f"({text})"
    return text + ("_" + sub if indices else "")


def _factor_latex(factor, bold: bool) -> str:
    kind, payload, indices = factor
    sub = "_{" + _subscript(indices) + "}" if indices else ""
    if kind == "delta":
        return r"\delta" + sub
    if payload.op in ("sym", "let"):
        name = payload.name if payload.op == "sym" else payload.value
        return "{" + name_latex(name, "scalar", False) + "}" + sub
    if not indices and payload.op not in ("add", "mul"):
        return to_latex(payload, bold)
    return r"\left(" + to_latex(payload, bold) + r"\right)" + sub


def index_form(derivative) -> IndexForm:
    F, variable = derivative.differentiated, derivative.variable
    count_f, count_v = len(derivative.f_axes), len(derivative.v_axes)
    names = index_names(count_f + count_v)
    f_indices, v_indices = names[:count_f], names[count_f:]
    dF = simplify(differential(F, variable))
    reader = _Entries(E.differential(variable), _axis_indices(variable, v_indices))
    terms = reader.terms(dF, _axis_indices(F, f_indices))
    if variable.kind == "symmetric":
        terms = _symmetrised(terms, dF, F, f_indices, variable, v_indices, derivative.symmetric_as)
    terms = _collected([_named_term(t, derivative.analysis) for t in terms], names)
    # the function's own indices first, then each earlier variable's, then the last one's
    own = count_f - sum(variable_axes(v) for v in derivative.variables[:-1])
    per_variable, position = [], own
    for v in derivative.variables[:-1]:
        per_variable.append((v.name, v.kind, f_indices[position:position + variable_axes(v)]))
        position += variable_axes(v)
    per_variable.append((variable.name, variable.kind, v_indices))
    function = derivative.function
    definitions = [node for node in E.postorder(function) if node.op == "let"]
    return IndexForm(function, derivative.order, f_indices[:own], per_variable, terms, definitions,
                     derivative.inverse_spelling)


def _symmetrised(terms, dF, F, f_indices, variable, v_indices, symmetric_as) -> list:
    """The conventions of api.py for a symmetric S, entry by entry: with T_kl the
    derivative by a general S, (T_kl + T_lk)/2, or T_kl + T_lk - δ_kl T_kl (S_ij = S_ji
    as one variable)."""
    k, l = v_indices
    swapped = _Entries(E.differential(variable), (l, k)).terms(dF, _axis_indices(F, f_indices))
    if symmetric_as == "gradient":
        half = Fraction(1, 2)
        return [IndexTerm(half * t.coefficient, t.factors) for t in terms + swapped]
    diagonal = [IndexTerm(-t.coefficient, t.factors + [("delta", None, [k, l])]) for t in terms]
    return terms + swapped + [t for t in diagonal if _contract(t.factors) is not None]


def _axis_indices(e: E.Expr, names: list) -> tuple:
    """(row index, column index) of e's entry: None for an axis of size 1."""
    rows, cols = e.shape
    if rows == 1 and cols == 1:
        return (None, None)
    if cols == 1:
        return (names[0], None)
    if rows == 1:
        return (None, names[0])
    return (names[0], names[1])


def _named_term(term: IndexTerm, analysis) -> IndexTerm:
    factors = [(kind, named_intermediates(payload, analysis) if kind == "entry" else payload, indices)
               for kind, payload, indices in term.factors]
    return IndexTerm(term.coefficient, factors)


def _collected(terms: list, names: list) -> list:
    """Like terms added up; deltas first, then entries, each in the order of their indices
    (δ_il X_kj + δ_jl X_ki)."""
    position = {n: k for k, n in enumerate(names)}

    def index_key(index):
        return (0, position[index]) if isinstance(index, str) else (1, index)

    def factor_key(factor):
        kind, payload, indices = factor
        keys = tuple(index_key(i) for i in indices)
        return (0, keys) if kind == "delta" else (1, keys, payload.sort_key)

    added: dict = {}
    for term in terms:
        factors = tuple((kind, payload, tuple(ix)) for kind, payload, ix in sorted(term.factors, key=factor_key))
        added[factors] = added.get(factors, Fraction(0)) + term.coefficient
    kept = [IndexTerm(q, [(kind, payload, list(ix)) for kind, payload, ix in factors])
            for factors, q in added.items() if q != 0]
    return sorted(kept, key=lambda t: [factor_key(f) for f in t.factors])


class _Entries:
    """∂ e_ab / ∂ dX_kl for the terms e of a differential linear in dX."""

    def __init__(self, dvar: E.Expr, v_indices: tuple):
        self.dvar = dvar
        self.v_indices = v_indices
        self.memo: dict = {}
        self.count = 0

    def terms(self, dF: E.Expr, indices: tuple) -> list:
        out = []
        for coefficient, factors in self.entry(dF, *indices):
            contracted = _contract(factors)
            if contracted is None:
                continue
            if any(isinstance(i, Summed) for f in contracted for i in f[2]):
                raise NotDifferentiableError("index notation with a remaining sum is not shown; use vec()")
            out.append(IndexTerm(coefficient, contracted))
        return out

    def summed(self, size) -> Summed | None:
        if size == 1:
            return None
        self.count += 1
        return Summed(self.count)

    def has_differential(self, e: E.Expr) -> bool:
        return E.contains(e, self.dvar, self.memo)

    def entry(self, e: E.Expr, row, col) -> list:
        """[(coefficient, factors)] whose sum is ∂ e[row, col] / ∂ dX[k, l]."""
        if e is self.dvar:
            return [(Fraction(1), _delta(row, self.v_indices[0]) + _delta(col, self.v_indices[1]))]
        if not self.has_differential(e):
            return []
        method = getattr(self, "_" + e.op, None)
        if method is None:
            raise NotDifferentiableError(f"index notation is not given for {e.op}; use vec()")
        return method(e, row, col)

    def _add(self, e, row, col):
        out = []
        for t in e.args:
            out += self.entry(t, None, None) if t.is_scalar else self.entry(t, row, col)
        return out

    def _mul(self, e, row, col):
        q, scalars, chain = E.mul_parts(e)
        carrying = [f for f in (*scalars, *chain) if self.has_differential(f)]
        if len(carrying) != 1:
            raise NotDifferentiableError("index notation is given for differentials linear in dX; use vec()")
        (f,) = carrying
        parts = self._distributed(e) if f not in scalars else None
        if parts is not None:     # one product per term: no sum over an inner index is left
            return [t for part in parts for t in self.entry(part, row, col)]
        others = [_opaque(s, None, None) for s in scalars if s is not f]
        if f in scalars:
            outside = [_opaque(E.mul(*chain), row, col)] if chain else []
            inner = self.entry(f, None, None)
        else:
            p = chain.index(f)
            left, right = chain[:p], chain[p + 1:]
            f_row = self.summed(f.shape[0]) if left else row
            f_col = self.summed(f.shape[1]) if right else col
            outside = ([_opaque(E.mul(*left), row, f_row)] if left else []) + \
                      ([_opaque(E.mul(*right), f_col, col)] if right else [])
            inner = self.entry(f, f_row, f_col)
        return [(q * c, others + outside + factors) for c, factors in inner]

    def _T(self, e, row, col):
        return self.entry(e.args[0], col, row)

    def _had(self, e, row, col):
        carrying = [f for f in e.args if self.has_differential(f)]
        if len(carrying) != 1:
            raise NotDifferentiableError("index notation is given for differentials linear in dX; use vec()")
        others = [_opaque(f, row, col) for f in e.args if f is not carrying[0]]
        return [(c, others + factors) for c, factors in self.entry(carrying[0], row, col)]

    def _distributed(self, e: E.Expr):
        """The terms of e, where e is a sum or a product with a sum in it that carries dX
        (L (dX A + B dX) R = L dX A R + L B dX R); None otherwise."""
        if e.op == "add":
            return list(e.args)
        if e.op != "mul":
            return None
        q, scalars, chain = E.mul_parts(e)
        p = next((n for n, f in enumerate(chain) if self.has_differential(f)), None)
        if p is None:
            return None
        f = chain[p]
        terms = f.args if f.op == "add" else (
            [E.transpose(t) for t in f.args[0].args] if f.op == "T" and f.args[0].op == "add" else None)
        if terms is None:
            return None
        return [E.mul(E.number(q), *scalars, *chain[:p], t, *chain[p + 1:]) for t in terms]

    def _tr(self, e, row, col):
        inner = e.args[0]
        parts = self._distributed(inner)
        if parts is not None:
            return [t for part in parts for t in self.entry(E.trace(part), None, None)]
        if inner.op == "mul":
            # tr(L dX R) = tr(dX R L): what is free of dX becomes one entry, no sum is left
            q, scalars, chain = E.mul_parts(inner)
            p = next((n for n, f in enumerate(chain) if self.has_differential(f)), None)
            if p:
                rotated = E.mul_reading(q, scalars, chain[p:] + chain[:p])
                k = self.summed(chain[p].shape[0])
                return self.entry(rotated, k, k)
        k = self.summed(inner.shape[0])
        return self.entry(inner, k, k)

    def _sum(self, e, row, col):
        # sum(M) = 1^T M 1: the ones join what is free of dX on either side into one entry
        rows, cols = e.args[0].shape
        ones = [E.ones(1, rows)] if rows != 1 else []
        ones_after = [E.ones(cols, 1)] if cols != 1 else []
        return self.entry(E.mul_reading(E.Fraction(1), (), (*ones, e.args[0], *ones_after)), None, None)

    def _entry(self, e, row, col):
        i, j = e.value
        rows, cols = e.args[0].shape
        return self.entry(e.args[0], None if rows == 1 else i - 1, None if cols == 1 else j - 1)

    def _diagm(self, e, row, col):
        return [(c, factors + _delta(row, col)) for c, factors in self.entry(e.args[0], row, None)]

    def _diagv(self, e, row, col):
        return self.entry(e.args[0], row, row)


def _delta(a, b) -> list:
    """δ_ab as a factor list; for two fixed positions, 1 or (marked by None) 0."""
    if a is None and b is None:
        return []
    if isinstance(a, int) and isinstance(b, int):
        return [] if a == b else [("zero", None, ())]
    return [("delta", None, [a, b])]


def _opaque(part: E.Expr, row, col) -> tuple:
    """One entry of a part free of dX: (X^T)_ij is written X_ji, I_ij as δ_ij."""
    if part.op == "T":
        return _opaque(part.args[0], col, row)
    if part.op == "I":
        return ("delta", None, [row, col])
    return ("entry", part, [i for i in (row, col) if i is not None])


def _contract(factors: list):
    """Every delta with a summed index replaced by substituting it; None for a zero term."""
    factors = list(factors)
    while True:
        if any(kind == "zero" for kind, _, _ in factors):
            return None
        found = next((n for n, (kind, _, ix) in enumerate(factors)
                      if kind == "delta" and (isinstance(ix[0], Summed) or isinstance(ix[1], Summed)
                                              or ix[0] == ix[1] or all(isinstance(i, int) for i in ix))), None)
        if found is None:
            if any(kind == "entry" and E.is_zero(payload) for kind, payload, _ in factors):
                return None
            return [f for f in factors if not (f[0] == "entry" and f[1].op == "ones")]
        _, _, (a, b) = factors.pop(found)
        if a == b:
            continue
        if isinstance(a, int) and isinstance(b, int):
            return None
        old, new = (a, b) if isinstance(a, Summed) else (b, a)
        factors = [(kind, payload, [new if i == old else i for i in ix]) for kind, payload, ix in factors]
