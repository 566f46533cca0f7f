"""Show the work: the derivation of a derivative, line by line, from the engine's own rules.

Contract: `derivation(d)` returns a `Derivation` whose lines are equalities that hold:
  f = <the expression>
  df = d(f)
     = <d(...) nodes expanded one level, by the rules named on the line>   (repeated)
     = <df with every d(...) expanded and simplified>
     = <df in the form the derivative is read from: tr(G^T dX), g^T dx or J dx,
        by the identification rules named on the line; left out when df is in it>
  vec df = <J vec(dX), the same for a derivative with more than two axes>
  => <the derivative in the engine's convention, by identification>
  => <the derivative in the chosen layout>
Every line before identification is an expression in d(X) and in d(Q) for parts Q
not yet expanded; it is the same rules (rules/differentials.rules, then
rules/identify.rules) that the engine applies, one level of the expression per line,
so the derivation is the engine's trace, not a separate explanation.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from . import expr as E
from .differentiate import Differentiator, expand_differential
from .identify import identify, identify_vec
from .simplify import simplify

MAX_LINES = 12


@dataclass(frozen=True)
class Line:
    lhs: str            # "f", "df", "" (a continuation) or the derivative's name
    expr: E.Expr
    reason: str


@dataclass
class Derivation:
    lines: list
    variable: E.Expr
    layout: str
    symbols: tuple = ()      # the function's symbols: their sizes spell constants (`0 x`)

    def text(self) -> str:
        from .emit_text import to_text

        def show(e):
            return to_text(e, statements=False, context=self.symbols)
        rendered = [(f"{d.value} = {show(d.args[0])}", "definition") for d in self.definitions]
        for line in self.lines:
            prefix = {"": "   = ", "=>": "=> ", "vec=>": "=> ", "vec": "vec df = "}.get(line.lhs, f"{line.lhs} = ")
            rendered.append((prefix + show(_display(line.expr)), line.reason))
        width = max(len(body) for body, _ in rendered)
        return "\n".join(f"{body:<{width}}   [{reason}]" if reason else body for body, reason in rendered)

    @property
    def definitions(self) -> list:
        return [n for n in E.postorder(self.lines[0].expr) if n.op == "let"]

    def latex(self, bold_vectors: bool = True) -> str:
        from .emit_latex import name_latex, to_latex
        name = name_latex(self.variable.name, self.variable.kind, bold_vectors)
        top = self.lines[0].lhs
        rows = [f"{name_latex(d.value, _kind(d), bold_vectors)} &= {to_latex(d.args[0], bold_vectors)}"
                r" && \text{definition}" for d in self.definitions]
        for line in self.lines:
            left = {"f": "f", "df": r"\mathrm{d}f", "g": "g", "dg": r"\mathrm{d}g", "": "",
                    "vec": r"\operatorname{vec} \mathrm{d}" + top,
                    "=>": r"\frac{\partial " + top + r"}{\partial " + name + "}",
                    "vec=>": r"\frac{\partial \operatorname{vec} " + top + r"}{\partial \operatorname{vec}("
                             + name + r")^\top}"}[line.lhs]
            reason = r" && " + _latex_reason(line.reason) if line.reason else ""
            rows.append(f"{left} &= {to_latex(_display(line.expr), bold_vectors)}{reason}")
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def __str__(self) -> str:
        return self.text()

    def _repr_latex_(self) -> str:
        return self.latex()


def _kind(e: E.Expr) -> str:
    return "scalar" if e.is_scalar else ("vector" if 1 in e.shape else "matrix")


def _display(e: E.Expr) -> E.Expr:
    """For reading: a scalar product with a differential in it ends with the differential
    (g^T dx rather than dx^T g); both are the same number."""
    def replace(node, again):
        if not node.args:
            return node
        if node.op == "tr":         # as it is: the read-off line keeps dX last (_trace_reading)
            return _trace_node(again(node.args[0]))
        rebuilt = E.rebuild(node, tuple(again(a) for a in node.args))
        q, scalars, chain = E.mul_parts(rebuilt)
        if rebuilt.op == "mul" and rebuilt.is_scalar and len(chain) > 1 and _has_differential(chain[0]) \
                and not _has_differential(chain[-1]):
            return E.mul_reading(q, scalars, [E.transpose(f) for f in reversed(chain)])
        return rebuilt
    return E.transform(e, replace)


def _has_differential(e: E.Expr) -> bool:
    return any(n.op == "d" for n in E.postorder(e))


_FORMULAS = {"df = g^T dx": r"\mathrm{d}f = g^\top \mathrm{d}x",
             "df = tr(G^T dX)": r"\mathrm{d}f = \operatorname{tr}(G^\top \mathrm{d}X)",
             "df = J dx": r"\mathrm{d}f = J \,\mathrm{d}x",
             "df = F' dt": r"\mathrm{d}f = F' \,\mathrm{d}t"}


def _latex_reason(reason: str) -> str:
    """Words in \\text, the identification's formula as mathematics."""
    for plain, formula in _FORMULAS.items():
        if plain in reason:
            before, after = reason.split(plain, 1)
            return (r"\text{" + _latex_text(before) + "} " + formula
                    + (r"\text{" + _latex_text(after) + "}" if after else ""))
    return r"\text{" + _latex_text(reason) + "}"


