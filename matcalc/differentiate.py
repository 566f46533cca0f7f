"""Differentiate: f -> df in terms of dX (rules/differentials.rules), then identification.

Contract: `differential(f, X)` returns df, an Expr linear in the differential dX.
`identify(df, X)` reads the derivative off it in the engine's one convention:
  f scalar, X any      -> G with the shape of X and df = tr(G^T dX)   (the gradient)
  f vector, X vector   -> J (len f x len X) with vec df = J dX         (the Jacobian)
  f any,    X scalar   -> F' with the shape of f and df = F' dX
`identify_vec(df, X)` gives J with vec df = J vec dX for any shapes (Magnus and
Neudecker's form of a tensor-valued derivative; the Jacobian for vectors).
Layouts are applied later, when the result is presented (api.py).

Identification is reverse accumulation over df: each node containing dX
receives an adjoint A saying how it enters df -- as tr(A N) when f is a
scalar, as A vec(N) when f is a vector -- and passes it to its operands by
the identities cited at each case (tr(AB) = tr(BA), tr(A (u .* N)) =
tr((A .* u^T) N), u .* v = diag(u) v, ...).  A shared subexpression is
visited once, so the work stays linear in the size of df.
"""
from __future__ import annotations

import heapq

from . import expr as E
from .budget import spend
from .errors import LimitError, NotDifferentiableError
from .rules import Context, Rule, Step, fired, guards_hold, instantiate, key_of, match, rules_for

# d(X^k) = sum of X^j dX X^(k-1-j): k terms, each as long as the power (the trace of a power
# has its own one-term rule, MC (121)).
MAX_EXPANDED_POWER = 100
# The derivative of an entry x[i] is a unit vector written out entry by entry (a literal).
MAX_UNIT_ENTRIES = 10_000


class Differentiator:
    """d(.) by the rules, with respect to one variable, memoised across a DAG."""

    def __init__(self, variable: E.Expr, trace: list | None = None):
        self.variable = variable
        self.name = variable.value[0]
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
        if isinstance(reason, Rule):
            fired[reason.file, reason.name] += 1
            if self.trace is not None:
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
                                 f"with respect to {variable.value[0]}")


def _describe(e: E.Expr) -> str:
    text = str(e)
    return text if len(text) <= 60 else text[:57] + "..."


def differential(f: E.Expr, variable: E.Expr, trace: list | None = None) -> E.Expr:
    return Differentiator(variable, trace)(f)


# ---------------------------------------------------------------- identification

def identify(df: E.Expr, variable: E.Expr) -> E.Expr:
    dvar = E.differential(variable)
    if E.is_zero(df):
        rows = df.shape[0] if df.shape[1] == 1 else df.shape[1]
        if variable.is_scalar:
            return df
        return E.zeros(variable.shape if df.is_scalar else (rows, variable.shape[0]))
    if variable.is_scalar:
        return E.substitute(df, {dvar: E.ONE})
    if df.is_scalar:
        adjoint = _accumulate(df, E.ONE, dvar, _push_trace_form)
        return E.transpose(adjoint) if adjoint is not None else E.zeros(variable.shape)
    if variable.shape[1] == 1 and (df.shape[1] == 1 or df.shape[0] == 1):
        return identify_vec(df, variable)
    raise NotDifferentiableError(
        f"the derivative of a {_kind(df)} by a {_kind(variable)} has more than two axes: "
        f"it is identified in its vec form")


def identify_vec(df: E.Expr, variable: E.Expr) -> E.Expr:
    """J with vec df = J vec(dX): d vec F / d (vec X)^T, the Magnus-Neudecker form of a
    derivative of any shape by a variable of any shape (for vectors, the Jacobian)."""
    dvar = E.differential(variable)
    length = _vec_length(df)
    if E.is_zero(df):
        return E.zeros((length, _vec_length(variable)))
    root = E.vec(df) if df.op != "vec" else df
    adjoint = _accumulate(root, E.identity(length), dvar, _push_vector_form)
    return adjoint if adjoint is not None else E.zeros((length, _vec_length(variable)))


def _vec_length(e: E.Expr):
    return E.dim_product(e.shape[0], e.shape[1])


def _kind(e: E.Expr) -> str:
    if e.is_scalar:
        return "scalar"
    return "vector" if e.shape[0] == 1 or e.shape[1] == 1 else "matrix"


