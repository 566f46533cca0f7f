"""Show the work: the derivation of a derivative, line by line, from the engine's own rules.

Contract: `derivation(d)` returns a `Derivation` whose lines are equalities that hold:
  f = <the expression as the user typed it>
  df = <d(f) expanded one level, by the rules named on the line>
     = <the d(...) left expanded one more level>                       (repeated)
     = <each 1 x 1 product with the differential first turned around, dx last>
     = <the simplified differential, its moves replayed: a line for each identity
        that does the work, named on it (at most MAX_SIMPLIFICATION_LINES)>
     = <df in the form the derivative is read from: tr(G^T dX), g^T dx or J dx,
        by the identification rules named on the line; left out when df is in it>
  vec df = <J vec(dX), the same for a derivative with more than two axes>
  => <the derivative in the engine's convention, by identification>
  => <the derivative in the chosen layout>
Where f reaches the variable through intermediates the user defined (`x = [t cos(t);
t sin(t)]; exp(x[1] x[2]^2)`), the derivation is the chain rule of the texts: df in
the differentials of the intermediates (df = ∂f/∂x dx, ∂f/∂x read off), one line
`dx = ...` for each intermediate, outermost first, then their product (`df = ...`,
by the chain rule) and the lines above from the simplification on.
Every line keeps the order of the terms of the line before it (matcalc/reading.py):
a rule rewrites the part it acts on and leaves the rest as it was, and the simplifier's
canonical order is undone where the terms are the line before's.  Rules that only
restate (a scalar's trace is itself, a sum's trace is the sum of traces) are not named.
For reading, not for computing: a part that a line repeats is named once below f
(`u1 = softmax(W x + b)`, numbered as the result's text numbers its own names), and an
intermediate's definition that reappears is written by its name, as the result writes it.
It is the same rules (rules/differentials.rules, the simplifier's, rules/identify.rules)
that the engine applies, so the derivation is the engine's trace, not a separate
explanation; tests/test_steps.py evaluates every line at random points.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from . import expr as E
from . import reading
from .differentiate import Differentiator, expand_differential
from .identify import identify, identify_vec
from .simplify import simplify

MAX_LINES = 12

# Identities that restate without changing what a reader sees as the mathematics: moving
# scalar factors, the trace of a scalar, linearity over sums and entries.  The lines they
# act on are still shown; their names would only crowd the rules that do the work.
BOOKKEEPING = frozenset({
    "trace-of-trace", "trace-product", "trace-scalar", "trace-sum", "trace-broadcast",
    "vec-sum", "vec-broadcast", "vec-vec", "vec-scalar", "linearity",
})
_NOT_RULES = frozenset({"constant", "the variable"})
# The simplifier's moves that grow an expression on its way to a shorter one (rules/search.rules):
# a line of the simplification closes at an identity, not at these.
EXPANDING = frozenset({"distribute-left", "distribute-right", "distribute-hadamard", "transpose-of-sum"})
MAX_SIMPLIFICATION_LINES = 3
SCALAR_TRANSPOSED = "a scalar is its own transpose"
CHAIN_RULE = "chain rule"


@dataclass(frozen=True)
class Line:
    lhs: str            # "f", "df", "" (a continuation), "d<intermediate>" or the derivative's name
    expr: E.Expr
    reason: str
    of: E.Expr | None = None   # for "d<intermediate>": the intermediate whose differential it is


@dataclass
class Derivation:
    lines: list
    variable: E.Expr
    layout: str
    symbols: tuple = ()      # the function's symbols: their sizes spell constants (`0 x`)
    typed_definitions: dict = field(default_factory=dict)   # name -> the definition as typed
    inverse: str = "postfix"  # the one spelling of an inverse (emit_text.INVERSE_SPELLINGS): the result's

    def text(self) -> str:
        from .emit_text import to_text
        names, repeated = self._repeats()

        def show(e):
            return to_text(_differentials_named(e), statements=False, context=self.symbols, inverse=self.inverse)
        rendered = [(f"{d.value} = {show(self._definition(d))}", "definition") for d in self.definitions]
        for i, line in enumerate(self.lines):
            prefix = {"": "   = ", "=>": "=> ", "vec=>": "=> ", "vec": "vec df = "}.get(line.lhs, f"{line.lhs} = ")
            rendered.append((prefix + show(_renamed(line.expr, _names_on(line, names)) if i else line.expr),
                             line.reason))
            if i == 0:
                rendered += [(f"{u.value} = {show(shown)}", REPEATED) for u, shown in repeated]
        width = max(len(body) for body, _ in rendered)
        return "\n".join(f"{body:<{width}}   [{reason}]" if reason else body for body, reason in rendered)

    @property
    def definitions(self) -> list:
        return [n for n in E.postorder(self.lines[0].expr) if n.op == "let"]

    def _repeats(self) -> tuple[dict, list]:
        """Names for the parts a line below f repeats (u1 = softmax(W x + b)), as the result's
        text names them: {canonical part: its name as an intermediate}, and [(that
        intermediate, the part as first shown with the names before it)], smaller first."""
        taken = {s.name for s in self.symbols} | {d.value for d in self.definitions}
        first_shown: dict = {}
        for line in self.lines[1:]:
            for part in _repeated_parts(line.expr):
                first_shown.setdefault(reading.canonical(part), part)
        # the result's own names first, numbered as its text numbers them (inner first), so
        # that the last line reads as the result; then the others, the smaller first, so that
        # each definition can use the names before it
        result = set(_repeated_parts(self.lines[-1].expr))
        ordered = [n for n in E.postorder(self.lines[-1].expr) if n in result and n in first_shown]
        ordered += sorted((k for k in first_shown if k not in ordered), key=lambda k: k.size)
        names: dict = {}
        counter = 0
        for key in ordered:
            counter += 1
            while f"u{counter}" in taken:
                counter += 1
            names[key] = E.named(f"u{counter}", first_shown[key])   # printed by name; its body, the spelling
        repeated = []
        for key in sorted(ordered, key=lambda k: k.size):     # a definition after the names it uses
            smaller = {k: u for k, u in names.items() if k.size < key.size}
            repeated.append((names[key], _renamed(first_shown[key], smaller)))
        return names, repeated

    def _definition(self, intermediate: E.Expr) -> E.Expr:
        return self.typed_definitions.get(intermediate.value, intermediate.args[0])

    def latex(self, bold_vectors: bool = True) -> str:
        from .emit_latex import name_latex, to_latex
        name = name_latex(self.variable.name, self.variable.kind, bold_vectors)
        top = self.lines[0].lhs
        rows = [f"{name_latex(d.value, _kind(d), bold_vectors)} &= {to_latex(self._definition(d), bold_vectors)}"
                r" && \text{definition}" for d in self.definitions]
        names, repeated = self._repeats()
        for i, line in enumerate(self.lines):
            fixed = {"f": "f", "df": r"\mathrm{d}f", "g": "g", "dg": r"\mathrm{d}g", "": "",
                     "vec": r"\operatorname{vec} \mathrm{d}" + top,
                     "=>": r"\frac{\partial " + top + r"}{\partial " + name + "}",
                     "vec=>": r"\frac{\partial \operatorname{vec} " + top + r"}{\partial \operatorname{vec}("
                              + name + r")^\top}"}
            if line.of is not None:      # d<intermediate>
                left = r"\mathrm{d}" + name_latex(line.of.value, _kind(line.of), bold_vectors)
            else:
                left = fixed[line.lhs]
            reason = r" && " + _latex_reason(line.reason) if line.reason else ""
            shown = _renamed(line.expr, _names_on(line, names)) if i else line.expr
            rows.append(f"{left} &= {to_latex(_differentials_named(shown), bold_vectors)}{reason}")
            if i == 0:
                rows += [f"{name_latex(u.value, _kind(u), bold_vectors)} &= "
                         f"{to_latex(_differentials_named(part), bold_vectors)} && " + _latex_reason(REPEATED)
                         for u, part in repeated]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def __str__(self) -> str:
        return self.text()

    def _repr_latex_(self) -> str:
        return self.latex()


REPEATED = "repeated below"


def _repeated_parts(e: E.Expr) -> list:
    """The parts e prints more than once, free of differentials, large enough to be worth a
    name (emit_text.SHARED_SIZE, as the result's text decides), outermost first."""
    from .emit_text import SHARED_SIZE
    order = E.postorder(e)
    counts = {e: 1}
    parts = []
    for node in reversed(order):
        count = counts.get(node, 0)
        if node.op == "let":
            continue
        if count >= 2 and node.size >= SHARED_SIZE and node.op not in ("sym", "num") \
                and not _has_differential(node) and not _is_denominator(node):
            parts.append(node)
            count = 1
        for a in node.args:
            counts[a] = counts.get(a, 0) + count
    return parts


def _names_on(line: Line, names: dict) -> dict:
    """The names a line prints: a derivative (=>) only those of the parts it repeats itself,
    so that it reads as the result's text, which names only those."""
    if line.lhs not in ("=>", "vec=>"):
        return names
    own = {reading.canonical(p) for p in _repeated_parts(line.expr)}
    return {k: u for k, u in names.items() if k in own}


def _is_denominator(e: E.Expr) -> bool:
    return e.op == "pow" and E.is_number(e.args[1]) and e.args[1].value < 0


def _renamed(e: E.Expr, names: dict) -> E.Expr:
    """For printing: each part that has a name as that intermediate, where it is the named
    part or prints as it does (a reading as typed, tanh(x) .* tanh(x), keeps its spelling)."""
    if not names:
        return e

    def replace(node, again):
        if not node.args:
            return None
        key = reading.canonical(node)
        if key in names and (node is key or str(node) in (str(key), str(names[key].args[0]))):
            return names[key]
        return None
    return reading.transform(e, replace)


def _differentials_named(e: E.Expr) -> E.Expr:
    """For printing: the differential of an intermediate u written du, as of a variable
    (the printers write d(u) for a differential of anything but a symbol)."""
    named = {n: E.differential(_stand_in(n.args[0])) for n in E.postorder(e)
             if n.op == "d" and n.args[0].op == "let"}
    return reading.transform(e, lambda node, again: named.get(node)) if named else e


def _stand_in(u: E.Expr) -> E.Expr:
    """A symbol in the place of the intermediate u: its name, its shape."""
    return E.symbol(u.value, u.shape, _kind(u))


def _kind(e: E.Expr) -> str:
    return "scalar" if e.is_scalar else ("vector" if 1 in e.shape else "matrix")


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
    return (text.replace("\\", r"\textbackslash ").replace("_", r"\_").replace("&", r"\&")
            .replace("#", r"\#").replace("∂", r"$\partial$"))


# ---------------------------------------------------------------- expanding d(...)

class _Expander:
    """d(...) expanded level by level on readings, so each line keeps the order of the last;
    the differentials of the intermediates in `kept` are left for their own lines."""

    def __init__(self, variable: E.Expr, kept=frozenset()):
        self.variable = variable
        self.differentiator = Differentiator(variable)
        self.depends = self.differentiator.depends
        self.kept = kept

    def pending(self, e: E.Expr) -> bool:
        return any(n.op == "d" and n.args[0] is not self.variable and n.args[0] not in self.kept
                   for n in E.postorder(e))

    def once(self, e: E.Expr) -> tuple[E.Expr, list]:
        """e with each outermost d(Q) expanded by one rule; the names of the rules used."""
        used: list = []

        def replace(node, again):
            if node.op == "d":
                inner = node.args[0]
                return node if inner is self.variable or inner in self.kept else self._one_level(inner, used)
            return None
        return reading.transform(e, replace), used

    def _one_level(self, q: E.Expr, used: list) -> E.Expr:
        if not self.depends(q):
            return E.zeros(q.shape)
        if q.op == "add":      # d is linear: each term's own rule on the same line, as the texts write it
            _note(used, "d-sum")
            return reading.add(*(self._in_place(t, used) for t in q.args))
        if q.op == "mul":
            # the product rule on the product as written: one term for each factor that
            # depends on the variable, that factor's differential in its place
            _note(used, "d-product")
            coefficient, scalars, chain = E.mul_parts(q)
            # in the order they are printed, as typed: x / ||x|| differentiates x first
            denominators = [s for s in scalars if _is_denominator(s)]
            factors = [*(s for s in scalars if s not in denominators), *chain, *denominators]
            dependent = [i for i, f in enumerate(factors) if self.depends(f)]
            # one factor alone depends: d(c A) = c dA says nothing; A's own rule on the same line
            differential = self._in_place if len(dependent) == 1 else self._d
            return reading.add(*(reading.mul(E.number(coefficient), *factors[:i], differential(factors[i], used),
                                             *factors[i + 1:]) for i in dependent))
        if q.op == "T":
            _note(used, "d-transpose")
            return reading.transpose(self._d(q.args[0], used))
        if q.op == "had":     # the product rule again, operand by operand as written
            _note(used, "d-hadamard")
            operands = q.args
            return reading.add(*(reading.hadamard(*operands[:i], self._d(f, used), *operands[i + 1:])
                                 for i, f in enumerate(operands) if self.depends(f)))
        result, reason = expand_differential(q, self.variable, self.depends, self.differentiator.ctx,
                                             on_differential=lambda p: self._d(p, used))
        _note(used, reason if isinstance(reason, str) else reason.name)
        return result

    def _in_place(self, part: E.Expr, used: list) -> E.Expr:
        """d(part) expanded by its own rule on this line (the variable's and a kept
        intermediate's differential as they are)."""
        if part is self.variable or part in self.kept or not self.depends(part):
            return self._d(part, used)
        return self._one_level(part, used)

    def _d(self, part: E.Expr, used: list) -> E.Expr:
        """d(part), left for the next line; 0 at once for a part free of the variable (a line
        never shows d(2) or dA), and d(U^T) = dU^T at once, as the texts write it."""
        if not self.depends(part):
            return E.zeros(part.shape)
        if part.op == "T":
            _note(used, "d-transpose")
            return reading.transpose(self._d(part.args[0], used))
        return E.differential(part)

    def fully(self, e: E.Expr) -> tuple[E.Expr, list]:
        """Every pending d(...) expanded, and the rules used (no line for each level)."""
        names: list = []
        while self.pending(e):
            e, used = self.once(e)
            for name in used:
                _note(names, name)
        return e, names


def _note(used: list, name: str) -> None:
    if name not in used:
        used.append(name)


def _named(names) -> str:
    return ", ".join(_shown_name(n) for n in names if n not in BOOKKEEPING and n not in _NOT_RULES)


def _shown_name(name: str) -> str:
    """A rule's name on a line; the simplifier names a use of the user's assumption
    `assumption assume sum(y) = 1`, shown as the statement itself."""
    stated = name.removeprefix("assumption ")
    return stated if stated.startswith("assume ") else name


# ---------------------------------------------------------------- the derivation

def derivation(derivative) -> Derivation:
    """The derivation of a Derivative's last step, in the engine's own steps: for a second
    or higher derivative, of g, the mixed-layout derivative before it."""
    variable = derivative.variable
    typed_definitions: dict = {}
    if derivative.order == 1:
        f = derivative.function
        typed = reading.typed(derivative.analysis)
        if typed is not None:
            f, typed_definitions = typed
        name, reason = "f", ""
    else:
        earlier = ", ".join(v.name for v in derivative.variables[:-1])
        f, name, reason = derivative.differentiated, "g", f"the derivative by {earlier}, mixed layout"
    symbols = tuple(derivative.analysis.symbols.values())
    inverse = derivative.inverse_spelling
    assumptions = tuple(getattr(derivative, "assumptions", ()) or ())
    lines = [Line(name, f, reason)]
    depends = Differentiator(variable).depends
    intermediates = [n for n in reversed(E.postorder(f)) if n.op == "let" and depends(n)]
    if intermediates:
        current = _chain_rule(f, variable, name, intermediates, lines, assumptions)
    else:
        current = _expanded(f, variable, name, lines)
    current = _simplified(current, variable, lines, assumptions)
    read_off = _read_off(current, variable, derivative.is_tensor, assumptions)
    if read_off is not None:
        lines.append(read_off)
    if derivative.is_tensor:
        lines.append(Line("vec=>", derivative.vec().expr, "identification: vec dF = J vec dX (vec form)"))
        return Derivation(lines, variable, derivative.layout, symbols, typed_definitions, inverse)
    lines = _intermediates_named(lines, f)
    core = _intermediates_named([Line("=>", derivative.core, "")], f)[0].expr
    # the read-off results print their sums as the user typed them, as the result does
    core = reading.in_typed_order(core, derivative.analysis)
    lines.append(Line("=>", core, _identification(f, variable)))
    if str(derivative.display_expr) != str(core):
        lines.append(Line("=>", derivative.display_expr, f"{derivative.layout} layout"))
    else:
        lines[-1] = Line("=>", derivative.display_expr, lines[-1].reason + f", {derivative.layout} layout")
    return Derivation(lines, variable, derivative.layout, symbols, typed_definitions, inverse)


def _intermediates_named(lines: list, f: E.Expr) -> list:
    """The lines after the first with each intermediate's definition, where it reappears,
    written as its name, as the result writes it (layout.named_intermediates):
    dp = (diag(p) - p p^T) V dh, not softmax(V h) three times."""
    lets = {n.args[0]: n for n in E.postorder(f) if n.op == "let"}
    if not lets:
        return lines

    def replace(node, again):
        return lets.get(reading.canonical(node)) if node.args else None
    return [lines[0] if i == 0 and line.lhs in ("f", "g") else
            _with_expr(line, reading.transform(line.expr, replace)) for i, line in enumerate(lines)]


def _with_expr(line: Line, expr: E.Expr) -> Line:
    return Line(line.lhs, expr, line.reason, line.of)


def _expanded(f: E.Expr, variable: E.Expr, name: str, lines: list) -> E.Expr:
    """df, one level of rules a line, from the product rule on f as typed; past MAX_LINES
    the rest at once, on one line naming its rules."""
    expander = _Expander(variable)
    current = E.differential(f)
    lhs = "d" + name
    if not expander.pending(current):        # f is the variable itself
        lines.append(Line(lhs, current, ""))
        return current
    while expander.pending(current):
        if len(lines) >= MAX_LINES:
            current, used = expander.fully(current)
            lines.append(Line(lhs if lhs else "", current, _named(used) + " (the remaining rules, all at once)"))
            break
        current, used = expander.once(current)
        lines.append(Line(lhs, current, _named(used)))
        lhs = ""
    return current


def _chain_rule(f: E.Expr, variable: E.Expr, name: str, intermediates: list, lines: list,
                assumptions: tuple) -> E.Expr:
    """df through the intermediates: df in their differentials (∂f/∂u du, read off where
    one intermediate carries it), a line du = ... for each, then their product."""
    kept = frozenset(intermediates)
    expander = _Expander(variable, kept)
    stage, used = expander.fully(E.differential(f))
    stage, used = _stage_form(stage, used, f, variable, kept, assumptions)
    lines.append(Line("d" + name, stage, _named(used)))
    forms: dict = {}
    queue = [u for u in intermediates if _differential_in(stage, u)]
    while queue:
        u = queue.pop(0)
        if u in forms:
            continue
        expanded, used = expander.fully(E.differential(u.args[0]))
        form, used = _stage_form(expanded, used, u, variable, kept, assumptions)
        forms[u] = form
        lines.append(Line("d" + u.value, form, _named(used), of=u))
        queue.extend(v for v in intermediates if v not in forms and _differential_in(form, v))

    def replace(node, again):
        if node.op == "d" and node.args[0] in forms:
            return again(forms[node.args[0]])
        return None
    product = reading.transform(stage, replace)
    lines.append(Line("d" + name, product, CHAIN_RULE))
    return product


def _differential_in(e: E.Expr, u: E.Expr) -> bool:
    return any(n.op == "d" and n.args[0] is u for n in E.postorder(e))


def _stage_form(expanded: E.Expr, used: list, owner: E.Expr, variable: E.Expr, kept, assumptions) -> tuple:
    """A stage of the chain rule as the texts write it: simplified, and read off as
    ∂owner/∂u du where a single differential du carries it (dx = x' dt for the variable t)."""
    names = list(used)
    simplified = _simplify(reading.canonical(expanded), names, assumptions)
    carriers = {n.args[0] for n in E.postorder(simplified) if n.op == "d"}
    if len(carriers) != 1:
        return _dx_last(simplified), names
    (u,) = carriers
    if u is variable and variable.is_scalar:
        return _times_differential(identify(simplified, variable), E.differential(variable)), names
    if u is variable or owner.shape[1] != 1 and not owner.is_scalar:
        return _dx_last(simplified), names
    stand_in = _stand_in(u)
    line = _read_off(E.substitute(simplified, {u: stand_in}), stand_in, False)
    if line is None:
        return _dx_last(simplified), names
    names.append("∂" + ("f" if owner.op != "let" else owner.value) + "/∂" + u.value)
    back = reading.transform(line.expr, lambda node, again: u if node is stand_in else None)
    return _scalars_out_of_literals(back), names


def _scalars_out_of_literals(e: E.Expr) -> E.Expr:
    """A literal whose entries share scalar factors, with them in front: exp(u) [a, b]
    rather than [a exp(u), b exp(u)] (the constructor multiplies scalars into literals)."""
    def replace(node, again):
        if node.op != "lit":
            return None
        entries = [again(a) for a in node.args]
        shared = list(E.mul_parts(entries[0])[1])
        for entry in entries[1:]:
            rest = list(E.mul_parts(entry)[1])
            shared = [s for s in shared if s in rest and not rest.remove(s)]
        if not shared:
            return None
        inner = [E.mul(E.number(q), *_without(s, shared), *c) for q, s, c in map(E.mul_parts, entries)]
        cols = node.shape[1]
        return reading.mul(*shared, E.literal([inner[i:i + cols] for i in range(0, len(inner), cols)]))
    return reading.transform(e, replace)


def _without(factors, shared: list) -> list:
    rest = list(factors)
    for f in shared:
        rest.remove(f)
    return rest


def _times_differential(derivative: E.Expr, dt: E.Expr) -> E.Expr:
    """F' dt with dt last, as the texts write it (the constructor puts the scalar dt first)."""
    q, scalars, chain = E.mul_parts(derivative)
    if chain and chain[-1].shape[1] == 1:       # a column: dt closes the chain
        return E.mul_reading(q, scalars, (*chain, dt))
    return E.mul_reading(q, (*scalars, dt), chain)


def _simplify(e: E.Expr, names: list, assumptions: tuple = ()) -> E.Expr:
    applied: list = []

    def run(opened):
        if assumptions:
            return simplify(opened, trace=applied, assumptions=assumptions)
        return simplify(opened, trace=applied)
    simplified = _intermediates_kept(run, e)
    for step in applied:
        _note(names, getattr(step.rule, "name", str(step.rule)))
    return simplified


def _simplification(e: E.Expr, assumptions: tuple) -> list:
    """The simplifier's way from e to its result, as (expression, reason) pairs: its moves
    replayed on e, a line closing at each identity that does the work (not at the moves that
    expand a product or restate), at most MAX_SIMPLIFICATION_LINES of them; one line where
    the moves do not replay (a rewrite inside a part already rewritten)."""
    lets = {n: _stand_in(n) for n in E.postorder(e) if n.op == "let"}
    back = {symbol: let for let, symbol in lets.items()}
    opened = E.substitute(e, lets) if lets else e
    applied: list = []
    if assumptions:
        result = simplify(opened, trace=applied, assumptions=assumptions)
    else:
        result = simplify(opened, trace=applied)
    if result is opened:
        return []
    names = [getattr(step.rule, "name", str(step.rule)) for step in applied]
    groups, replayed = _replayed(opened, applied, names)
    if not groups or groups[-1][0] is not result:
        groups.append((result, names[replayed:]))
    groups = _merged(groups, MAX_SIMPLIFICATION_LINES)
    restore = (lambda x: E.substitute(x, back)) if back else (lambda x: x)
    return [(restore(state), _simplification_reason(used, last=i == len(groups) - 1))
            for i, (state, used) in enumerate(groups)]


def _replayed(e: E.Expr, applied: list, names: list) -> tuple[list, int]:
    """[(state, names)] after each group of moves, as far as the moves replay (a move whose
    part is not in the expression it is replayed on ends it: the rewriter's unrecorded
    factoring came between), and how many moves those groups hold."""
    groups: list = []
    state, pending, done = e, [], 0
    for step, name in zip(applied, names):
        if not any(n is step.before for n in E.postorder(state)):
            break
        state = E.substitute(state, {step.before: step.after})
        pending.append(name)
        if name not in BOOKKEEPING and name not in EXPANDING:
            groups.append((state, pending))
            done += len(pending)
            pending = []
    else:
        if pending and groups:
            groups[-1] = (state, groups[-1][1] + pending)
            done += len(pending)
    return groups, done


def _merged(groups: list, most: int) -> list:
    """At most `most` groups, neighbours merged: each keeps its last state, all names."""
    if len(groups) <= most:
        return groups
    size = -(-len(groups) // most)
    merged = []
    for start in range(0, len(groups), size):
        chunk = groups[start:start + size]
        merged.append((chunk[-1][0], [n for _, used in chunk for n in used]))
    return merged


def _simplification_reason(used: list, last: bool) -> str:
    """The identities of a group of moves; `expanding` for the moves that distribute, and
    `collecting terms` for the last line (the simplifier collects like terms throughout)."""
    names: list = []
    for name in used:
        _note(names, name)
    expanding = "expanding" if any(n in EXPANDING for n in names) else ""
    named = _named(n for n in names if n not in EXPANDING)
    return ", ".join(filter(None, [expanding, named, "collecting terms" if last or not named else ""]))


def _intermediates_kept(function, e: E.Expr) -> E.Expr:
    """function(e) with each intermediate a symbol of its name meanwhile: the simplifier
    would rewrite its definition (x = t [cos(t); sin(t)]), making it another node than the
    one the lines around name."""
    lets = {n: _stand_in(n) for n in E.postorder(e) if n.op == "let"}
    if not lets:
        return function(e)
    back = {symbol: let for let, symbol in lets.items()}
    return E.substitute(function(E.substitute(e, lets)), back)


def _simplified(current: E.Expr, variable: E.Expr, lines: list, assumptions: tuple) -> E.Expr:
    """The lines from the expanded df to the simplified one: dx turned last in 1 x 1
    products, then the simplifier's result, with the terms of the line before in their order."""
    turned = _dx_last(current)
    if turned is not current:
        lines.append(Line("", turned, SCALAR_TRANSPOSED))
    shown = turned
    for simplified, reason in _simplification(reading.canonical(turned), assumptions):
        step = _with_dt_last(_dx_last(_in_order_of(simplified, shown)), variable)
        if str(step) != str(shown):
            lines.append(Line("", step, reason))
            shown = step
    if shown is not turned:
        return shown
    shown = _with_dt_last(turned, variable)
    if str(shown) != str(turned):
        lines.append(Line("", shown, "collecting terms"))
    return shown


def _with_dt_last(e: E.Expr, variable: E.Expr) -> E.Expr:
    """For a scalar variable t, df as F' dt, the form it is read from."""
    if not variable.is_scalar or {n.args[0] for n in E.postorder(e) if n.op == "d"} != {variable}:
        return e
    return _times_differential(identify(reading.canonical(e), variable), E.differential(variable))


def _dx_last(e: E.Expr) -> E.Expr:
    """For reading: a scalar product with a differential in it ends with the differential
    (g^T dx rather than dx^T g); both are the same number."""
    def replace(node, again):
        if not node.args or node.op == "let":
            return node
        args = tuple(again(a) for a in node.args)
        rebuilt = node if all(new is old for new, old in zip(args, node.args)) else reading.rebuild(node, args)
        q, scalars, chain = E.mul_parts(rebuilt)
        if rebuilt.op == "mul" and rebuilt.is_scalar and len(chain) > 1 and _has_differential(chain[0]) \
                and not _has_differential(chain[-1]):
            return E.mul_reading(q, scalars, [_transposed(f) for f in reversed(chain)])
        return rebuilt
    return reading.transform(e, replace)


def _transposed(f: E.Expr) -> E.Expr:
    """f^T, pushed to the leaves where f is canonical ((diag(s) - s s^T)^T is itself),
    kept as one transpose around a reading, whose order the constructor would change."""
    return E.transpose(f) if reading.canonical(f) is f else reading.transpose(f)


def _has_differential(e: E.Expr) -> bool:
    return any(n.op == "d" for n in E.postorder(e))


def _in_order_of(e: E.Expr, before: E.Expr) -> E.Expr:
    """e with the terms of each sum in the order the line before had them: terms it also
    has where they were, and a sum of new terms (what collecting made of them) by where
    the line before first names their symbols, so that w^T x + x^T A x collects to
    (w + (A + A^T) x)^T dx, not to ((A + A^T) x + w)^T dx.  Ties keep the simplifier's order."""
    order = _preorder(before)
    position: dict = {}
    for node in order:
        if node.op == "add":
            for t in node.args:
                position.setdefault(reading.canonical(t), len(position))
    first_seen: dict = {}
    for node in order:
        if node.op == "sym":
            first_seen.setdefault(node, len(first_seen))

    def where(term: E.Expr) -> int:
        seen = [first_seen[n] for n in E.postorder(term) if n in first_seen]
        return min(seen) if seen else len(first_seen)

    def replace(node, again):
        if node.op != "add":
            return None
        terms = [again(t) for t in node.args]
        if all(t in position for t in node.args):
            key = [position[t] for t in node.args]
        else:
            key = [where(t) for t in node.args]
        keyed = sorted(range(len(terms)), key=lambda i: (key[i], i))
        return reading.add(*(terms[i] for i in keyed))
    return reading.transform(e, replace)


def _preorder(e: E.Expr) -> list:
    order, stack, seen = [], [e], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        stack.extend(reversed(node.args))
    return order


def _read_off(df: E.Expr, variable: E.Expr, is_tensor: bool, assumptions: tuple = ()) -> Line | None:
    """df moved into the form the derivative is read from, by the identification rules
    (rules/identify.rules) that move it there and the simplifier's after them, named in the
    order they are first used; None where df is in that form already, or the variable is a
    scalar (df = F' dt)."""
    if variable.is_scalar:
        return None
    used: list = []
    dvar = E.differential(variable)
    if not is_tensor and _reads_off(df, dvar):
        return None
    canonical = reading.canonical(df)

    def simplified(e):
        if assumptions:
            return simplify(e, trace=moves, assumptions=assumptions)
        return simplify(e, trace=moves)
    moves: list = []
    if is_tensor:
        form = E.mul(_intermediates_kept(simplified, identify_vec(canonical, variable, trace=used)), E.vec(dvar))
        return Line("vec", form, _rule_names(used + [m.rule for m in moves]))
    derivative = _intermediates_kept(simplified, identify(canonical, variable, trace=used))
    used += [m.rule for m in moves]
    if df.is_scalar:
        form = _dx_last(_trace_reading(_adjoint(derivative, simplified), dvar))
    else:
        form = E.mul(derivative, dvar)
        form = E.transpose(form) if df.is_row else form
    form = _in_order_of(form, df)
    if str(form) == str(df):
        return None
    return Line("", form, _rule_names(used) or _FORM_OF[df.is_scalar, variable.shape[1] == 1])


def _adjoint(derivative: E.Expr, simplified) -> E.Expr:
    """G^T of tr(G^T dX) (g^T of g^T dx) as it reads shortest: G's transpose simplified
    (3 tr(S^2 dS) for a symmetric S, not 3 tr((S^2)^T dS)), or G itself under one
    transpose, so that the G read off is the G on the next line."""
    pushed = _intermediates_kept(simplified, E.transpose(derivative))
    kept = reading.transpose(derivative)
    return kept if len(str(kept)) < len(str(pushed)) else pushed


_FORM_OF = {(True, True): "the form df = g^T dx", (True, False): "the form df = tr(G^T dX)",
            (False, True): "the form df = J dx", (False, False): "the form df = J dx"}


def _reads_off(df: E.Expr, dvar: E.Expr) -> bool:
    """Whether df is a product ending in the differential, its only one (g^T dx, J dx,
    c tr(G^T dX)): the derivative is read from it as it stands."""
    if sum(1 for n in E.postorder(df) if n is dvar) != 1 or df.is_row:
        return False
    _, scalars, chain = E.mul_parts(df)
    if not chain and len(scalars) == 1 and scalars[0].op == "tr":
        _, scalars, chain = E.mul_parts(scalars[0].args[0])
    elif df.is_scalar and dvar.shape[1] != 1:
        return False
    return bool(chain) and chain[-1] is dvar


def _rule_names(rules: list) -> str:
    names: list = []
    for rule in rules:
        _note(names, getattr(rule, "name", str(rule)))
    return _named(n for n in names if n not in EXPANDING)


def _trace_reading(adjoint: E.Expr, dvar: E.Expr) -> E.Expr:
    """tr(adjoint dX) as it is read off, dX last (a trace's canonical form may rotate it
    away); for display only."""
    if dvar.shape[1] == 1:
        return E.mul(adjoint, dvar)        # a 1 x 1 product: _dx_last puts dx last
    q, scalars, chain = E.mul_parts(adjoint)
    return E.mul(E.number(q), *scalars, reading.trace(E.mul_reading(Fraction(1), (), (*chain, dvar))))


def _identification(f: E.Expr, variable: E.Expr) -> str:
    if variable.is_scalar:
        return "identification: df = F' dt"
    if f.is_scalar:
        return "identification: df = g^T dx" if variable.shape[1] == 1 else "identification: df = tr(G^T dX)"
    return "identification: df = J dx"
