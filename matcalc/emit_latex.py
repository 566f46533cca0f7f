"""Emit LaTeX: Expr -> math-mode LaTeX in the notation of the lecture notes.

Contract: vectors bold (\\mathbf{x}, \\boldsymbol{\\theta} for Greek names),
matrices upright capitals, ^\\top and ^{-1}, \\operatorname{tr}, \\det,
\\log\\det, \\odot, \\otimes, norms with \\lVert \\rVert, and W1 / W_1 written
W_{1}.  Parentheses follow the same precedence as the text emitter, and a product is written
as a transpose where the text emitter writes it so (\\left(X^{-1} C A\\right)^\\top).
KaTeX renders every output, for every name the language reads.

The whole vocabulary (matcalc/latex_input.py reads it back):
  names      x, \\mathrm{ab}, \\mathbf{x}, \\boldsymbol{\\theta}, \\hat{...}, subscripts _{1} _{a},
             Greek commands, \\_ in \\mathrm{...}/\\mathbf{...}, \\text{...} (other scripts,
             \\text{U+00AA} for a letter KaTeX lacks); see name_latex
  constants  2, \\frac{1}{2}, \\mathbf{I}, \\mathbf{0}, \\mathbf{1}, \\mathbf{K}_{m,n}, sizes n, m n
  operators  + - juxtaposition, \\odot, \\otimes, ^\\top, ^{-1}, ^{-\\top}, ^{p}, ^{\\circ p},
             \\frac{1}{...}, \\sqrt{...}, \\left( \\right), \\left| \\right| (scalars),
             \\left\\lVert \\right\\rVert with _F or _1, \\mathrm{d} (differentials),
             \\left[ \\right]_{i} and _{i,j} (entries), \\begin{bmatrix} & \\\\ \\end{bmatrix}
  functions  each operator's LaTeX in the table (matcalc/ops.py): \\exp, \\sigma (logistic),
             \\log\\det, \\operatorname{tr}, ..., each applied to \\left( ... \\right)
Equations around results (api.py, index_form.py, steps.py) add \\frac{\\partial ...}{...},
\\partial, \\delta_{ij}, \\, \\qquad \\text{...} and align* with & and &&.
"""
from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from . import ops
from .emit_text import is_self_transposed, join_terms, transposes_outside
from .ops import ATOM, POSTFIX, POWER, PREFIX, PRODUCT, SUM
from .trees import mul_parts

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
         "Omega"}
# Scripts KaTeX renders in \text (found by rendering every letter of them); a letter
# outside them and the basic Greek alphabet is written by its code point, \text{U+00AA}
_TEXT_RANGES = ((0xC0, 0x17F), (0x400, 0x4FF), (0x3041, 0x3096), (0x30A1, 0x30FA), (0x4E00, 0x9FAF),
                (0xAC00, 0xD7A3))


def _unicode_greek(c: str) -> str | None:
    """α -> alpha, Ω -> Omega: a Greek letter LaTeX has a command for."""
    words = unicodedata.name(c, "").split()
    if len(words) != 4 or words[:2] not in (["GREEK", "SMALL"], ["GREEK", "CAPITAL"]) or words[2] != "LETTER":
        return None
    word = words[3].lower() if words[1] == "SMALL" else words[3].capitalize()
    return word if word in GREEK else None


def _letters(text: str) -> str:
    """The characters of a name in math mode: ASCII as it is, _ escaped, Greek as commands,
    other scripts in \text."""
    out = []
    for c in text:
        if c.isascii():
            out.append(r"\_" if c == "_" else c)
        elif _unicode_greek(c):
            out.append("{\\" + _unicode_greek(c) + "}")
        elif any(low <= ord(c) <= high for low, high in _TEXT_RANGES):
            out.append(r"\text{" + c + "}")
        else:
            out.append(rf"\text{{U+{ord(c):04X}}}")
    return "".join(out)


