"""Rules as data: load rules/*.rules, match patterns, rewrite to a fixed point.

Contract: a rules file holds one identity a line, in the expression language,
    name : lhs => rhs  if guard(X), guard(Y)    # citation
    name : lhs <=> rhs if guard(X)              # reversible: either side may replace the other
A rule written with `<=>` is reversible (`Rule.reversible`; `Rule.reversed()` is the
rule read right to left): its two sides must use the same pattern variables, so that
either side binds what the other needs.  The fixed-point `Rewriter` reads every rule
left to right only; the search (matcalc/search.py) uses a reversible rule both ways.
Lines hold `scalar a, b` lines that declare pattern variables scalar (lowercase names
are vectors, uppercase ones match any expression, as in user input), and
typed declarations `N: matrix[m, n]` that name a pattern variable's dimensions
for the rules below them (a later declaration of the name replaces it), so that
a right side can use them (`commutation(m, n)`).  Every rule knows its file and
line.  A `target N, n` line makes the file's rules adjoint rules
(rules/identify.rules): each term of a right side that ends in tr(A' T) or
A' vec(T), T mentioning a target, is a `Share`, its adjoint A' and target T
built as expressions of their own (matcalc/identify.py uses them).
`Rewriter` applies a rule set bottom-up until nothing applies, within a step
limit and never revisiting an expression, and can record each (rule, before,
after) step.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import re
from dataclasses import dataclass
from functools import reduce

from . import expr as E
from . import ops
from .budget import spend
from .expr import postorder
from .errors import MatcalcError
from .resources import cache_dir, list_files, read_text
from .syntax import parse_rule_line

MAX_STEPS = 20_000


@dataclass(frozen=True)
class Share:
    """The term tr(adjoint target), or adjoint vec(target), of an adjoint rule's right side:
    what the target receives.  The adjoint is built on its own, in one analysis with the
    rule's left side, so that its sizes are linked to the rule's variables (`variables`):
    an `I` or `1` in it takes the size the identity gives it."""
    adjoint: E.Expr
    target: E.Expr
    variables: tuple       # the pattern variables the adjoint's sizes are linked to


@dataclass(frozen=True)
class Rule:
    name: str
    lhs: E.Expr
    rhs: E.Expr
    guards: tuple          # (guard name, pattern variable Expr)
    file: str
    line: int
    citation: str
    shares: tuple = ()     # an adjoint rule's Shares, in the order of the right side's terms
    reversible: bool = False

    def __str__(self) -> str:
        return f"{self.name} : {self.lhs} {'<=>' if self.reversible else '=>'} {self.rhs}"

    def reversed(self) -> Rule:
        """The identity read right to left, under the same name and guards."""
        return Rule(self.name, self.rhs, self.lhs, self.guards, self.file, self.line, self.citation,
                    reversible=True)


@dataclass(frozen=True)
class Step:
    rule: Rule
    before: E.Expr
    after: E.Expr


class RuleFileError(MatcalcError):
    """A rules file that does not read as rules."""


_TARGETS = re.compile(r"\s*target\s+(\w+(?:\s*,\s*\w+)*)\s*$")
_REVERSIBLE = "<=>"


def load_rules(path) -> list:
    from .analyse import Declared, analyse_rule
    rules = []
    scalars: set = set()
    declared: dict = {}
    targets: set = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text, _, citation = raw.partition("#")
        if not text.strip():
            continue
        target_line = _TARGETS.match(text)
        if target_line:
            targets.update(name.strip() for name in target_line.group(1).split(","))
            continue
        reversible = _REVERSIBLE in text
        if reversible:      # read as `=>`, in as many characters: the syntax nodes keep their columns
            text = text.replace(_REVERSIBLE, " =>", 1)
        try:
            parsed = parse_rule_line(text)
            if parsed[0] == "declarations":
                for _, name, kind, dims, _ in parsed[1]:
                    if kind == "scalar":
                        scalars.add(name)
                    if dims:
                        declared[name] = Declared(kind, tuple(dims))
                continue
            _, name, lhs_node, rhs_node, guards = parsed
            lhs, rhs, variables = analyse_rule(text, lhs_node, rhs_node, scalars, declared)
            if reversible and _variables(lhs) != _variables(rhs):
                raise MatcalcError("the sides of a reversible rule (<=>) must use the same pattern variables")
            shares = _shares(text, lhs_node, rhs_node, targets, scalars, declared) if targets else ()
        except MatcalcError as exc:
            raise RuleFileError(f"{path.name}:{number}: {exc.message}") from None
        guard_exprs = []
        for guard, var in guards:
            if var not in variables:
                raise RuleFileError(f"{path.name}:{number}: guard names {var}, which the rule does not use")
            guard_exprs.append((guard, variables[var]))
        rules.append(Rule(name, lhs, rhs, tuple(guard_exprs), path.name, number, citation.strip(), shares,
                          reversible))
    return rules


def _variables(pattern: E.Expr) -> set:
    return {n for n in postorder(pattern) if n.op == "sym"}


def _shares(text: str, lhs_node, rhs_node, targets: set, scalars: set, declared: dict) -> tuple:
    """The Shares of an adjoint rule, read off its right side's syntax (the built right
    side is canonical: tr(S A P N) and tr(A P N S) are one expression there)."""
    trace_form = lhs_node.op == "call" and lhs_node.value == "tr"
    shares = []
    for term in _terms(rhs_node):
        inner = term.args[0] if trace_form and term.op == "call" and term.value == "tr" else term
        if inner.op != "mul":
            raise MatcalcError("an adjoint rule's terms are tr(A' T), A' t or A' vec(T)")
        last = inner.args[-1]
        target = last.args[0] if last.op == "call" and last.value == "vec" else last
        if not targets & set(_names(target)):
            continue
        adjoint_text = _source(text, inner.args[0])
        target_text = _source(text, target)
        whole = _source(text, lhs_node)
        # terms that are zero beside the adjoint link its sizes to the target's and the rule's
        linked = (f"0 ({whole}) ({target_text})^T" if trace_form
                  else f"0 ({adjoint_text}) vec({target_text}) vec({target_text})^T + 0 sum({whole}) ({adjoint_text})")
        adjoint, variables = _built(f"share-adjoint : {adjoint_text} + {linked} => {adjoint_text}", scalars, declared)
        target_expr, _ = _built(f"share-target : {target_text} => {target_text}", scalars, declared)
        shares.append(Share(adjoint, target_expr, tuple(variables.values())))
    if not shares:
        raise MatcalcError("no term of the right side ends in a target")
    return tuple(shares)


def _source(text: str, node) -> str:
    """The text of a syntax node, with the parentheses of a group it starts or ends inside."""
    part = text[node.start:node.end]
    unclosed = part.count("(") - part.count(")")
    return "(" * -unclosed + part + ")" * unclosed


def _built(line: str, scalars: set, declared: dict) -> tuple:
    """The right side of a rule line, built, and the line's pattern variables."""
    from .analyse import analyse_rule
    _, _, lhs_node, rhs_node, _ = parse_rule_line(line)
    _, rhs, variables = analyse_rule(line, lhs_node, rhs_node, scalars, declared)
    return rhs, variables