def _latex_text(text: str) -> str:
    return text.replace("\\", r"\textbackslash ").replace("_", r"\_").replace("&", r"\&").replace("#", r"\#")


def expand_once(df: E.Expr, variable: E.Expr, depends) -> tuple[E.Expr, list]:
    """df with each outermost d(Q) expanded by one rule; the names of the rules used."""
    used: list = []

    def replace(node, again):
        if node.op == "d" and node.args[0] is not variable:
            return _one_rule(node.args[0], variable, depends, used)
        return None
    return E.transform(df, replace), used


def _one_rule(q: E.Expr, variable: E.Expr, depends, used: list) -> E.Expr:
    # d of a part free of the variable is 0 at once: a line never shows d(2) or dA
    result, reason = expand_differential(
        q, variable, depends, Differentiator(variable).ctx,
        on_differential=lambda p: E.differential(p) if depends(p) else E.zeros(p.shape))
    _note(used, reason if isinstance(reason, str) else reason.name)
    return result


def _note(used: list, name: str) -> None:
    if name not in used:
        used.append(name)


def derivation(derivative) -> Derivation:
    """The derivation of a Derivative's last step, in the engine's own steps: for a second
    or higher derivative, of g, the mixed-layout derivative before it."""
    variable = derivative.variable
    if derivative.order == 1:
        f, name, reason = derivative.function, "f", ""
    else:
        earlier = ", ".join(v.name for v in derivative.variables[:-1])
        f, name, reason = derivative.differentiated, "g", f"the derivative by {earlier}, mixed layout"
    differentiator = Differentiator(variable)
    symbols = tuple(derivative.analysis.symbols.values())
    lines = [Line(name, f, reason), Line("d" + name, E.differential(f), "")]
    current = E.differential(f)
    while any(n.op == "d" and n.args[0] is not variable for n in E.postorder(current)):
        if len(lines) >= MAX_LINES:
            current = differentiator(f)
            lines.append(Line("", current, "the remaining rules, all at once"))
            break
        current, used = expand_once(current, variable, differentiator.depends)
        lines.append(Line("", current, ", ".join(used)))
    applied: list = []
    simplified = simplify(current, trace=applied)
    if simplified is not current:
        names = []
        for step in applied:
            _note(names, step.rule.name)
        lines.append(Line("", simplified, ", ".join(names + ["collecting terms"])))
    read_off = _read_off(lines[-1].expr, variable, derivative.is_tensor)
    if read_off is not None:
        lines.append(read_off)
    if derivative.is_tensor:
        lines.append(Line("vec=>", derivative.vec().expr, "identification: vec dF = J vec dX (vec form)"))
        return Derivation(lines, variable, derivative.layout, symbols)
    lines.append(Line("=>", derivative.core, _identification(f, variable)))
    if derivative.expr is not derivative.core:
        lines.append(Line("=>", derivative.expr, f"{derivative.layout} layout"))
    else:
        lines[-1] = Line("=>", derivative.core, lines[-1].reason + f", {derivative.layout} layout")
    return Derivation(lines, variable, derivative.layout, symbols)


def _read_off(df: E.Expr, variable: E.Expr, is_tensor: bool) -> Line | None:
    """df moved into the form the derivative is read from, by the identification rules
    (rules/identify.rules) that move it there, named in the order they are first used;
    None where df is in that form already, or the variable is a scalar (df = F' dt)."""
    if variable.is_scalar:
        return None
    used: list = []
    dvar = E.differential(variable)
    if is_tensor:
        form = E.mul(simplify(identify_vec(df, variable, trace=used)), E.vec(dvar))
        return Line("vec", form, _rule_names(used))
    derivative = simplify(identify(df, variable, trace=used))
    if df.is_scalar:
        form = _trace_reading(E.transpose(derivative), dvar)
    else:
        form = E.mul(derivative, dvar)
        form = E.transpose(form) if df.is_row else form
    return None if form is df else Line("", form, _rule_names(used))


def _rule_names(rules: list) -> str:
    names: list = []
    for rule in rules:
        _note(names, rule.name)
    return ", ".join(names)


def _trace_reading(adjoint: E.Expr, dvar: E.Expr) -> E.Expr:
    """tr(adjoint dX) as it is read off, dX last (a trace's canonical form may rotate it
    away); for display only."""
    if dvar.shape[1] == 1:
        return E.mul(adjoint, dvar)        # a 1 x 1 product: _display puts dx last
    q, scalars, chain = E.mul_parts(adjoint)
    return E.mul(E.number(q), *scalars, _trace_node(E.mul_reading(Fraction(1), (), (*chain, dvar))))


def _trace_node(inner: E.Expr) -> E.Expr:
    """tr(inner) with inner's factors in their order: E.trace would choose its canonical
    cycle, which may put dX first."""
    return E._make("tr", (inner,), None, (1, 1))


def _identification(f: E.Expr, variable: E.Expr) -> str:
    if variable.is_scalar:
        return "identification: df = F' dt"
    if f.is_scalar:
        return "identification: df = g^T dx" if variable.shape[1] == 1 else "identification: df = tr(G^T dX)"
    return "identification: df = J dx"