def name_latex(name: str, kind: str, bold_vectors: bool = True) -> str:
    """A name: a stem of letters with an optional subscript (W1, W_1 and W_a are W_{1},
    W_{1}, W_{a}; theta and θ are \\theta; yhat is \\hat{y}, y_hat y_{hat}); any other
    name whole, in \\mathrm (\\mathbf for a bold vector) with its underscores escaped:
    x_y_z is \\mathrm{x\\_y\\_z}.  W1 and W_1 print alike (the one collision)."""
    if name.endswith("hat") and len(name) > 3 and not name[:-3].endswith("_"):
        return r"\hat{" + name_latex(name[:-3], kind, bold_vectors) + "}"   # yhat; y_hat is y_{hat}
    bold = kind == "vector" and bold_vectors
    match = re.fullmatch(r"([^\W\d_]+?)(?:_?(\d+)|_([^\W_]+))?", name)
    if not match:
        return (r"\mathbf{" if bold else r"\mathrm{") + _letters(name) + "}"
    stem, subscript = match.group(1), match.group(2) or match.group(3)
    greek = stem if stem in GREEK else (_unicode_greek(stem) if len(stem) == 1 else None)
    if stem == "pi" and not bold:
        greek = None     # a plain \pi is the number π: the name pi is written \mathrm{pi}
    if greek:
        body = "\\" + greek
        if bold:
            body = r"\boldsymbol{" + body + "}"
    elif bold:
        body = r"\mathbf{" + _letters(stem) + "}"
    elif len(stem) > 1:
        body = r"\mathrm{" + _letters(stem) + "}"
    else:
        body = _letters(stem)
    if subscript:
        body += "_{" + _letters(subscript) + "}"
    return body


def _dimension(d) -> str:
    """A size: n, or the product m n (m*n in text)."""
    return " ".join(_letters(p) for p in str(d).split("*"))


def to_latex(e, bold_vectors: bool = True) -> str:
    return _Latex(bold_vectors).text(e)[0]