def _terms(node):
    if node.op == "add":
        for part in node.args:
            yield from _terms(part)
    else:
        yield node


def _names(node):
    if node.op == "name":
        yield node.value
    for a in node.args:
        for part in (a if isinstance(a, tuple) else (a,)):
            if hasattr(part, "op"):
                yield from _names(part)


_cache: dict = {}


def ruleset(stem: str) -> list:
    """The rules of rules/<stem>.rules, loaded once a process and cached between runs."""
    if stem not in _cache:
        path = next(p for p in list_files("rules", ".rules") if p.name == f"{stem}.rules")
        _cache[stem] = _cached_rules(path)
    return _cache[stem]


def _cached_rules(path) -> list:
    """Reading the rules with the grammar is most of a short run's time; keep the result,
    keyed by the file's text and the grammar's, so an edited file is read again."""
    from .version import __version__
    text = path.read_text(encoding="utf-8") + read_text("grammar", "matcalc.lark") + __version__
    key = hashlib.sha256(text.encode()).hexdigest()[:20]
    try:
        stored = cache_dir() / f"rules-{path.stem}-{key}.pickle"
        with open(stored, "rb") as handle:
            cached = pickle.load(handle)
        if isinstance(cached, list) and all(isinstance(rule, Rule) for rule in cached):
            return cached
    except Exception:   # noqa: BLE001 -- a damaged cache file (any unpickling error) is rebuilt
        pass
    rules = load_rules(path)
    try:
        partial = stored.with_suffix(f".{os.getpid()}.tmp")
        with open(partial, "wb") as handle:
            pickle.dump(rules, handle)
        os.replace(partial, stored)
    except (OSError, NameError):
        pass
    return rules


# ---------------------------------------------------------------- matching

class Context:
    """What guards may ask about: which subexpressions are constant, which symmetric
    (by default, those the constructors know: E.transpose(S) is S)."""

    def __init__(self, is_constant=lambda e: True, is_symmetric=None):
        self.is_constant = is_constant
        self.is_symmetric = is_symmetric or known_symmetric


def known_symmetric(e: E.Expr) -> bool:
    return e.shape[0] == e.shape[1] and E.transpose(e) is e


