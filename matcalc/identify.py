"""Identify: read the derivative off df, by the adjoint rules of rules/identify.rules.

Contract: `identify(df, X)` reads the derivative off df (linear in dX) in the engine's one
convention:
  f scalar, X any      -> G with the shape of X and df = tr(G^T dX)   (the gradient)
  f vector, X vector   -> J (len f x len X) with vec df = J dX         (the Jacobian)
  f any,    X scalar   -> F' with the shape of f and df = F' dX
`identify_vec(df, X)` gives J with vec df = J vec dX for any shapes (Magnus and
Neudecker's form of a tensor-valued derivative; the Jacobian for vectors).  Both take a
`trace` list, to which they append the adjoint rules they use, in the order used.
Layouts are applied later, when the result is presented.

Identification is reverse accumulation over df: each node containing dX receives an
adjoint A saying how it enters df -- as tr(A N) when f is a scalar, as A vec(N) when f
is a vector -- and passes it to its operands.  For each kind of node, the walker below
takes the node apart around the operand that holds dX (the factors before and after it,
the other terms, ...) and binds those parts to the names of the adjoint rule for that
case; the rule's share (rules.Share) builds the operand's adjoint, and for the rules that
rewrite a factor, the operand itself.  So every identity used is a rule that
tests/test_rules.py proves on random arrays.  A shared subexpression is visited once, so
the work stays linear in the size of df.

What is not a rule: the entries of a literal and an indexed entry (unit vectors written
out at the literal's size), a scalar inside a vector's df (identified in the trace
form, then stacked), and finding the parts that the rules through a Kronecker product or
a vec in a scalar's df are bound to: the adjoint as a sum of Kronecker products of the
factors' sizes, or as the vec of a matrix (matcalc/kronecker.py, a search over sizes).
Where there is none, the gradient is a partial trace or an unvec, which the language
does not write, and the derivative is refused.  The identities that need the commutation matrix of the target's
sizes, vec(N^T) = K vec(N) (MN 3.7) and vec(L ⊗ R) (MN 3.10), are rules whose typed
declarations name those sizes; the rule's commutation matrix and identities take them
from the operands bound to its names.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

from . import expr as E
from . import ops
from .budget import spend
from .errors import LimitError, NotDifferentiableError
from .kronecker import as_vec, kronecker_terms
from .rules import ruleset

# The derivative of an entry x[i] is a unit vector written out entry by entry (a literal).
MAX_UNIT_ENTRIES = 10_000

# Unary operators that only move or pick entries, so that they distribute over the terms
# of a sum and the factors of a Hadamard product: (N + R)^T = N^T + R^T, diag(U .* V) =
# diag(U) .* diag(V).
_ENTRYWISE_MOVES = frozenset(("T", "diagv", "diagm"))


def identify(df: E.Expr, variable: E.Expr, trace: list | None = None) -> E.Expr:
    dvar = E.differential(variable)
    if E.is_zero(df):
        rows = df.shape[0] if df.shape[1] == 1 else df.shape[1]
        if variable.is_scalar:
            return df
        return E.zeros(variable.shape if df.is_scalar else (rows, variable.shape[0]))
    if variable.is_scalar:
        return E.substitute(df, {dvar: E.ONE})
    if df.is_scalar:
        adjoint = _Walk(dvar, trace).accumulate(df, E.ONE, trace_form=True)
        return E.transpose(adjoint) if adjoint is not None else E.zeros(variable.shape)
    if variable.shape[1] == 1 and (df.shape[1] == 1 or df.shape[0] == 1):
        return identify_vec(df, variable, trace)
    raise NotDifferentiableError(
        f"the derivative of a {_kind(df)} by a {_kind(variable)} has more than two axes: "
        f"it is identified in its vec form")


def identify_vec(df: E.Expr, variable: E.Expr, trace: list | None = None) -> E.Expr:
    """J with vec df = J vec(dX): d vec F / d (vec X)^T, the Magnus-Neudecker form of a
    derivative of any shape by a variable of any shape (for vectors, the Jacobian)."""
    dvar = E.differential(variable)
    length = _vec_length(df)
    if E.is_zero(df):
        return E.zeros((length, _vec_length(variable)))
    root = E.vec(df) if df.op != "vec" else df
    adjoint = _Walk(dvar, trace).accumulate(root, E.identity(length), trace_form=False)
    return adjoint if adjoint is not None else E.zeros((length, _vec_length(variable)))


def _vec_length(e: E.Expr):
    return E.dim_product(e.shape[0], e.shape[1])


def _kind(e: E.Expr) -> str:
    if e.is_scalar:
        return "scalar"
    return "vector" if e.shape[0] == 1 or e.shape[1] == 1 else "matrix"


def _describe(e: E.Expr) -> str:
    text = str(e)
    return text if len(text) <= 60 else text[:57] + "..."


def _unsupported(node: E.Expr, why: str):
    return NotDifferentiableError(f"cannot identify the derivative through {_describe(node)}: {why}")


# ---------------------------------------------------------------- binding a rule's names

@dataclass(frozen=True)
class _Run:
    """Several operands bound to one name: the factors before the target in a product, the
    other terms of a sum.  In a template of the same operator they stand in its place one
    by one; elsewhere they are combined first.  An empty run is an absent factor."""
    items: tuple
    operator: str          # the op that combines them: "mul", "add", "had", "kron"

    def combined(self) -> E.Expr:
        return E.constructor(ops.OPERATORS[self.operator])(*self.items)


@dataclass(frozen=True)
class _Row:
    """A row bound to the name of a column v written v^T in the rule: v^T is the row itself."""
    row: E.Expr


def _run(operator: str, items) -> _Run:
    return _Run(tuple(items), operator)


def _shape_of(value) -> tuple:
    if isinstance(value, _Row):
        return (value.row.shape[1], value.row.shape[0])
    if isinstance(value, _Run):
        return value.combined().shape if value.items else (None, None)
    return value.shape


def _instantiate(template: E.Expr, variables, values: dict) -> E.Expr:
    """The template with each pattern variable replaced by its value (an Expr, a _Run or a
    _Row); its sized constants take the sizes that the values give the dimensions of
    `variables`, the pattern variables of the template's analysis (None: its own)."""
    sizes: dict = {}
    if not _has_sized_constants(template):
        variables = ()
    elif variables is None:
        variables = [n for n in E.postorder(template) if n.op == "sym"]
    for variable in variables:
        if variable.name in values:
            for own, actual in zip(variable.shape, _shape_of(values[variable.name])):
                if isinstance(own, str) and actual is not None:
                    sizes.setdefault(own, actual)

    def size(d):
        if not isinstance(d, str):
            return d
        product = 1
        for part in d.split("*"):
            product = E.dim_product(product, sizes.get(part, part))
        return product

    memo: dict = {}

    def build(node):
        found = memo.get(node)
        if found is None:
            found = memo[node] = _build(node, values, build, size)
        return found
    result = build(template)
    return result.combined() if isinstance(result, _Run) else result


