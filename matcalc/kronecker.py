"""Kronecker structure of an adjoint, for identification (matcalc/identify.py).

Contract: `kronecker_terms(e, rows, cols)` writes e as a sum of Kronecker products,
e = sum of P ⊗ Q with each P of rows[0] x cols[0] and each Q of rows[1] x cols[1], and
returns the list of (P, Q), or None where it finds no such form.  `as_vec(column, rows,
cols)` writes a column as vec(M) for a rows x cols matrix M and returns M, or None.
Neither builds anything larger than a product of the parts of its argument.

Identification uses them where an adjoint meets a Kronecker product of matrices or a
vec in a scalar's differential: tr((P ⊗ Q)(L ⊗ N)) = tr(P L) tr(Q N) and
tr(vec(M)^T vec(N)) = tr(M^T N) are adjoint rules (rules/identify.rules), and these
functions find the P, Q or M those rules are bound to.  They are searches over the
adjoint's structure, not rewrites: which grouping of a Kronecker product's factors, or
which split of an identity's size, fits the sizes asked for is a question of sizes, and
the mixed product (A ⊗ B)(C ⊗ D) = AC ⊗ BD holds only where the factors' sizes agree,
which the rules' matcher does not see.  Each identity used is cited where it is used.
"""
from __future__ import annotations

from . import expr as E
from . import ops

# A product of sums of Kronecker products has as many terms as the products of their
# numbers of terms; beyond this many, the search gives up (the derivative is refused).
MAX_TERMS = 64


def kronecker_terms(e: E.Expr, rows: tuple, cols: tuple) -> list | None:
    """e = sum of P ⊗ Q, P being rows[0] x cols[0] and Q rows[1] x cols[1]."""
    return _terms(e, rows, cols)


def _same_split(terms: list) -> bool:
    splits = {(P.shape, Q.shape) for P, Q in terms}
    return len(splits) <= 1


def _terms(e: E.Expr, rows, cols):
    """As kronecker_terms; rows or cols None where the caller does not fix that split."""
    op = e.op
    if op == "zero":
        return []
    if e.is_scalar:
        return _trivial(e, rows or (1, 1), cols or (1, 1))
    if op == "kron":
        return _grouped(e, rows, cols)
    if op == "I":                   # I_ab = I_a ⊗ I_b (MN 2.2)
        split = rows or cols
        if split is None or (rows and cols and rows != cols):
            return None
        return [(E.identity(split[0]), E.identity(split[1]))]
    if op == "ones":                # 1_ab 1_cd^T = (1_a 1_c^T) ⊗ (1_b 1_d^T)
        rows = rows or ((1, 1) if e.shape[0] == 1 else None)
        cols = cols or ((1, 1) if e.shape[1] == 1 else None)
        if rows is None or cols is None:
            return None
        return [(E.ones(rows[0], cols[0]), E.ones(rows[1], cols[1]))]
    if op == "T":                   # (P ⊗ Q)^T = P^T ⊗ Q^T (MN 2.2)
        inner = _terms(e.args[0], cols, rows)
        return None if inner is None else [(E.transpose(P), E.transpose(Q)) for P, Q in inner]
    if op == "inv":                 # (P ⊗ Q)^-1 = P^-1 ⊗ Q^-1 for square P and Q (MN 2.2)
        inner = _terms(e.args[0], cols, rows)
        if inner is None or len(inner) != 1:
            return None
        ((P, Q),) = inner
        if P.shape[0] != P.shape[1] or Q.shape[0] != Q.shape[1]:
            return None
        return [(E.inverse(P), E.inverse(Q))]
    if op == "mpow":                # (P ⊗ Q)^k = P^k ⊗ Q^k for square P and Q (the mixed product, MN 2.2)
        base, exponent = e.args
        inner = _terms(base, rows or cols, cols or rows)
        if inner is None or len(inner) != 1:
            return None
        ((P, Q),) = inner
        if P.shape[0] != P.shape[1] or Q.shape[0] != Q.shape[1]:
            return None
        return [(E.power(P, exponent), E.power(Q, exponent))]
    if op == "add":                 # (P ⊗ Q) + (R ⊗ S) stays a sum of Kronecker products
        terms = []
        for term in e.args:
            part = _terms(term, rows, cols)
            if part is None:
                return None
            terms.extend(part)
        return terms if _same_split(terms) and len(terms) <= MAX_TERMS else None
    if op == "mul":
        return _product(e, rows, cols)
    return _trivial(e, rows, cols)


def _trivial(e: E.Expr, rows, cols):
    """A ⊗ 1 = 1 ⊗ A = A for the 1 x 1 matrix 1: any matrix is a Kronecker product of
    itself and a scalar one, where the sizes asked allow it."""
    if rows is None and cols is None:
        return None
    if all(split is None or split[1] == 1 for split in (rows, cols)):
        return [(e, E.ONE)]
    if all(split is None or split[0] == 1 for split in (rows, cols)):
        return [(E.ONE, e)]
    return None