def _accumulate(root: E.Expr, seed: E.Expr, dvar: E.Expr, push) -> E.Expr | None:
    """Reverse accumulation, largest node first.

    A node is larger than each of its operands, and every node a push creates (a
    term distributed out of a product, a transpose moved inside) is smaller than
    the node that creates it; so taking nodes by decreasing size visits each one
    after all that contribute to it, whether it was in df or made on the way."""
    memo: dict = {}
    adjoints: dict = {root: [seed]}
    queue = [(-root.size, 0, root)]
    tiebreak = 0
    found = []
    while queue:
        spend()
        _, _, node = heapq.heappop(queue)
        parts = adjoints.pop(node, None)
        if not parts:
            continue
        adjoint = E.add(*parts)
        if node is dvar:
            found.append(adjoint)
            continue
        for operand, contribution in push(node, adjoint, lambda n: E.contains(n, dvar, memo), dvar):
            if operand not in adjoints:
                tiebreak += 1
                heapq.heappush(queue, (-operand.size, tiebreak, operand))
            adjoints.setdefault(operand, []).append(contribution)
    return E.add(*found) if found else None


def _unsupported(node: E.Expr, why: str):
    return NotDifferentiableError(f"cannot identify the derivative through {_describe(node)}: {why}")


def _push_trace_form(node: E.Expr, A: E.Expr, involves, dvar: E.Expr):
    """df = tr(A node) + ...; yield (operand, A') with df = tr(A' operand) + ..."""
    op = node.op
    if op == "add":
        for term in node.args:
            if involves(term):
                # a scalar broadcast over the sum: tr(A (t 1 1^T)) = t sum(A)
                yield term, (E.total(A) if term.is_scalar and not node.is_scalar else A)
        return
    if op == "mul":
        q, scalars, chain = E.mul_parts(node)
        coefficient = E.number(q)
        for i, factor in enumerate(chain):
            if involves(factor):
                # tr(A P F S) = tr(S A P F)
                yield factor, E.mul(coefficient, *scalars, *chain[i + 1:], A, *chain[:i])
        for j, factor in enumerate(scalars):
            if involves(factor):
                rest = E.mul(coefficient, *scalars[:j], *scalars[j + 1:], *chain)
                # tr(A (s R)) = s tr(A R)
                yield factor, E.trace(E.mul(A, rest))
        return
    if op == "T":
        yield node.args[0], E.transpose(A)          # tr(A N^T) = tr(A^T N)
        return
    if op == "had":
        for i, factor in enumerate(node.args):
            if involves(factor):
                others = E.hadamard(*node.args[:i], *node.args[i + 1:])
                # tr(A (u .* N)) = tr((A .* u^T) N)
                yield factor, E.hadamard(A, E.transpose(others))
        return
    if op == "tr":
        inner = node.args[0]
        yield inner, E.mul(A, E.identity(inner.shape[0]))
        return
    if op == "sum":
        inner = node.args[0]
        yield inner, E.mul(A, E.ones(inner.shape[1], inner.shape[0]))   # sum(N) = tr(1 1^T N)
        return
    if op == "diagv":
        yield node.args[0], E.diag(E.transpose(A))   # tr(A diag(N)) = tr(diag(A^T) N)
        return
    if op == "diagm":
        yield node.args[0], E.transpose(E.diag(A))   # tr(A diag(v)) = diag(A)^T v
        return
    if op == "kron":
        yield from _push_kron(node, A, involves, trace_form=True)
        return
    if op == "entry":
        yield node.args[0], _unit_adjoint(node, A)
        return
    if op == "lit":
        rows, cols = node.shape
        for k, entry in enumerate(node.args):
            if involves(entry):
                # tr(A L) picks A[j, i] for the entry L[i, j]
                yield entry, E.entry(A, k % cols + 1, k // cols + 1) if A.shape != (1, 1) else A
        return
    raise _unsupported(node, "no identification rule for this form")


def _unit_adjoint(node: E.Expr, A: E.Expr) -> E.Expr:
    """F[i, j] = tr(e_j e_i^T F): the adjoint of F is A at place (j, i) of a zero matrix."""
    operand = node.args[0]
    rows, cols = operand.shape
    if not (isinstance(rows, int) and isinstance(cols, int)):
        raise _unsupported(node, f"an entry of a matrix of symbolic size {rows} x {cols}; "
                                 f"declare its size (e.g. x: vector[2]) to differentiate by its entries")
    _bound_unit_size(rows * cols)
    i, j = node.value
    return E.literal([[A if (r, c) == (j - 1, i - 1) else E.ZERO for c in range(rows)] for r in range(cols)])


def _bound_unit_size(entries: int) -> None:
    if entries > MAX_UNIT_ENTRIES:
        raise LimitError(f"differentiating through an entry writes a unit matrix of all {entries} entries; "
                         f"matcalc writes them for at most {MAX_UNIT_ENTRIES} entries")


def _push_kron(node: E.Expr, A: E.Expr, involves, trace_form: bool):
    """a ⊗ b ⊗ c = (a ⊗ I ⊗ c) b for column vectors (mixed-product rule, MN 2.11);
    a product of rows is the transpose of the product of the columns."""
    if all(f.shape[0] == 1 for f in node.args):
        columns = E.kron(*(E.transpose(f) for f in node.args))
        yield columns, (E.transpose(A) if trace_form else A)
        return
    if not all(f.shape[1] == 1 for f in node.args):
        if trace_form:
            raise _unsupported(node, "a Kronecker product of matrices that depend on the variable")
        yield from _push_kron_matrices(node, A, involves)
        return
    for i, factor in enumerate(node.args):
        if involves(factor):
            lifted = E.kron(*node.args[:i], E.identity(factor.shape[0]), *node.args[i + 1:])
            yield factor, E.mul(A, lifted)


def _push_kron_matrices(node: E.Expr, A: E.Expr, involves):
    """vec(L ⊗ R) = (I_n ⊗ K_{q,m} ⊗ I_p)(vec L ⊗ vec R) for L m x n, R p x q (MN 3.10),
    and vec L ⊗ vec R = (I ⊗ vec R) vec L = (vec L ⊗ I) vec R."""
    left, right = node.args[0], E.kron(*node.args[1:])
    (m, n), (p, q) = left.shape, right.shape
    rearranged = E.mul(A, E.kron(E.identity(n), E.commutation(q, m), E.identity(p)))
    if involves(left):
        yield left, E.mul(rearranged, E.kron(E.identity(_vec_length(left)), E.vec(right)))
    if involves(right):
        yield right, E.mul(rearranged, E.kron(E.vec(left), E.identity(_vec_length(right))))


def _push_vector_form(node: E.Expr, A: E.Expr, involves, dvar: E.Expr):
    """vec df = A vec(node) + ...; yield (operand, A') with vec df = A' vec(operand) + ..."""
    op = node.op
    if op == "add":
        for term in node.args:
            if involves(term):
                broadcast = term.is_scalar and not node.is_scalar
                yield term, (E.mul(A, E.ones(_length(node), 1)) if broadcast else A)
        return
    if op == "T":
        inner = node.args[0]
        yield inner, E.mul(A, E.commutation(*inner.shape))   # vec(N^T) = K vec(N); K = I for vectors
        return
    if op == "vec":
        yield node.args[0], A
        return
    if op == "mul":
        yield from _push_vector_product(node, A, involves)
        return
    if op == "had":
        for i, factor in enumerate(node.args):
            if involves(factor):
                others = E.hadamard(*node.args[:i], *node.args[i + 1:])
                yield factor, E.mul(A, E.diag(E.vec(others)))   # vec(U .* N) = diag(vec U) vec(N)
        return
    if op == "kron":
        yield from _push_kron(node, A, involves, trace_form=False)
        return
    if op == "diagv":
        yield from _push_diagonal(node.args[0], A, involves)
        return
    if op == "diagm":
        # vec(diag(v)) = diag(vec I) (1 ⊗ I) v: n copies of v, each masked to its diagonal place
        n = node.shape[0]
        yield node.args[0], E.mul(A, E.diag(E.vec(E.identity(n))), E.kron(E.ones(n, 1), E.identity(n)))
        return
    if op == "lit":
        rows, cols = node.shape
        _bound_unit_size(rows * cols)
        for k, entry in enumerate(node.args):
            if involves(entry):   # vec(L) = sum e_p L[i, j], p = j rows + i (columns stacked)
                place = (k % cols) * rows + k // cols
                unit = E.literal([[E.ONE if r == place else E.ZERO] for r in range(rows * cols)])
                yield entry, E.mul(A, unit)
        return
    if node.is_scalar:
        # any other scalar is tr(R dX) + ... by the scalar identification: = vec(R^T)^T vec(dX)
        row = _accumulate(node, E.ONE, dvar, _push_trace_form)
        if row is not None:
            yield dvar, E.mul(A, E.transpose(E.vec(E.transpose(row))))
        return
    raise _unsupported(node, "no vec identification rule for this form")


def _push_diagonal(matrix: E.Expr, A: E.Expr, involves):
    """diag(M) for M containing dX: diag is linear, and diag(a b^T) = a .* b."""
    if matrix.op == "add":
        for term in matrix.args:
            if involves(term):
                yield E.diag(term if term.shape == matrix.shape else E.mul(term, E.ones(*matrix.shape))), A
        return
    q, scalars, chain = E.mul_parts(matrix)
    if matrix.op == "mul" and len(chain) == 2 and chain[0].is_column and chain[1].is_row:
        yield E.mul(E.number(q), *scalars, E.hadamard(chain[0], E.transpose(chain[1]))), A
        return
    if matrix.op == "had":
        yield E.hadamard(*(E.diag(f) for f in matrix.args)), A
        return
    # diag(M) = (1^T ⊗ I) diag(vec I) vec(M): mask the diagonal, then add the columns
    n = matrix.shape[0]
    yield matrix, E.mul(A, E.kron(E.ones(1, n), E.identity(n)), E.diag(E.vec(E.identity(n))))


def _length(vector: E.Expr):
    return vector.shape[0] if vector.shape[1] == 1 else vector.shape[1]


def _push_vector_product(node: E.Expr, A: E.Expr, involves):
    q, scalars, chain = E.mul_parts(node)
    c = [E.number(q), *scalars]
    for j, factor in enumerate(scalars):
        if involves(factor):
            rest = E.mul(E.number(q), *scalars[:j], *scalars[j + 1:], *chain)
            yield factor, E.mul(A, E.vec(rest))      # vec(s R) = vec(R) s
    for i, factor in enumerate(chain):
        if not involves(factor):
            continue
        before = E.mul(*chain[:i]) if i else None
        after = E.mul(*chain[i + 1:]) if i + 1 < len(chain) else None
        P = [before] if before is not None else []
        S = [after] if after is not None else []
        if not (node.is_column or node.is_row or node.is_scalar):
            yield factor, E.mul(*c, A, _kronecker_lift(factor, before, after))
        elif factor.is_column:
            if node.is_row:       # (P F) S with P F scalar: vec = S^T P F
                yield factor, E.mul(*c, A, *[E.transpose(s) for s in S], *P)
            else:                 # P F s with s scalar
                yield factor, E.mul(*c, *S, A, *P)
        elif factor.is_row:
            if node.is_row:       # p F S with p scalar: vec = S^T vec(F)
                yield factor, E.mul(*c, *P, A, *[E.transpose(s) for s in S])
            else:                 # P (F S) = P S^T vec(F)
                yield factor, E.mul(*c, A, *P, *[E.transpose(s) for s in S])
        elif factor.op == "diagm" and node.is_column and after is not None:
            yield factor.args[0], E.mul(*c, A, *P, E.diag(after))     # diag(v) s = diag(s) v
        elif factor.op == "diagm" and node.is_row and before is not None:
            yield factor.args[0], E.mul(*c, A, *[E.transpose(s) for s in S], E.diag(E.transpose(before)))
        elif factor.op == "diagm" and node.is_scalar and before is not None and after is not None:
            yield factor.args[0], E.mul(*c, A, before, E.diag(after))
        else:
            spreads = [E.mul(*c, *P, part, *S) for part in _spread_matrix(factor, involves) or ()
                       if involves(part)]
            if not spreads or node in spreads:
                yield factor, E.mul(*c, A, _kronecker_lift(factor, before, after))
            for spread in spreads:
                yield spread, A


def _kronecker_lift(factor: E.Expr, before: E.Expr | None, after: E.Expr | None) -> E.Expr:
    """vec(P F S) = (S^T ⊗ P) vec(F), a missing P or S being the identity (MN 2.13)."""
    left = before if before is not None else E.identity(factor.shape[0])
    right = E.transpose(after) if after is not None else E.identity(factor.shape[1])
    return E.kron(right, left)


def _spread_matrix(factor: E.Expr, involves) -> list | None:
    """Terms that add up to a matrix-valued factor containing dX, rewritten so that the
    product around it can be taken apart: sums opened (the product distributes over
    them), transposes moved inside, outer products taken out of Hadamard products.
    Each product made from a term is smaller than the product it came from; None
    where no such rewriting applies (the Kronecker form takes over)."""
    op = factor.op
    if op == "add":
        return [t if t.shape == factor.shape else E.mul(t, E.ones(*factor.shape)) for t in factor.args]
    if op == "T":
        inner = factor.args[0]
        if inner.op in ("add", "had"):
            combine = E.add if inner.op == "add" else E.hadamard
            return [combine(*(E.transpose(t) for t in inner.args))]
    if op == "had":
        for i, part in enumerate(factor.args):
            if not involves(part):
                continue
            others = E.hadamard(*factor.args[:i], *factor.args[i + 1:])
            if part.op == "add":        # u .* (M + N) = u .* M + u .* N
                return [E.hadamard(others, t) for t in part.args]
            q, scalars, chain = E.mul_parts(part)
            if part.op == "mul" and len(chain) == 2 and chain[0].is_column and chain[1].is_row:
                # u .* (a b^T) = diag(a) u diag(b)
                return [E.mul(E.number(q), *scalars, E.diag(chain[0]), others, E.diag(E.transpose(chain[1])))]
            if part.op == "T":
                inner = _spread_matrix(part, involves)
                return None if inner is None else [E.hadamard(others, t) for t in inner]
    return None