_SIZED: dict = {}


def _has_sized_constants(template: E.Expr) -> bool:
    found = _SIZED.get(template)
    if found is None:
        found = _SIZED[template] = any(not n.args and n.op not in ("sym", "num") for n in E.postorder(template))
    return found


def _build(node: E.Expr, values: dict, build, size):
    if node.op == "sym":
        value = values[node.name]
        return E.transpose(value.row) if isinstance(value, _Row) else value
    if node.op == "T" and node.args[0].op == "sym" and isinstance(values[node.args[0].name], _Row):
        return values[node.args[0].name].row
    if not node.args:
        return node if node.op == "num" else E.resized(node, size)
    args = [build(a) for a in node.args]
    operator = ops.of(node)
    if operator.associative:
        flat = []
        for a in args:
            if isinstance(a, _Run):
                if a.operator == node.op:
                    flat.extend(a.items)
                elif a.items:
                    flat.append(a.combined())
            else:
                flat.append(a)
        return E.rebuild(node, tuple(flat))
    (arg,) = args
    if isinstance(arg, _Run):
        if not arg.items:
            return arg
        if ops.OPERATORS[arg.operator].commutative and node.op in _ENTRYWISE_MOVES:
            return _Run(tuple(E.rebuild(node, (item,)) for item in arg.items), arg.operator)
        arg = arg.combined()
    return E.rebuild(node, (arg,))