def _grouped(e: E.Expr, rows, cols):
    """A Kronecker product F1 ⊗ ... ⊗ Fk as (F1 ⊗ ... ⊗ Fj) ⊗ (Fj+1 ⊗ ... ⊗ Fk), for the
    j whose sizes fit (the product is associative, MN 2.2)."""
    factors = e.args
    for j in range(1, len(factors)):
        left, right = E.kron(*factors[:j]), E.kron(*factors[j:])
        fits_rows = rows is None or rows == (left.shape[0], right.shape[0])
        fits_cols = cols is None or cols == (left.shape[1], right.shape[1])
        if fits_rows and fits_cols:
            return [(left, right)]
    return _trivial(e, rows, cols)


def _product(e: E.Expr, rows, cols):
    """A product of sums of Kronecker products, by the mixed product
    (A ⊗ B)(C ⊗ D) = AC ⊗ BD (MN 2.2) and (c A) ⊗ B = c (A ⊗ B) for a scalar c; each
    factor's column split is the next factor's row split."""
    q, scalars, chain = E.mul_parts(e)
    coefficient = E.mul(E.number(q), *scalars)
    products = None
    split = rows
    for i, factor in enumerate(chain):
        last = i == len(chain) - 1
        part = _terms(factor, split, cols if last else None)
        if part is None:
            return None
        if not part:
            return []
        if not _same_split(part):
            return None
        split = (part[0][0].shape[1], part[0][1].shape[1])
        products = part if products is None else [(E.mul(P0, P), E.mul(Q0, Q)) for P0, Q0 in products
                                                  for P, Q in part]
        if len(products) > MAX_TERMS:
            return None
    if products is None:
        return None
    if cols is not None and split != cols:
        return None
    return [(E.mul(coefficient, P), Q) for P, Q in products]


def as_vec(column: E.Expr, rows, cols) -> E.Expr | None:
    """M (rows x cols) with vec(M) = column, or None."""
    if cols == 1:
        return column
    if rows == 1:                   # vec(r) = r^T for a row r
        return E.transpose(column)
    op = column.op
    if op == "vec":
        inner = column.args[0]
        return inner if inner.shape == (rows, cols) else None
    if op == "zero":
        return E.zeros((rows, cols))
    if op == "ones":
        return E.ones(rows, cols)
    if op == "T" and column.args[0].op == "add":   # a transposed sum of rows: (a + b)^T = a^T + b^T
        return as_vec(E.add(*(E.transpose(term) for term in column.args[0].args)), rows, cols)
    if op == "add":                 # vec is linear (MN 2.4)
        parts = [as_vec(term, rows, cols) for term in column.args]
        return None if any(p is None for p in parts) else E.add(*parts)
    if op == "kron":                # u ⊗ w = vec(w u^T) for columns u, w (MN 2.4)
        factors = column.args
        for j in range(1, len(factors)):
            u, w = E.kron(*factors[:j]), E.kron(*factors[j:])
            if u.shape[0] == cols and w.shape[0] == rows:
                return E.mul(w, E.transpose(u))
        return None
    if ops.of(column).elementwise and column.op != "add":   # vec(F(A, B)) = F(vec A, vec B) entry by entry
        parts = [a if a.is_scalar else as_vec(a, rows, cols) for a in column.args]
        return None if any(p is None for p in parts) else E.rebuild(column, tuple(parts))
    if op == "mul":
        q, scalars, chain = E.mul_parts(column)
        M = _applied(chain, rows, cols)
        return None if M is None else E.mul(E.number(q), *scalars, M)
    return None


def _applied(chain: tuple, rows, cols) -> E.Expr | None:
    """M with vec(M) = F1 ... Fk c for the factors F of chain (c, the last, a column)."""
    first, rest = chain[0], chain[1:]
    if not rest:
        return as_vec(first, rows, cols)
    if first.op == "comm":          # K_{r,c} vec(M) = vec(M^T) for r x c M (MN 3.7)
        r, c = first.value
        if (c, r) != (rows, cols):
            return None
        inner = _applied(rest, r, c)
        return None if inner is None else E.transpose(inner)
    if first.op == "I":
        return _applied(rest, rows, cols)
    if first.op == "add":           # (F + G) c = F c + G c
        parts = [_applied((term, *rest), rows, cols) for term in first.args]
        return None if any(p is None for p in parts) else E.add(*parts)
    if first.op == "kron":          # (P ⊗ Q) vec(M) = vec(Q M P^T) (MN 2.4, theorem 2)
        factors = first.args
        for j in range(1, len(factors)):
            P, Q = E.kron(*factors[:j]), E.kron(*factors[j:])
            if P.shape[0] == cols and Q.shape[0] == rows:
                inner = _applied(rest, Q.shape[1], P.shape[1])
                return None if inner is None else E.mul(Q, inner, E.transpose(P))
        return None
    return None
