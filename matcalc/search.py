"""Search: the shortest printed form of an expression, by a bounded best-first search.

Contract: `shortest(e, assumptions=(), trace=None, factorings=())` returns an expression
equal to `e` (where `e` is defined, and where the assumptions hold) whose printed text
(emit_text.to_text) is shorter than e's, or `e` itself when the search finds none.  It
starts from e with its intermediates' names (`let`s) written where their definitions
reappear (`with_names`).  A move applies one identity at one place:
  - a rule of rules/search.rules or rules/simplify.rules (a reversible one, `<=>`, in
    either direction), with its guards, at any subexpression, any window of a product's
    matrix chain (its scalar factors stay outside), any window of a trace's chain read
    cyclically (named trace-cyclic), or any choice of a sum's or Hadamard product's terms;
  - G + G^T written 2 G where G is symmetric (named symmetric-transpose);
  - a user's assumption (any object with `lhs`, `rhs`, `text`: concrete expressions,
    lhs replaced by rhs) at the subexpressions, product windows and sum terms that are
    its left side;
  - the caller's factorings (simplify passes factor_sum, a common factor pulled out of a
    sum), and a common Hadamard factor at its least power (a .* b .^ 2 - b .* a .^ 2 is
    a .* b .* (b - a)).
The cost is the printed tokens (the language's own lexer, matcalc.syntax; `cost`), then
the nodes that are not parts of e, then the number of nodes.  The search keeps the BEAM cheapest states and stops after
MAX_EXPANSIONS expansions, MAX_STATES states or PATIENCE expansions without a shorter
form, then takes up to POLISH_STEPS steps to a cheaper neighbour, so its answer depends on
its input alone; an expression of more than
MAX_SEARCH_SIZE nodes is returned as it is.  A wall-clock limit (TIME_LIMIT) guards
against a slow machine, returning the best form found so far.  Each move on the path
from `e` to the answer is appended to `trace` as a rules.Step(rule, before, after) of
the subexpression it rewrote, as the Rewriter records its steps.

Soundness: every rule is an identity proved by tests/test_rules.py; a move is kept only
where its result has the shape of what it replaces; and a sum inside a matrix product
(`A (B + C)`) never binds a pattern variable to a broadcast scalar (A (x + t) is not
A x + A t), the one place where the language's broadcast would change an identity.
"""
from __future__ import annotations

import heapq
import re
import time
from typing import NamedTuple

from . import expr as E
from . import ops
from .errors import MatcalcError
from .rules import (Context, Rule, Step, distinct_matches, guards_hold, instantiate, key_of, match, match_all,
                    ruleset)

BEAM = 8
MAX_EXPANSIONS = 40
MAX_STATES = 300
PATIENCE = 10                    # expansions without a shorter form before the search gives up
POLISH_STEPS = 4                 # then at most this many steps to the cheapest neighbour, while one is cheaper
TIME_LIMIT = 5.0                 # seconds; a safety net for a slow machine, far above the budget
MAX_CYCLIC_CHAIN = 8             # a trace of a longer chain is not rotated
MAX_SEARCH_SIZE = 400            # nodes; a larger expression is left as the rewriter made it

# operators through which a broadcast scalar keeps an identity's meaning (entry by entry)
_ELEMENTWISE_CONTEXTS = frozenset({"add", "had", "fn", "T", "epow"})


class Move(NamedTuple):
    rule: Rule
    unbroadcast: tuple    # the sums of its sides that must not take a broadcast scalar (_unbroadcast)


def moves() -> tuple:
    """The rules the search applies: search.rules both ways where reversible, then
    simplify.rules; loaded once a process."""
    global _MOVES
    if _MOVES is None:
        rules = []
        for rule in ruleset("search") + ruleset("simplify"):
            if rule.name == "trace-cyclic":
                continue          # canonical traces undo it: it names the cyclic windows instead
            rules.append(rule)
            if rule.reversible:
                rules.append(rule.reversed())
        _MOVES = tuple(Move(rule, _unbroadcast(rule.lhs) + _unbroadcast(rule.rhs)) for rule in rules)
    return _MOVES