_RULES: dict = {}


def _rule(name: str):
    if not _RULES:
        _RULES.update((rule.name, rule) for rule in ruleset("identify"))
    return _RULES[name]


# ---------------------------------------------------------------- the walk

class _Walk:
    """Reverse accumulation towards one differential dX, recording the rules it uses."""

    def __init__(self, dvar: E.Expr, trace: list | None):
        self.dvar = dvar
        self.trace = trace
        self.memo: dict = {}

    def involves(self, e: E.Expr) -> bool:
        return E.contains(e, self.dvar, self.memo)

    def share(self, name: str, **values) -> tuple:
        """(the target, its adjoint) by the rule `name`, its names bound to `values`."""
        rule = _rule(name)
        if self.trace is not None:
            self.trace.append(rule)
        share = rule.shares[0]
        return _instantiate(share.target, None, values), _instantiate(share.adjoint, share.variables, values)

    def accumulate(self, root: E.Expr, seed: E.Expr, trace_form: bool) -> E.Expr | None:
        """Reverse accumulation, largest node first.

        A node is larger than each of its operands, and every node a push creates (a
        term distributed out of a product, a transpose moved inside) is smaller than
        the node that creates it; so taking nodes by decreasing size visits each one
        after all that contribute to it, whether it was in df or made on the way."""
        push = self.push_trace_form if trace_form else self.push_vector_form
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
            if node is self.dvar:
                found.append(adjoint)
                continue
            for operand, contribution in push(node, adjoint):
                if operand not in adjoints:
                    tiebreak += 1
                    heapq.heappush(queue, (-operand.size, tiebreak, operand))
                adjoints.setdefault(operand, []).append(contribution)
        return E.add(*found) if found else None

    # ------------------------------------------------------------ f a scalar: df = tr(A node)

    def push_trace_form(self, node: E.Expr, A: E.Expr):
        op = node.op
        if op == "add":
            for term in node.args:
                if self.involves(term):
                    if term.is_scalar and not node.is_scalar:
                        yield self.share("trace-broadcast", A=A, t=term)
                    else:
                        yield self.share("trace-sum", A=A, N=term)
        elif op == "mul":
            q, scalars, chain = E.mul_parts(node)
            for i, factor in enumerate(chain):
                if self.involves(factor):
                    c, P = _run("mul", (E.number(q), *scalars)), _run("mul", chain[:i])
                    if i + 1 < len(chain):
                        yield self.share("trace-cycle", A=A, c=c, P=P, N=factor, S=_run("mul", chain[i + 1:]))
                    else:
                        yield self.share("trace-product", A=A, c=c, P=P, N=factor)
            for j, factor in enumerate(scalars):
                if self.involves(factor):
                    rest = E.mul(E.number(q), *scalars[:j], *scalars[j + 1:], *chain)
                    yield self.share("trace-scalar", A=A, t=factor, R=rest)
        elif op == "T":
            yield self.share("trace-transpose", A=A, N=node.args[0])
        elif op == "had":
            for i, factor in enumerate(node.args):
                if self.involves(factor):
                    yield self.share("trace-hadamard", A=A, N=factor, U=_others(node, i))
        elif op == "tr":
            yield self.share("trace-of-trace", s=A, N=node.args[0])
        elif op == "sum" and _kron_of_matrices(node.args[0]):
            kron = node.args[0]
            left, right = kron.args[0], E.kron(*kron.args[1:])
            if self.involves(left):
                yield self.share("trace-of-sum-kron-left", s=A, N=left, R=right)
            if self.involves(right):
                yield self.share("trace-of-sum-kron-right", s=A, L=left, N=right)
        elif op == "sum":
            yield self.share("trace-of-sum", s=A, N=node.args[0])
        elif op == "diagv":
            yield self.share("trace-diagonal", a=_Row(A), N=node.args[0])
        elif op == "diagm":
            yield self.share("trace-diagonal-matrix", A=A, n=node.args[0])
        elif op == "kron":
            yield from self.push_kron(node, A, trace_form=True)
        elif op == "vec":
            matrix, column = node.args[0], E.transpose(A)
            # vec(N^T) = K_{r,c} vec(N) for r x c N (MN 3.7), so A vec(N^T) = (K_{c,r} A^T)^T vec(N):
            # the commutation joins the column as_vec reads, since a trace-form rule's target is
            # the matrix inside the vec, not vec(N) itself
            if matrix.op == "T":
                rows, cols = matrix.args[0].shape
                matrix, column = matrix.args[0], E.mul(E.commutation(cols, rows), column)
            M = as_vec(column, *matrix.shape)
            if M is None:
                hint = ("; (A ⊗ B) vec(X) = vec(B X A^T) holds for X r x c, A of c columns and B of r: "
                        "declaring the sizes may give one"
                        if any(n.op == "kron" for n in E.postorder(A)) else "")
                raise _unsupported(node, f"its adjoint {_describe(A)} is not the vec of a matrix "
                                         f"expression (the gradient is then its unvec, which matcalc "
                                         f"does not write){hint}")
            yield self.share("trace-vec", M=M, N=matrix)
        elif op == "entry":
            yield node.args[0], _unit_adjoint(node, A)
        elif op == "lit":
            for k, entry in enumerate(node.args):
                if self.involves(entry):
                    # tr(A L) picks A[j, i] for the entry L[i, j]
                    cols = node.shape[1]
                    yield entry, E.entry(A, k % cols + 1, k // cols + 1) if A.shape != (1, 1) else A
        else:
            raise _unsupported(node, "no identification rule for this form")

    def push_kron(self, node: E.Expr, A: E.Expr, trace_form: bool):
        if all(f.shape[0] == 1 for f in node.args):
            first, *rest = node.args
            n, v = E.transpose(first), _run("kron", (E.transpose(f) for f in rest))
            yield (self.share("trace-kron-rows", a=A, n=n, v=v) if trace_form
                   else self.share("vec-kron-rows", A=A, n=n, v=v))
            return
        if _kron_of_matrices(node):
            yield from (self.push_kron_matrices_trace_form(node, A) if trace_form
                        else self.push_kron_matrices(node, A))
            return
        for i, factor in enumerate(node.args):
            if self.involves(factor):
                u, w = _run("kron", node.args[:i]), _run("kron", node.args[i + 1:])
                yield (self.share("trace-kron", a=_Row(A), u=u, n=factor, w=w) if trace_form
                       else self.share("vec-kron", A=A, u=u, n=factor, w=w))

    def push_kron_matrices_trace_form(self, node: E.Expr, A: E.Expr):
        """tr(A (L ⊗ R)) for L the first factor and R the Kronecker product of the others,
        A written as a sum of Kronecker products P ⊗ Q of the sizes of L^T and R^T."""
        left, right = node.args[0], E.kron(*node.args[1:])
        terms = kronecker_terms(A, (left.shape[1], right.shape[1]), (left.shape[0], right.shape[0]))
        if terms is None:
            raise _unsupported(node, f"its adjoint {_describe(A)} is not a Kronecker product of the "
                                     f"factors' sizes (the gradient is then a partial trace, which "
                                     f"matcalc does not write)")
        for P, Q in terms:
            if self.involves(left):
                yield self.share("trace-kron-left", P=P, Q=Q, N=left, R=right)
            if self.involves(right):
                yield self.share("trace-kron-right", P=P, Q=Q, L=left, N=right)

    def push_kron_matrices(self, node: E.Expr, A: E.Expr):
        """vec(L ⊗ R) for L the first factor and R the Kronecker product of the others."""
        left, right = node.args[0], E.kron(*node.args[1:])
        if self.involves(left):
            yield self.share("vec-kron-left", A=A, N=left, R=right)
        if self.involves(right):
            yield self.share("vec-kron-right", A=A, L=left, N=right)

    # ------------------------------------------------------------ f a vector: vec df = A vec(node)

    def push_vector_form(self, node: E.Expr, A: E.Expr):
        op = node.op
        if op == "add":
            for term in node.args:
                if self.involves(term):
                    if term.is_scalar and not node.is_scalar:
                        yield self.share("vec-broadcast", A=A, t=term, R=node)
                    else:
                        yield self.share("vec-sum", A=A, N=term)
        elif op == "T":
            yield self.share("vec-transpose", A=A, N=node.args[0])
        elif op == "vec":
            yield self.share("vec-vec", A=A, N=node.args[0])
        elif op == "mul":
            yield from self.push_vector_product(node, A)
        elif op == "had":
            for i, factor in enumerate(node.args):
                if self.involves(factor):
                    yield self.share("vec-hadamard", A=A, N=factor, U=_others(node, i))
        elif op == "kron":
            yield from self.push_kron(node, A, trace_form=False)
        elif op == "diagv":
            yield from self.push_diagonal(node.args[0], A)
        elif op == "diagm":
            yield self.share("vec-diagonal-matrix", A=A, n=node.args[0])
        elif op == "lit":
            rows, cols = node.shape
            _bound_unit_size(rows * cols)
            for k, entry in enumerate(node.args):
                if self.involves(entry):   # vec(L) = sum e_p L[i, j], p = j rows + i (columns stacked)
                    place = (k % cols) * rows + k // cols
                    unit = E.literal([[E.ONE if r == place else E.ZERO] for r in range(rows * cols)])
                    yield entry, E.mul(A, unit)
        elif node.is_scalar:
            # any other scalar is tr(R dX) + ... by the scalar identification: = vec(R^T)^T vec(dX)
            row = self.accumulate(node, E.ONE, trace_form=True)
            if row is not None:
                yield self.dvar, E.mul(A, E.transpose(E.vec(E.transpose(row))))
        else:
            raise _unsupported(node, "no vec identification rule for this form")

    def push_diagonal(self, matrix: E.Expr, A: E.Expr):
        """diag(M) for M containing dX."""
        if matrix.op == "add":
            for term in matrix.args:
                if self.involves(term):
                    if term.shape == matrix.shape:
                        yield self.share("vec-diagonal-sum", A=A, N=term)
                    else:
                        yield self.share("vec-diagonal-broadcast", A=A, t=term, R=matrix)
            return
        q, scalars, chain = E.mul_parts(matrix)
        if matrix.op == "mul" and len(chain) == 2 and chain[0].is_column and chain[1].is_row:
            yield self.share("vec-diagonal-outer", A=A, c=_run("mul", (E.number(q), *scalars)),
                             n=chain[0], v=_Row(chain[1]))
        elif matrix.op == "had":
            first, *rest = matrix.args
            yield self.share("vec-diagonal-hadamard", A=A, N=first, V=_run("had", rest))
        else:
            yield self.share("vec-diagonal", A=A, N=matrix)

    def push_vector_product(self, node: E.Expr, A: E.Expr):
        q, scalars, chain = E.mul_parts(node)
        c = _run("mul", (E.number(q), *scalars))
        for j, factor in enumerate(scalars):
            if self.involves(factor):
                rest = E.mul(E.number(q), *scalars[:j], *scalars[j + 1:], *chain)
                yield self.share("vec-scalar", A=A, t=factor, R=rest)
        for i, factor in enumerate(chain):
            if self.involves(factor):
                before = E.mul(*chain[:i]) if i else None
                after = E.mul(*chain[i + 1:]) if i + 1 < len(chain) else None
                yield from self.push_vector_factor(node, A, c, factor, before, after)

    def push_vector_factor(self, node: E.Expr, A: E.Expr, c: _Run, factor: E.Expr, before, after):
        P = _run("mul", (before,) if before is not None else ())
        S = _run("mul", (after,) if after is not None else ())
        if not (node.is_column or node.is_row or node.is_scalar):
            yield self.kronecker_lift(A, c, factor, before, after)
        elif factor.is_column:
            if node.is_row:
                yield self.share("vec-row-of-column", A=A, c=c, u=_Row(before), n=factor, v=_Row(after))
            else:
                yield self.share("vec-column-of-column", A=A, c=c, P=P, n=factor, d=S)
        elif factor.is_row:
            if node.is_row:
                yield self.share("vec-row-of-row", A=A, c=c, d=P, n=_Row(factor), S=S)
            else:
                yield self.share("vec-column-of-row", A=A, c=c, u=P, n=_Row(factor), v=after)
        elif factor.op == "diagm" and node.is_column and after is not None:
            yield self.share("vec-diagonal-times", A=A, c=c, P=P, n=factor.args[0], u=after)
        elif factor.op == "diagm" and node.is_row and before is not None:
            yield self.share("vec-times-diagonal", A=A, c=c, u=_Row(before), n=factor.args[0], S=S)
        elif factor.op == "diagm" and node.is_scalar and before is not None and after is not None:
            yield self.share("vec-bilinear-diagonal", a=A, c=c, u=_Row(before), n=factor.args[0], v=after)
        else:
            spreads = [share for share in self.spread(A, c, factor, P, S) if self.involves(share[0])]
            if not spreads or any(target is node for target, _ in spreads):
                yield self.kronecker_lift(A, c, factor, before, after)
            yield from spreads

    def kronecker_lift(self, A: E.Expr, c: _Run, factor: E.Expr, before, after) -> tuple:
        """vec(P F S) = (S^T ⊗ P) vec(F), an absent P or S being the identity."""
        P = before if before is not None else E.identity(factor.shape[0])
        S = after if after is not None else E.identity(factor.shape[1])
        return self.share("vec-product", A=A, c=c, P=P, N=factor, S=S)

    def spread(self, A: E.Expr, c: _Run, factor: E.Expr, P: _Run, S: _Run) -> list:
        """The factor rewritten so that the product around it distributes over it: sums
        opened, transposes moved inside, outer products taken out of Hadamard products.
        Each product made is smaller than the product it came from; [] where no rule
        applies (the Kronecker form takes over)."""
        around = {"A": A, "c": c, "P": P, "S": S}
        if factor.op == "add":
            return [self.share("vec-product-of-sum", **around, N=term) if term.shape == factor.shape
                    else self.share("vec-product-of-broadcast", **around, t=term, R=factor)
                    for term in factor.args]
        if factor.op == "T" and factor.args[0].op in ("add", "had"):
            inner = factor.args[0]
            first, *rest = inner.args
            if inner.op == "add":
                return [self.share("vec-product-of-transposed-sum", **around, N=first, R=_run("add", rest))]
            return [self.share("vec-product-of-transposed-hadamard", **around, N=first, U=_run("had", rest))]
        if factor.op == "had":
            for i, part in enumerate(factor.args):
                if self.involves(part):
                    spread = self.spread_hadamard(around, _others(factor, i), part)
                    if spread is not None:
                        return spread
        return []

    def spread_hadamard(self, around: dict, U: E.Expr, part: E.Expr) -> list | None:
        """U .* part rewritten, [] where it cannot be, None where the next part may be tried."""
        if part.op == "add":       # U .* (N + R) = U .* N + U .* R
            return [self.share("vec-product-of-hadamard-sum", **around, U=U, N=term) for term in part.args]
        q, scalars, chain = E.mul_parts(part)
        if part.op == "mul" and len(chain) == 2 and chain[0].is_column and chain[1].is_row:
            return [self.share("vec-product-of-hadamard-outer", **around, U=U, d=_run("mul", (E.number(q), *scalars)),
                               n=chain[0], v=_Row(chain[1]))]
        if part.op == "T":
            inner = part.args[0]
            if inner.op not in ("add", "had"):
                return []
            first, *rest = inner.args
            if inner.op == "add":
                return [self.share("vec-product-of-hadamard-transposed-sum", **around, U=U, N=first,
                                   R=_run("add", rest))]
            return [self.share("vec-product-of-hadamard-transposed-hadamard", **around, U=U, N=first,
                               V=_run("had", rest))]
        return None


def _kron_of_matrices(node: E.Expr) -> bool:
    """A Kronecker product that is neither of columns only nor of rows only."""
    return (node.op == "kron" and not all(f.shape[1] == 1 for f in node.args)
            and not all(f.shape[0] == 1 for f in node.args))


def _others(node: E.Expr, i: int) -> E.Expr:
    """The operands of a Hadamard product but the i-th, multiplied."""
    return E.hadamard(*node.args[:i], *node.args[i + 1:])


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
