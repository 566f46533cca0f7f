"""Differentiate: f -> df in terms of dX, by the rules of rules/differentials.rules.

Contract: `differential(f, X)` returns df, an Expr linear in the differential dX, and
appends each (rule, d(part), expansion) Step it takes to `trace` when one is given.
`expand_differential` is one level of it, for derivations (steps.py).  Reading the
derivative off df is the next stage, matcalc/identify.py.
"""
from __future__ import annotations

from . import expr as E
from .budget import spend
from .errors import LimitError, NotDifferentiableError
from .rules import Context, Rule, Step, guards_hold, instantiate, key_of, match, rules_for

# d(X^k) = sum of X^j dX X^(k-1-j): k terms, each as long as the power (the trace of a power
# has its own one-term rule, MC (121)).
MAX_EXPANDED_POWER = 100


class Differentiator:
    """d(.) by the rules, with respect to one variable, memoised across a DAG."""

    def __init__(self, variable: E.Expr, trace: list | None = None):
        self.variable = variable
        self.name = variable.name
        self.memo: dict = {}
        self.depends_memo: dict = {}
        self.trace = trace
        self.ctx = Context(is_constant=lambda e: not self.depends(e))

    def depends(self, e: E.Expr) -> bool:
        return self.name in E.symbols_in(e, self.depends_memo)

    def __call__(self, e: E.Expr) -> E.Expr:
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = self._differential(e)
        return found

    def _differential(self, e: E.Expr) -> E.Expr:
        spend()
        result, reason = expand_differential(e, self.variable, self.depends, self.ctx, on_differential=self)
        if isinstance(reason, Rule) and self.trace is not None:
            self.trace.append(Step(reason, E.differential(e), result))
        return result


def expand_differential(e: E.Expr, variable: E.Expr, depends, ctx: Context, on_differential):
    """One level of d(e): (the expansion, the Rule or the fact that gives it).

    The inner differentials are `on_differential(part)`: the engine differentiates them at
    once, a derivation (steps.py) leaves them for its next line."""
    if not depends(e):
        return E.zeros(e.shape), "constant"
    if e is variable:
        return E.differential(e), "the variable"
    if e.op == "let":               # the chain rule through an intermediate
        return on_differential(e.args[0]), f"definition of {e.value}"
    # d is linear, and entries and literals are linear in their operands
    if e.op == "entry":
        return E.entry(on_differential(e.args[0]), *e.value), "linearity"
    if e.op == "lit":
        return E.rebuild(e, tuple(on_differential(a) for a in e.args)), "linearity"
    if e.op == "mpow" and E.is_number(e.args[1]) and e.args[1].value > MAX_EXPANDED_POWER:
        raise LimitError(f"the differential of a matrix power X^k has k terms; matcalc expands it "
                         f"for k up to {MAX_EXPANDED_POWER}, not {e.args[1].value}")
    for rule in rules_for("differentials", key_of(e)):
        bindings = match(rule.lhs.args[0], e, {})
        if bindings is not None and guards_hold(rule, bindings, ctx):
            return instantiate(rule.rhs, bindings, on_differential=on_differential), rule
    raise NotDifferentiableError(f"no rule differentiates {_describe(e)} "
                                 f"with respect to {variable.name}")


def _describe(e: E.Expr) -> str:
    text = str(e)
    return text if len(text) <= 60 else text[:57] + "..."


def differential(f: E.Expr, variable: E.Expr, trace: list | None = None) -> E.Expr:
    return Differentiator(variable, trace)(f)