_GUARDS = {
    "symmetric": lambda e, ctx: ctx.is_symmetric(e),
    "square": lambda e, ctx: e.shape[0] == e.shape[1],
    # a square matrix that is not a scalar: in `A B` a scalar A scales B, and det(c M) is
    # c^n det(M), not c det(M)
    "matrix": lambda e, ctx: e.shape[0] == e.shape[1] and not e.is_scalar,
    "scalar": lambda e, ctx: e.is_scalar,
    "vector": lambda e, ctx: e.shape[1] == 1,
    "constant": lambda e, ctx: ctx.is_constant(e),
    "integer": lambda e, ctx: e.op == "num" and e.value.denominator == 1,
    "positive": lambda e, ctx: e.op == "num" and e.value > 0,
}


def guards_hold(rule: Rule, bindings: dict, ctx: Context) -> bool:
    return all(_GUARDS[g](bindings[v], ctx) for g, v in rule.guards)


def _factors(e: E.Expr) -> list:
    q, scalars, chain = E.mul_parts(e)
    return ([E.number(q)] if q != 1 else []) + list(scalars) + list(chain)


def _binds(p: E.Expr, s: E.Expr) -> bool:
    kind = p.kind
    if kind == "scalar":
        return s.is_scalar
    if kind == "vector":
        return s.shape[1] == 1 and not s.is_scalar
    return True


def match(p: E.Expr, s: E.Expr, b: dict):
    """Bindings that make pattern p equal s (extending b), or None."""
    if p.op == "sym":
        if p in b:
            return b if b[p] is s else None
        if not _binds(p, s):
            return None
        return {**b, p: s}
    if p.op == "mul":
        return _match_sequence(_factors(p), _factors(s) if s.op == "mul" else [s], b, E.mul)
    if p.op != s.op or p.value != s.value:
        return None
    if p.op in ("ones", "zero", "I") and any((pd == 1) != (sd == 1) for pd, sd in zip(p.shape, s.shape)):
        return None   # a constant matches only where its row or column vectors agree: 1^T is not 1 1^T
    operator = ops.of(p)
    if operator.associative:       # flattened operands: a + b + c, a ⊗ b ⊗ c
        match_operands = _match_commutative if operator.commutative else _match_sequence
        return match_operands(list(p.args), list(s.args), b, E.constructor(operator))
    if len(p.args) != len(s.args):
        return None
    return match_all(p.args, s.args, b)


def match_all(patterns, subjects, b: dict):
    """Bindings that match each pattern to the subject at its place, or None."""
    for pa, sa in zip(patterns, subjects):
        b = match(pa, sa, b)
        if b is None:
            return None
    return b


def _match_sequence(ps: list, ss: list, b: dict, combine):
    """Ordered operands; a last pattern variable takes the rest of the sequence."""
    if len(ss) < len(ps):
        return None
    if len(ss) > len(ps):
        if not ps or ps[-1].op != "sym":
            return None
        head = match_all(ps[:-1], ss[:len(ps) - 1], b)   # before building the rest: cheap first
        return None if head is None else match(ps[-1], combine(*ss[len(ps) - 1:]), head)
    return match_all(ps, ss, b)


def _match_commutative(ps: list, ss: list, b: dict, combine):
    """Unordered operands; a last pattern variable takes all that is left."""
    if len(ss) < len(ps):
        return None
    rest_var = ps[-1] if len(ss) > len(ps) and ps[-1].op == "sym" else None
    if len(ss) > len(ps) and rest_var is None:
        return None
    fixed = ps[:-1] if rest_var is not None else ps
    for chosen, trial in distinct_matches(fixed, ss, b):
        if rest_var is not None:
            rest = [ss[i] for i in range(len(ss)) if i not in chosen]
            trial = match(rest_var, combine(*rest), trial)
            if trial is None:
                continue
        return trial
    return None


def distinct_matches(patterns: list, subjects, b: dict):
    """(chosen subject indices, bindings) matching each pattern to a different subject, in
    the order of permutations(range(len(subjects)), len(patterns)); a pattern that fails
    cuts its branch at once, so a sum of a thousand terms costs a thousand matches, not a
    million."""
    def search(k, used, bindings):
        if k == len(patterns):
            yield used, bindings
            return
        for i, subject in enumerate(subjects):
            if i not in used:
                extended = match(patterns[k], subject, bindings)
                if extended is not None:
                    yield from search(k + 1, used + (i,), extended)
    return search(0, (), b)