_MOVES = None


def _named(name: str) -> Rule:
    return next(rule for rule in ruleset("search") if rule.name == name)


def _unbroadcast(pattern: E.Expr) -> tuple:
    """(the pattern variables among a sum's operands, the factors beside it in a product or
    None) for each sum of the pattern that a matrix operation takes."""
    found = []

    def visit(node, parent):
        if node.op == "add" and parent is not None and parent.op not in _ELEMENTWISE_CONTEXTS:
            beside = tuple(a for a in parent.args if a is not node) if parent.op == "mul" else None
            found.append((tuple(a for a in node.args if a.op == "sym"), beside))
        for a in node.args:
            visit(a, node)
    visit(pattern, None)
    return tuple(found)


def _broadcasts(move: Move, bindings: dict) -> bool:
    """Whether the bindings put a broadcast scalar into a sum that a matrix operation
    takes (a scalar factor beside the sum scales a broadcast as it does any term)."""
    for operands, beside in move.unbroadcast:
        if beside and all(bindings[f].is_scalar if f.op == "sym" else f.is_scalar for f in beside):
            continue
        shapes = {bindings[v].shape for v in operands if v in bindings}
        if len(shapes) > 1:
            return True
    return False


# ---------------------------------------------------------------- cost

_TOKENS = None


def tokens(text: str) -> int:
    """Lexical tokens of text, as the language's lexer splits it (`^T`, `^-1`, `.*` and
    `||` one each): the parser's own terminals, in the order its lexer tries them."""
    global _TOKENS
    if _TOKENS is None:
        from .syntax import parser
        lark = parser()
        terminals = sorted(lark.terminals, key=lambda t: (-t.priority, -t.pattern.max_width,
                                                          -len(t.pattern.value), t.name))
        ignored = set(lark.lexer_conf.ignore)
        pattern = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
        _TOKENS = (re.compile(pattern), ignored)
    compiled, ignored = _TOKENS
    return sum(1 for m in compiled.finditer(text) if m.lastgroup not in ignored)


def cost(e: E.Expr, memo: dict, familiar=frozenset()) -> tuple:
    """(printed tokens, with a pair of parentheses counted once and a leading minus not
    counted; nodes not among `familiar`, the parts of the search's input; nodes).
    `(A + A^T) x` is no longer than `A x + A^T x`, so the search keeps the factoring a
    book prints; `-2 Phi^T (y - Phi theta)` is no longer than `2 Phi^T (Phi theta - y)`,
    and where two forms tie the one nearer the input wins (the difference the user typed
    keeps its orientation), then the one of fewer nodes (S^-1 beside S^-T: as long in
    the postfix spelling, not in the call spelling inv(S))."""
    found = memo.get(e)
    if found is None:
        from .emit_text import to_text
        text = to_text(e)
        printed = tokens(text) - text.count(")") - text.startswith("-")
        found = memo[e] = (printed, sum(1 for n in E.postorder(e) if n not in familiar), e.size)
    return found


# ---------------------------------------------------------------- symmetry

MAX_EXPANDED_TERMS = 32


def symmetric_by_structure(e: E.Expr, memo: dict) -> bool:
    """Symmetric by its structure (`_reads_symmetric`), or because its expansion (products
    distributed over sums) is the expansion of its transpose, term for term: the
    symmetrised gradient's G = (I - S^-1 r r^T) S^-1 is S^-1 - S^-1 r r^T S^-1."""
    found = memo.get(e)
    if found is None:
        found = memo[e] = e.shape[0] == e.shape[1] and (
            _reads_symmetric(e, memo) or _expansion_symmetric(e, memo))
    return found