def number_latex(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    return r"\frac{" + str(abs(q.numerator)) + "}{" + str(q.denominator) + "}"


class _Latex:
    def __init__(self, bold_vectors: bool):
        self.bold = bold_vectors
        self.memo: dict = {}
        self.outside = transposes_outside()

    def text(self, e):
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = self._printed(e)
        return found

    def _printed(self, e):
        """A node by its own method, or by its operator's LaTeX: an infix symbol between the
        factors of an n-ary product, a template around the argument of anything else."""
        own = getattr(self, "_" + e.op, None)
        if own is not None:
            return own(e)
        operator = ops.of(e)
        if operator.arity == 0:
            return operator.latex, ATOM
        if operator.arity is None:
            if self.outside(e) and any(f.op == "T" for f in e.args):
                # (A ⊗ B)^T for A^T ⊗ B^T; the text's kron(1^T, I)^T is 1 ⊗ I here
                inside = [self.at(f.args[0], POWER) if f.op == "T" else
                          self.at(f, POWER) if is_self_transposed(f) else self._transposed(f)[0] for f in e.args]
                return r"\left(" + f" {operator.latex} ".join(inside) + r"\right)^\top", POSTFIX
            return f" {operator.latex} ".join(self.at(f, POWER) for f in e.args), PRODUCT
        template = operator.latex_scalar if e.is_scalar and operator.latex_scalar else operator.latex
        return template.replace("{0}", self.text(e.args[0])[0]), ATOM

    def at(self, e, level):
        text, own = self.text(e)
        return text if own >= level else r"\left(" + text + r"\right)"

    def _sym(self, e):
        return name_latex(e.name, e.kind, self.bold), ATOM

    def _let(self, e):
        kind = "scalar" if e.is_scalar else ("vector" if 1 in e.shape else "matrix")
        return name_latex(e.value, kind, self.bold), ATOM

    def _num(self, e):
        q = e.value
        return ("-" if q < 0 else "") + number_latex(abs(q)), ATOM if q >= 0 and q.denominator == 1 else PREFIX

    def _I(self, e):
        return r"\mathbf{I}", ATOM

    def _ones(self, e):
        if e.shape[0] == 1:
            return r"\mathbf{1}^\top", POSTFIX
        if e.shape[1] == 1:
            return r"\mathbf{1}", ATOM
        return r"\mathbf{1}\mathbf{1}^\top", PRODUCT

    def _zero(self, e):
        return r"\mathbf{0}" if e.shape != (1, 1) else "0", ATOM

    def _dim(self, e):
        return _dimension(e.value), ATOM

    def _d(self, e):
        return r"\mathrm{d}" + self.at(e.args[0], ATOM), ATOM

    def _add(self, e):
        return join_terms(e, lambda t: self.at(t, PRODUCT)), SUM

    def _mul(self, e):
        q, scalars, chain = mul_parts(e)
        words = []
        if abs(q) != 1 or not (scalars or chain):
            words.append(number_latex(abs(q)))
        for f in scalars:
            words.append(self.at(f, POWER) if f.op != "mul" else r"\left(" + self.text(f)[0] + r"\right)")
        if chain and self.outside(e):      # the transpose of the reversed chain of transposes
            inside = [self.at(f.args[0], POWER) if f.op == "T" else
                      self.at(f, POWER) if is_self_transposed(f) else self._transposed(f)[0]
                      for f in reversed(chain)]
            words.append(r"\left(" + " ".join(inside) + r"\right)^\top")
        else:
            words += [self.at(f, POWER) if f.op != "mul" else r"\left(" + self.text(f)[0] + r"\right)"
                      for f in chain]
        text = " ".join(words)
        return ("-" + text, PREFIX) if q < 0 else (text, PRODUCT)

    def _T(self, e):
        return self._transposed(e.args[0])

    def _transposed(self, inner):
        if inner.op == "inv":
            return self.at(inner.args[0], POSTFIX) + r"^{-\top}", POSTFIX
        return self.at(inner, POSTFIX) + r"^\top", POSTFIX

    def _inv(self, e):
        inner = e.args[0]
        text = self.at(inner, POSTFIX)
        if inner.op == "T":
            text = "{" + text + "}"
        return text + "^{-1}", POSTFIX

    def _base(self, e) -> str:
        """The base of a power: braced when it ends in a superscript of its own (X^{-1})^2."""
        text = self.at(e, POSTFIX)
        return "{" + text + "}" if e.op in ("T", "inv") else text

    def _exponent(self, p):
        return "{" + self.text(p)[0] + "}"

    def _pow(self, e):
        base, p = e.args
        if p.op == "num" and p.value < 0:
            return r"\frac{1}{" + self.text(e.reciprocal())[0] + "}", ATOM
        if p.op == "num" and p.value == Fraction(1, 2):
            return r"\sqrt{" + self.text(base)[0] + "}", ATOM
        return self._base(base) + "^" + self._exponent(p), POWER

    _mpow = _pow

    def _epow(self, e):
        base, p = e.args
        return self._base(base) + r"^{\circ " + self.text(p)[0] + "}", POWER

    def _comm(self, e):
        rows, cols = e.value
        return rf"\mathbf{{K}}_{{{_dimension(rows)},{_dimension(cols)}}}", ATOM

    def _norm(self, e):
        suffix = {"2": "", "F": "_F", "1": "_1"}[e.value]
        return r"\left\lVert " + self.text(e.args[0])[0] + r" \right\rVert" + suffix, ATOM

    def _entry(self, e):
        i, j = e.value
        inner = e.args[0]
        index = str(i) if inner.shape[1] == 1 else (str(j) if inner.shape[0] == 1 else f"{i},{j}")
        # bracketed: x_{1} is the name x1, [x]_{1} the entry x[1]
        return r"\left[" + self.text(inner)[0] + r"\right]_{" + index + "}", POSTFIX

    def _lit(self, e):
        rows, cols = e.shape
        body = r" \\ ".join(" & ".join(self.text(e.args[r * cols + c])[0] for c in range(cols))
                            for r in range(rows))
        return r"\begin{bmatrix} " + body + r" \end{bmatrix}", ATOM