def instantiate(template: E.Expr, b: dict, on_differential=None) -> E.Expr:
    """The template with its pattern variables bound; each d(Q) in it becomes on_differential(Q).
    Sized constants of the template (I, 1, 0, a dimension) take the sizes of the bound
    expressions: the `I` of `X^-1 X => I` is as large as X, not the rules file's n x n."""
    sizes = _bound_sizes(b)

    def replace(node, again):
        if node.op == "sym":
            return b[node]
        if node.op == "d" and on_differential is not None:
            return on_differential(again(node.args[0]))
        if not node.args and node.op != "num":
            return E.resized(node, lambda d: _bound_size(d, sizes))
        return None
    return E.transform(template, replace)


def _bound_sizes(b: dict) -> dict:
    """The rules file's symbolic dimensions, as the bound expressions size them."""
    sizes: dict = {}
    for pattern, bound in b.items():
        for own, actual in zip(pattern.shape, bound.shape):
            if isinstance(own, str):
                sizes.setdefault(own, actual)
    return sizes


def _bound_size(d, sizes: dict):
    if not isinstance(d, str):
        return d
    return reduce(E.dim_product, (sizes.get(part, part) for part in d.split("*")), 1)


# ---------------------------------------------------------------- rewriting

def _try_rule(rule: Rule, node: E.Expr, ctx: Context):
    """The rewritten node if the rule applies at node (or to a run of its operands)."""
    b = match(rule.lhs, node, {})
    if b is not None and guards_hold(rule, b, ctx):
        return instantiate(rule.rhs, b)
    if rule.lhs.op == "mul" and node.op == "mul":
        return _try_window(rule, node, ctx)
    if node.op == rule.lhs.op and ops.of(node).commutative and len(node.args) > len(rule.lhs.args):
        return _try_subset(rule, node, ctx)
    return None


def _try_window(rule: Rule, node: E.Expr, ctx: Context):
    q, scalars, chain = E.mul_parts(node)
    pattern = list(rule.lhs.args)
    width = len(pattern)
    for start in range(len(chain) - width + 1):
        b = match_all(pattern, chain[start:start + width], {})
        if b is not None and guards_hold(rule, b, ctx):
            replaced = instantiate(rule.rhs, b)
            return E.mul(E.number(q), *scalars, *chain[:start], replaced, *chain[start + width:])
    return None


def _try_subset(rule: Rule, node: E.Expr, ctx: Context):
    combine = E.constructor(ops.of(node))
    for chosen, b in distinct_matches(list(rule.lhs.args), node.args, {}):
        if guards_hold(rule, b, ctx):
            rest = [a for i, a in enumerate(node.args) if i not in chosen]
            return combine(instantiate(rule.rhs, b), *rest)
    return None


class Rewriter:
    """Bottom-up rewriting to a fixed point; records steps when asked."""

    def __init__(self, rules: list, ctx: Context | None = None, trace: list | None = None,
                 extra=None):
        self.rules = rules
        self.ctx = ctx or Context()
        self.trace = trace
        self.extra = extra          # a function node -> node applied after rules (factoring)
        self.memo: dict = {}
        self.steps = 0

    def __call__(self, e: E.Expr) -> E.Expr:
        return self.rewrite(e)

    def rewrite(self, e: E.Expr) -> E.Expr:
        if e in self.memo:
            return self.memo[e]
        order = postorder(e)
        for node in order:
            if node in self.memo:
                continue
            rebuilt = E.rebuild(node, tuple(self.memo[a] for a in node.args)) if node.args else node
            self.memo[node] = self._settle(rebuilt, node)
        return self.memo[e]

    def _settle(self, node: E.Expr, original: E.Expr) -> E.Expr:
        seen = {node}
        while self.steps < MAX_STEPS:
            spend()
            new = self._once(node)
            if new is None or new in seen:
                break
            seen.add(new)
            self.steps += 1
            if new.args and new is not node:
                new = self._children_settled(new)
            node = new
        return node

    def _children_settled(self, node: E.Expr) -> E.Expr:
        args = tuple(self.rewrite(a) for a in node.args)
        return E.rebuild(node, args) if args else node

    def _once(self, node: E.Expr):
        for rule in self.rules:
            new = _try_rule(rule, node, self.ctx)
            if new is not None and new is not node:
                if self.trace is not None:
                    self.trace.append(Step(rule, node, new))
                return new
        if self.extra is not None:
            new = self.extra(node)
            if new is not node:
                return new
        return None


def rules_for(stem: str, op_key) -> list:
    """The differential rules whose left side is d(<op_key>), in file order."""
    index = _index_cache.get(stem)
    if index is None:
        index = {}
        for rule in ruleset(stem):
            inner = rule.lhs.args[0]
            index.setdefault(key_of(inner), []).append(rule)
        _index_cache[stem] = index
    return index.get(op_key, [])


_index_cache: dict = {}


def key_of(e: E.Expr):
    return (e.op, e.value) if e.op in ("fn", "norm") else e.op