def _reads_symmetric(e: E.Expr, memo: dict) -> bool:
    """Symmetric as written, beyond what the constructors know (a declared symmetric S, I,
    diag(v)): S^-1 and S^k of a symmetric S, sums, Hadamard and Kronecker products and
    elementwise functions of symmetric ones, and products that read the same reversed and
    transposed (x x^T, A S A^T, S^-1 r r^T S^-1)."""
    key = ("reads", e)
    found = memo.get(key)
    if found is not None:
        return found
    memo[key] = False
    if e.shape[0] != e.shape[1]:
        found = False
    elif E.transpose(e) is e:
        found = True
    elif e.op in ("inv", "mpow", "T", "let", "fn"):
        found = _reads_symmetric(e.args[0], memo)
    elif e.op in ("add", "had", "kron"):
        found = all(_reads_symmetric(a, memo) for a in e.args)
    elif e.op == "mul":
        _, scalars, chain = E.mul_parts(e)
        n = len(chain)
        found = n > 0 and all(
            chain[i] is E.transpose(chain[n - 1 - i])
            or (chain[i] is chain[n - 1 - i] and _reads_symmetric(chain[i], memo))
            or (_reads_symmetric(chain[i], memo) and _reads_symmetric(chain[n - 1 - i], memo)
                and _unsymmetric(chain[i], memo) is _unsymmetric(chain[n - 1 - i], memo))
            for i in range((n + 1) // 2))
    else:
        found = False
    memo[key] = found
    return found


def _unsymmetric(e: E.Expr, memo: dict) -> E.Expr:
    """e without a transpose on a factor that reads symmetric (inv(S)^T is inv(S))."""
    if e.op == "T" and _reads_symmetric(e.args[0], memo):
        return e.args[0]
    return e


def _expansion_symmetric(e: E.Expr, memo: dict) -> bool:
    terms = _expanded_terms(e, memo)
    flipped = _expanded_terms(E.transpose(e), memo)
    return terms is not None and flipped is not None and sorted(map(id, terms)) == sorted(map(id, flipped))


def _expanded_terms(e: E.Expr, memo: dict):
    """The terms of e with products distributed over sums (a sum with a broadcast scalar
    stays one factor) and transposes of symmetric-reading factors dropped; None beyond
    MAX_EXPANDED_TERMS terms."""
    key = ("expanded", e)
    if key in memo:
        return memo[key]
    memo[key] = None
    if e.op == "add" and all(t.shape == e.shape for t in e.args):
        found = []
        for t in e.args:
            part = _expanded_terms(t, memo)
            if part is None or len(found) + len(part) > MAX_EXPANDED_TERMS:
                return None
            found.extend(part)
    elif e.op == "T" and e.args[0].op == "add":
        found = _expanded_terms(E.add(*(E.transpose(t) for t in e.args[0].args)), memo)
        if found is None:
            return None
    elif e.op == "mul":
        q, scalars, chain = E.mul_parts(e)
        products = [(E.number(q),)]
        for factor in (*scalars, *chain):
            options = _expanded_terms(factor, memo)
            if options is None or len(products) * len(options) > MAX_EXPANDED_TERMS:
                return None
            products = [(*p, o) for p in products for o in options]
        found = []
        for p in products:
            try:
                found.append(E.mul(*p))
            except MatcalcError:
                return None
    else:
        found = [_unsymmetric(e, memo)]
    found = _collected(found)
    memo[key] = found
    return found


def _collected(terms: list) -> list:
    """Like terms combined, as a sum would: the terms of their canonical sum."""
    if len(terms) < 2:
        return terms
    total = E.add(*terms)
    return list(total.args) if total.op == "add" else ([] if E.is_zero(total) else [total])


# ---------------------------------------------------------------- places

def _rule_rewrites(move: Move, node: E.Expr, ctx: Context):
    """(steps, replacement of node) for each place at node where the move's rule applies."""
    rule = move.rule
    for bindings, rebuild in _places(rule.lhs, node):
        if not guards_hold(rule, bindings, ctx) or _broadcasts(move, bindings):
            continue
        try:
            replaced = instantiate(rule.rhs, bindings)
            new = rebuild(replaced)
        except MatcalcError:      # an instance the shapes refuse (A C of kron(A C, B D))
            continue
        yield (Step(rule, node, new),), new


def _places(lhs: E.Expr, node: E.Expr):
    """(bindings, rebuild) for node itself, each window of its product chain, and each
    choice of its sum's or Hadamard product's terms where lhs matches."""
    b = match(lhs, node, {})
    if b is not None:
        yield b, _same
    if lhs.op == "mul" and node.op == "mul":
        q, scalars, chain = E.mul_parts(node)
        lhs_q, lhs_scalars, lhs_chain = E.mul_parts(lhs)
        width = len(lhs_chain)
        if lhs_q == 1 and not lhs_scalars and width < len(chain) + (1 if scalars or q != 1 else 0):
            for start in range(len(chain) - width + 1):
                b = match_all(lhs_chain, chain[start:start + width], {})
                if b is not None:
                    yield b, _window(q, scalars, chain, start, width)
        elif lhs_q == 1 and lhs_scalars and width and (width < len(chain) or q != 1):
            for start in range(len(chain) - width + 1):     # the window with every scalar factor
                b = match(lhs, E.mul(*scalars, *chain[start:start + width]), {})
                if b is not None:
                    yield b, _window(q, (), chain, start, width)
    if node.op == lhs.op and lhs.op in ("add", "had") and len(node.args) > len(lhs.args):
        combine = E.constructor(ops.of(node))
        for chosen, b in distinct_matches(list(lhs.args), node.args, {}):
            rest = [a for i, a in enumerate(node.args) if i not in chosen]
            yield b, (lambda new, rest=rest: combine(new, *rest))


def _same(new):
    return new


def _window(q, scalars, chain, start, width):
    return lambda new: E.mul(E.number(q), *scalars, *chain[:start], new, *chain[start + width:])


def _cyclic_rewrites(moves_, node: E.Expr, ctx: Context):
    """tr(A B C) read as tr(C A B), tr(B C A): a window that wraps around the chain."""
    if node.op != "tr" or node.args[0].op != "mul":
        return
    q, scalars, chain = E.mul_parts(node.args[0])
    if not 2 < len(chain) <= MAX_CYCLIC_CHAIN:
        return
    for turn in range(1, len(chain)):
        rotated = E.mul(*chain[turn:], *chain[:turn])
        if rotated.op != "mul":
            continue
        for move in moves_:
            for steps, new in _rule_rewrites(move, rotated, ctx):
                whole = E.mul(E.number(q), *scalars, E.trace(new))
                yield (Step(_named("trace-cyclic"), node, E.trace(rotated)),) + steps, whole


def _symmetrised_rewrites(node: E.Expr, ctx: Context, memo: dict):
    """G + G^T as 2 G where G is symmetric (its expansion is its transpose's): the
    symmetrised gradient of a symmetric variable, (G + G^T)/2, is G."""
    if node.op != "add":
        return
    rule = _named("symmetric-transpose")
    normal = [_without_symmetric_transposes(a, memo) for a in node.args]
    for i, term in enumerate(node.args):
        mirror = _without_symmetric_transposes(E.transpose(term), memo)
        for j in range(i + 1, len(node.args)):
            if normal[j] is mirror and mirror is not normal[i] and ctx.is_symmetric(_unscaled(term)):
                rest = [a for k, a in enumerate(node.args) if k not in (i, j)]
                yield (Step(rule, node.args[j], term),), E.add(E.mul(E.number(2), term), *rest)


def _without_symmetric_transposes(term: E.Expr, memo: dict) -> E.Expr:
    """The term with inv(S)^T read as inv(S) in its chain (for a symmetric-reading factor)."""
    q, scalars, chain = E.mul_parts(term)
    return E.mul(E.number(q), *scalars, *(_unsymmetric(f, memo) for f in chain))


def _unscaled(term: E.Expr) -> E.Expr:
    q, scalars, chain = E.mul_parts(term)
    return E.mul(*chain) if chain else term


def _assumption_rewrites(assumption, node: E.Expr):
    lhs, rhs = assumption.lhs, assumption.rhs
    rule = Rule(f"assumption {assumption.text}", lhs, rhs, (), "assumptions", 0, assumption.text)
    if node is lhs:
        yield (Step(rule, node, rhs),), rhs
        return
    if lhs.op == "mul" and node.op == "mul":
        lq, ls, lchain = E.mul_parts(lhs)
        q, scalars, chain = E.mul_parts(node)
        width = len(lchain)
        if lq == 1 and not ls and width:
            for start in range(len(chain) - width + 1):
                if all(a is b for a, b in zip(chain[start:start + width], lchain)):
                    new = _window(q, scalars, chain, start, width)(rhs)
                    yield (Step(rule, node, new),), new
    if lhs.op == node.op and lhs.op in ("add", "had") and len(node.args) > len(lhs.args):
        if all(term in node.args for term in lhs.args):
            rest = [a for a in node.args if a not in lhs.args]
            new = E.constructor(ops.of(node))(rhs, *rest)
            yield (Step(rule, node, new),), new


def factor_hadamard(node: E.Expr):
    """A sum of Hadamard products with its shared factors pulled out, each to the least
    power it has in the terms; None where the terms share none."""
    if node.op != "add" or any(t.shape != node.shape for t in node.args):
        return None
    terms = []
    for term in node.args:
        q, scalars, chain = E.mul_parts(term)
        if scalars or len(chain) != 1:
            return None            # a scalar factor or a matrix product: factor_sum's case
        core = chain[0]
        powers: dict = {}
        for factor in (core.args if core.op == "had" else (core,)):
            base, k = _base_and_power(factor)
            powers[base] = powers.get(base, 0) + k
        terms.append((q, powers))
    shared = {}
    for base, k in terms[0][1].items():
        least = min(powers.get(base, 0) for _, powers in terms)
        if least > 0 and k > 0:
            shared[base] = least
    if not shared:
        return None
    remainders = []
    for q, powers in terms:
        rest = [_hadamard_power(base, k - shared.get(base, 0)) for base, k in powers.items()
                if k != shared.get(base, 0)]
        remainders.append(E.mul(E.number(q), E.hadamard(*rest) if rest else E.ones(*node.shape)))
    return E.hadamard(*(_hadamard_power(base, k) for base, k in shared.items()), E.add(*remainders))


def _base_and_power(factor: E.Expr) -> tuple:
    if factor.op == "epow" and factor.args[1].op == "num" and factor.args[1].value.denominator == 1:
        return factor.args[0], int(factor.args[1].value)
    return factor, 1


def _hadamard_power(base: E.Expr, k: int) -> E.Expr:
    return base if k == 1 else E.elementwise_power(base, E.number(k))


# ---------------------------------------------------------------- the search

class _Search:
    def __init__(self, assumptions: tuple, factorings: tuple):
        self.factorings = factorings + (factor_hadamard,)
        self.moves_by_key = _moves_by_key()
        self.assumptions = assumptions
        # the rewrites at a node and its symmetry are pure: kept across the searches with
        # the same moves (the pipeline's searches of one result share most of their nodes)
        kept = _kept.setdefault((tuple((a.lhs, a.rhs, a.text) for a in assumptions), factorings), {})
        if len(kept.get("rewrites", ())) > MAX_KEPT_NODES:
            kept.clear()
        self.at_node: dict = kept.setdefault("rewrites", {})
        self.symmetry: dict = kept.setdefault("symmetry", {})
        self.ctx = Context(is_symmetric=lambda e: symmetric_by_structure(e, self.symmetry))
        self.costs: dict = {}

    def rewrites_at(self, node: E.Expr) -> list:
        """Every (steps, replacement) of one move at node; a pure function of node, kept."""
        found = self.at_node.get(node)
        if found is not None:
            return found
        found = []
        for move in self.moves_by_key.get(key_of(node), ()):
            found.extend(_rule_rewrites(move, node, self.ctx))
        if node.op == "tr":
            found.extend(_cyclic_rewrites(self.moves_by_key.get("mul", ()), node, self.ctx))
        if node.op == "add":
            found.extend(_symmetrised_rewrites(node, self.ctx, self.symmetry))
        for assumption in self.assumptions:
            found.extend(_assumption_rewrites(assumption, node))
        for factoring in self.factorings:
            try:
                factored = factoring(node)
            except MatcalcError:
                continue
            if factored is not None and factored is not node:
                found.append(((), factored))
        found = [(steps, new) for steps, new in found if new is not node and new.shape == node.shape]
        self.at_node[node] = found
        return found

    def neighbours(self, state: E.Expr):
        for node in E.postorder(state):
            for steps, new in self.rewrites_at(node):
                try:
                    yield steps, E.substitute(state, {node: new})
                except MatcalcError:      # the replacement does not fit its place
                    continue

    def run(self, e: E.Expr) -> tuple:
        """(the cheapest state found, the steps from e to it)."""
        deadline = time.perf_counter() + TIME_LIMIT
        improved_at = 0
        self.familiar = frozenset(E.postorder(e))
        best, best_cost = e, cost(e, self.costs, self.familiar)
        came_from = {e: None}
        frontier = [(best_cost, 0, e)]
        order = 1
        expansions = 0
        while (frontier and expansions < MAX_EXPANSIONS and len(came_from) < MAX_STATES
               and expansions - improved_at < PATIENCE):
            if time.perf_counter() > deadline:
                break
            _, _, state = heapq.heappop(frontier)
            expansions += 1
            for steps, candidate in self.neighbours(state):
                if candidate in came_from:
                    continue
                came_from[candidate] = (state, steps)
                c = cost(candidate, self.costs, self.familiar)
                if c < best_cost:
                    best, best_cost = candidate, c
                    improved_at = expansions
                heapq.heappush(frontier, (c, order, candidate))
                order += 1
                if len(came_from) >= MAX_STATES:
                    break
            frontier = heapq.nsmallest(BEAM, frontier)
        for _ in range(POLISH_STEPS):    # the budget may stop just short of the best's own neighbours
            if time.perf_counter() > deadline:
                break
            start = best
            for steps, candidate in self.neighbours(start):
                c = cost(candidate, self.costs, self.familiar)
                if c < best_cost:
                    came_from.setdefault(candidate, (start, steps))
                    best, best_cost = candidate, c
            if best is start:
                break
        path = []
        state = best
        while came_from[state] is not None:
            state, steps = came_from[state]
            path.extend(reversed(steps))
        return best, path[::-1]


def shortest(e: E.Expr, assumptions=(), trace: list | None = None, factorings: tuple = ()) -> E.Expr:
    """`factorings`: functions node -> node (or None) that rewrite a node in one step, moves
    beside the rules (simplify.factor_sum), unnamed in the trace."""
    e = with_names(e)
    if e.size > MAX_SEARCH_SIZE:
        return e
    key = (e, tuple((a.lhs, a.rhs, a.text) for a in assumptions), factorings)
    found = _results.get(key)
    if found is None:
        found = _Search(tuple(assumptions), tuple(factorings)).run(e)
        if len(_results) >= MAX_KEPT_RESULTS:
            _results.clear()
        _results[key] = found
    best, path = found
    if trace is not None:
        trace.extend(path)
    return best


def with_names(e: E.Expr) -> E.Expr:
    """e with each intermediate's name (a `let` in it) written where its definition
    reappears: one spelling of a thing, so that sigmoid(z) ./ p cancels where p = sigmoid(z)."""
    lets = {n.args[0]: n for n in E.postorder(e) if n.op == "let"}
    if not lets:
        return e

    def replace(node, again):
        if node.op == "let":
            return node                  # a definition keeps its own body
        return lets.get(node)
    return E.transform(e, replace)


def _moves_by_key() -> dict:
    """The moves by the operator of their left side: a rule matches only nodes of it."""
    global _BY_KEY
    if _BY_KEY is None:
        _BY_KEY = {}
        for move in moves():
            _BY_KEY.setdefault(key_of(move.rule.lhs), []).append(move)
    return _BY_KEY


_BY_KEY = None
MAX_KEPT_NODES = 20_000
_kept: dict = {}

# a search is a pure function of its input: results kept for the pipeline's repeated calls
MAX_KEPT_RESULTS = 2_048
_results: dict = {}
