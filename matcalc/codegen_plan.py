"""The cost model and the plan of generated code: which equal form to compute, and how.

Contract: `Program(dialect, namespace, sizes)` turns expressions into straight-line
statements (`lines`) and returns each expression's code; the code computes exactly
the expression's value.  What it chooses, by a cost in flops plus memory traffic at the
sizes given (`sizes`: dimension name -> int; DEFAULT_SIZE for the others):
  - a product of a sum is distributed where that is cheaper ((A + A^T) x as A x + A^T x;
    (T - U V^T) V as T V - U (V^T V)), kept otherwise;
  - matrix chains are multiplied in the cheapest order (dynamic programming), a diagonal
    diag(v) is a broadcast v * M or M * v^T, never a dense matrix, a factor and its
    transpose (D W^T W D) are computed once;
  - a number or scalar factor multiplies the smallest operand of its product;
  - I and diag(v) added to a matrix are written onto its diagonal, tr(A B) is a sum of
    A * B^T, diag(A B) a row sum of it;
  - every subexpression used twice is computed once (and so is an intermediate);
  - a tensor (a derivative with more than two axes, given as its vec form J = d vec F /
    d vec(X)^T) is lowered to einsum terms over index labels: kron, vec, I, diag and the
    commutation matrix become index identifications, never dense matrices, and the result
    is written in the layout's axis order (contiguous).  A vec form outside what the
    lowering knows (a function of a Kronecker product) is computed densely and reshaped.
Operators' templates come from the operator table (matcalc/ops.py).
"""
from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from itertools import product as cartesian

from . import expr as E
from .errors import NotDifferentiableError
from .ops import OPERATORS

DEFAULT_SIZE = 100     # the size of a dimension the caller gave no size for
MEMORY = 2             # cost of moving one entry, in flops
TRANSCENDENTAL = 8     # cost of exp, log, tanh ... of one entry, in flops
MAX_TERMS = 64         # a tensor distributed into more einsum terms is computed densely
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Unsupported(Exception):
    """The tensor lowering does not know this vec form; it is computed densely instead."""


def _atom(text: str) -> bool:
    """Whether code is an operand as it stands: one bracketed whole, or nothing outside
    brackets but a name, number, attribute, call or index (no space, no leading minus)."""
    if text.startswith("(") and _closing(text, 0) == len(text):
        return True
    if not text or text[0] == "-":
        return False
    depth = 0
    for c in text:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(c, 0)
        if depth == 0 and c in " *+-/@":
            return False
    return True


def _closing(text: str, opening: int):
    """The position after the bracket that closes the one at `opening`, or None."""
    depth = 0
    for i in range(opening, len(text)):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return None


def fill(template: str, codes: list) -> str:
    """A template with its operands' code: bare where the operand is a whole argument of a
    call (`np.exp({0})`), in brackets where it is part of an expression (`{0} * {1}`, `-{0}`)."""
    out, at = [], 0
    for match in re.finditer(r"\{(\d)\}", template):
        before = template[max(0, match.start() - 2):match.start()]
        after = template[match.end():match.end() + 1]
        code = codes[int(match.group(1))]
        whole = (before.endswith("(") or before == ", ") and after in (")", ",")
        out.append(template[at:match.start()] + (code if whole else paren(code)))
        at = match.end()
    return "".join(out) + template[at:]


def paren(text: str) -> str:
    return text if _atom(text) else f"({text})"


def _is_diagonal(e: E.Expr) -> bool:
    return e.op == "diagm" or (e.op == "T" and e.args[0].op == "diagm")


def _diagonal_of(e: E.Expr) -> E.Expr:
    """The vector v of diag(v) (or of its transpose), as a column."""
    inner = e.args[0] if e.op == "T" else e
    v = inner.args[0]
    return E.transpose(v) if v.is_row else v


class Cost:
    """Flops plus memory traffic of computing expressions, each shared node once."""

    def __init__(self, sizes: dict):
        self.sizes = sizes
        self.local: dict = {}

    def dim(self, d) -> int:
        if isinstance(d, int):
            return d
        total = 1
        for part in d.split("*"):
            total *= int(part) if part.isdigit() else self.sizes.get(part, DEFAULT_SIZE)
        return total

    def entries(self, e: E.Expr) -> int:
        return self.dim(e.shape[0]) * self.dim(e.shape[1])

    def of(self, e: E.Expr) -> float:
        """The cost of e: each distinct node once (a shared subexpression is computed once)."""
        total, seen, stack = 0.0, set(), [e]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            total += self.node(node)
            if node.op != "let":            # an intermediate is computed once, wherever it is used
                stack.extend(node.args)
        return total

    def node(self, e: E.Expr) -> float:
        found = self.local.get(e)
        if found is None:
            found = self.local[e] = self._node(e)
        return found

    def _node(self, e: E.Expr) -> float:
        n = self.entries(e)
        op = e.op
        if op in ("sym", "num", "dim", "let", "T", "I", "ones", "zero", "entry"):
            return 0.0
        if op == "add":
            return (len(e.args) - 1) * n + MEMORY * (len(e.args) + 1) * n
        if op == "mul":
            q, scalars, chain = E.mul_parts(e)
            scaled = q != 1 or bool(scalars)
            if not chain:
                return len(scalars)
            cost, _ = chain_plan(self, list(chain))
            return cost + (min(n, min(self.entries(f) for f in chain)) * (1 + MEMORY) if scaled else 0)
        if op == "had":
            return (len(e.args) - 1) * n + MEMORY * (len(e.args) + 1) * n
        if op == "fn":
            return (TRANSCENDENTAL + 2 * MEMORY) * n
        if OPERATORS[op].cubic:
            size = self.dim(e.args[0].shape[0])
            return 2 * size ** 3
        if op in ("tr", "diagv"):
            q, scalars, chain = E.mul_parts(e.args[0])
            if len(chain) > 1 and not scalars:
                return min(chain_plan(self, list(chain[:s]))[0] + chain_plan(self, list(chain[s:]))[0]
                           for s in range(1, len(chain))) + (1 + MEMORY) * self.entries(e.args[0])
            return self.dim(e.args[0].shape[0])
        return (1 + 2 * MEMORY) * max(n, max((self.entries(a) for a in e.args), default=1))


def chain_plan(cost: Cost, chain: list) -> tuple:
    """(cost, plan) of the cheapest way to multiply a matrix chain; a plan is an index (a
    factor) or (left plan, right plan, transpose reuse).  diag(v) factors stay vectors:
    diag(v) M is the broadcast v * M."""
    n = len(chain)
    rows = [cost.dim(f.shape[0]) for f in chain]
    cols = [cost.dim(f.shape[1]) for f in chain]
    diagonal = [_is_diagonal(f) for f in chain]
    best: dict = {}
    for i in range(n):
        best[i, i] = (0.0, i, diagonal[i])
    for length in range(2, n + 1):
        for i in range(n - length + 1):
            j = i + length - 1
            choice = None
            for s in range(i, j):
                (left_cost, left_plan, left_diag), (right_cost, right_plan, right_diag) = best[i, s], best[s + 1, j]
                r, m, c = rows[i], cols[s], cols[j]
                if left_diag and right_diag:
                    step, is_diag = m * (1 + MEMORY), True
                elif left_diag or right_diag:
                    step, is_diag = (m * c if left_diag else r * m) * (1 + 2 * MEMORY), False
                else:
                    step, is_diag = 2 * r * m * c + MEMORY * (r * m + m * c + r * c), False
                reuse = (not left_diag and length >= 4 and length % 2 == 0 and s - i == j - s - 1
                         and _mirrored(chain[i:s + 1], chain[s + 1:j + 1]))
                total = (0.0 if reuse else left_cost) + right_cost + step
                if choice is None or total < choice[0]:
                    choice = (total, (left_plan, right_plan, reuse), is_diag)
            best[i, j] = choice
    total, plan, _ = best[0, n - 1]
    return total, plan


class Program:
    """Straight-line code for expressions, each shared subexpression computed once."""

    def __init__(self, dialect, namespace, sizes: dict | None = None):
        self.dialect = dialect
        self.names = namespace
        self.cost = Cost(sizes or {})
        self.lines: list = []
        self.helpers: dict = {}
        self.memo: dict = {}
        self.uses: Counter = Counter()
        self.rewritten: dict = {}

    # ------------------------------------------------------------ public
    def prepare(self, roots: list) -> list:
        """The roots in their cheapest equal forms, with their shared parts counted."""
        chosen = [self.cheapest(r) for r in roots]
        for root in chosen:
            self.uses[root] += 1
            for node in E.postorder(root):
                for a in node.args:
                    self.uses[a] += 1
        return chosen

    def code(self, e: E.Expr) -> str:
        """The code of e (prepared); statements it needs are appended to `lines`."""
        found = self.memo.get(e)
        if found is None:
            found = self._node(e)     # parts are computed where they are needed, once
            if self.uses[e] > 1 and not _cheap(e) and not _atom_name(found):
                found = self.assign(found)
            self.memo[e] = found
        return found

    def assign(self, text: str, hint: str = "t") -> str:
        name = self.names.temporary(hint)
        self.lines.append(f"{name} = {text}")
        return name

    def dim(self, d) -> str:
        return self.names.dim_code(d)

    # ------------------------------------------------------------ choosing forms
    def cheapest(self, e: E.Expr, depth: int = 0) -> E.Expr:
        """e with every product of a sum distributed where that costs less."""
        found = self.rewritten.get(e)
        if found is not None:
            return found
        if e.op == "let":
            result = E.named(e.value, self.cheapest(e.args[0]))
        elif e.args:
            result = E.rebuild(e, tuple(self.cheapest(a) for a in e.args))
        else:
            result = e
        if result.op == "T" and _symmetric(result.args[0]):
            result = result.args[0]
        if result.op == "mul" and depth < 3:
            result = self._distributed(result, depth)
        self.rewritten[e] = result
        return result

    def _distributed(self, e: E.Expr, depth: int) -> E.Expr:
        q, scalars, chain = E.mul_parts(e)
        best, best_cost = e, self.cost.of(e)
        for k, factor in enumerate(chain):
            inner = factor.args[0] if factor.op == "T" else factor
            if inner.op != "add" or inner.is_scalar:
                continue
            # a scalar term of a matrix sum stands for itself times a ones matrix
            terms = [E.mul(t, E.ones(*inner.shape)) if t.is_scalar else t for t in inner.args]
            terms = [E.transpose(t) if factor.op == "T" else t for t in terms]
            candidate = E.add(*(E.mul(E.number(q), *scalars, *chain[:k], t, *chain[k + 1:]) for t in terms))
            candidate = self.cheapest(candidate, depth + 1)
            candidate_cost = self.cost.of(candidate)
            if candidate_cost < best_cost:
                best, best_cost = candidate, candidate_cost
        return best

    # ------------------------------------------------------------ matrix code
    def _node(self, e: E.Expr) -> str:
        d = self.dialect
        op = e.op
        if op == "sym":
            return self.names.user(e.name)
        if op == "let":
            name = self.names.user(e.value)
            self.lines.append(f"{name} = {self.code(e.args[0])}")
            return name
        if op == "num":
            return number_code(e.value)
        if op == "dim":
            return self.dim(e.value)
        if op == "I":
            return d.eye(self.dim(e.shape[0]))
        if op == "ones":
            return d.ones(self.dim(e.shape[0]), self.dim(e.shape[1]))
        if op == "zero":
            return d.zeros([self.dim(e.shape[0]), self.dim(e.shape[1])])
        if op == "T":
            return d.transpose(paren(self.code(e.args[0])))
        if op == "add":
            return self._sum(e)
        if op == "mul":
            return self._product(e)
        if op == "had":
            return " * ".join(paren(self.code(a)) for a in e.args)
        if op == "pow" and e.args[0].op == "norm" and e.args[0].value != "1" and e.args[1] is E.number(2):
            return d.squared_norm(self.code(e.args[0].args[0]))     # ||a||^2 without a square root
        if op in ("pow", "epow"):
            base, exponent = (paren(self.code(a)) for a in e.args)
            return f"{base} * {base}" if exponent == "2" and _atom_name(base) else f"{base}**{exponent}"
        if op == "fn":
            return self._function(e)
        if op == "sum":
            return d.total(self.code(e.args[0]))
        if op == "norm":
            inner = self.code(e.args[0])
            if e.value == "1":
                return d.total(d.template(OPERATORS["abs"]).format(inner))
            return d.template(OPERATORS["sqrt"]).format(d.total(f"{paren(inner)}**2"))
        if op in ("tr", "diagv"):
            return self._trace_or_diagonal(e)
        if op == "entry":
            i, j = e.value
            return f"{paren(self.code(e.args[0]))}[{i - 1}, {j - 1}]"
        if op == "lit":
            rows, cols = e.shape
            args = [self.code(a) for a in e.args]
            return d.block([args[r * cols:(r + 1) * cols] for r in range(rows)])
        if op == "comm":
            self._helper(OPERATORS["comm"])
            return f"commutation({self.dim(e.value[0])}, {self.dim(e.value[1])})"
        if op == "diagm":
            return d.diagflat(self.code(e.args[0]))
        operator = OPERATORS.get(op)
        if operator is None or d.template(operator) is None:
            raise NotDifferentiableError(f"no {d.name} code for {op} in this version")
        self._helper(operator)
        args = [self.code(a) for a in e.args]
        template = d.template(operator)
        if operator.associative and len(args) > 2:     # kron(A, B, C): the template takes two at a time
            folded = fill(template, args[:2])
            for arg in args[2:]:
                folded = fill(template, [folded, arg])
            return folded
        if template.count("{0}") > 1 and not _atom_name(args[0]):
            args[0] = self.assign(args[0])      # an operand the template uses twice is computed once
        return fill(template, args)

    def _helper(self, operator) -> None:
        helper = self.dialect.helper(operator)
        if helper:
            self.helpers[operator.name] = helper

    def _function(self, e: E.Expr) -> str:
        """An elementwise function; f(-a) with a template that negates its operand (sigmoid's
        exp(-z)) takes a itself, so no double negation is computed."""
        operator = OPERATORS[e.value]
        self._helper(operator)
        template = self.dialect.template(operator)
        arg = e.args[0]
        q, scalars, chain = E.mul_parts(arg)
        if "-{0}" in template and q < 0:
            positive = self.code(E.mul(E.number(-q), *scalars, *chain))
            return fill(template.replace("-{0}", "{0}"), [positive])
        operand = self.code(arg)
        if template.count("{0}") > 1 and not _atom_name(operand):
            operand = self.assign(operand)
        return fill(template, [operand])

    def _sum(self, e: E.Expr) -> str:
        """Terms joined by + and -; diagonal terms (I, diag(v), their multiples) written onto
        the diagonal of the rest, a ones matrix added as the number 1."""
        dense, diagonal = [], []
        whole = False       # a term of the sum's whole shape: its code makes a new array
        for term in e.args:
            q, scalars, chain = E.mul_parts(term)
            negative = q < 0
            if negative:
                term, q = E.neg(term), -q
            if not e.is_scalar and chain and all(f.op == "I" or _is_diagonal(f) for f in chain) \
                    and e.shape[0] == e.shape[1]:
                vectors = [_diagonal_of(f) for f in chain if f.op != "I"]
                diagonal.append((negative, E.mul(E.number(q), *scalars) if not vectors
                                 else E.mul(E.number(q), *scalars, E.hadamard(*vectors))))
            elif not e.is_scalar and E.is_ones(term):
                dense.append((negative, "1"))
            else:
                dense.append((negative, self.code(term)))
                whole = whole or not term.is_scalar
        if not dense:
            total = _signed([(neg, self.code(v)) for neg, v in diagonal])
            if all(v.is_scalar for _, v in diagonal):
                return f"{paren(total)} * {self.dialect.eye(self.dim(e.shape[0]))}"
            return self.dialect.diagflat(total)
        if not diagonal and len(dense) > 1:
            common = self._common_factor(e)
            if common is not None:
                return common
        dense.sort(key=lambda item: item[0])      # a positive term first: no leading negation
        text = _signed(dense)
        if not diagonal:
            return text
        if _atom_name(text) or not whole:
            text = f"{text} + {self.dialect.zeros([self.dim(e.shape[0]), self.dim(e.shape[1])])}"
        target = self.assign(text)
        size = self.dim(e.shape[0])
        for negative, v in diagonal:
            value = self.code(v)
            value = paren(value) if v.is_scalar else value
            self.lines.append(self.dialect.add_to_diagonal(target, f"-{value}" if negative else value,
                                                           size, v.is_scalar))
        return target

    def _common_factor(self, e: E.Expr):
        """q (a + b) for the sum q a + q b of matrices: one scaling instead of one per term,
        where each term would scale its whole result."""
        parts = [E.mul_parts(t) for t in e.args]
        if any(t.is_scalar for t in e.args) or any(s for _, s, _ in parts):
            return None
        q = abs(parts[0][0])
        if q == 1 or any(abs(p[0]) != q for p in parts):
            return None
        if any(self._scale_goes_to_operand(t) for t in e.args):
            return None
        inner = E.add(*(E.mul(E.number(p[0] / q), *p[2]) for p in parts))
        if inner.op != "add":
            return None
        return f"{paren(number_code(q))} * ({self._sum(inner)})"

    def _scale_goes_to_operand(self, term: E.Expr) -> bool:
        _, _, chain = E.mul_parts(term)
        if not chain:
            return False
        _, plan = chain_plan(self.cost, list(chain))
        return self._scale_target(chain, plan, term) is not None

    def _scale_target(self, chain, plan, e: E.Expr):
        """The chain factor a product's number and scalars multiply: the smallest one the plan
        computes once, where it is smaller than the result (None: the result)."""
        leaves = [(self.cost.entries(_diagonal_of(f)) if _is_diagonal(f) else self.cost.entries(f), i)
                  for i, f in enumerate(chain) if i in _single_use_leaves(plan)]
        smallest = min(leaves, default=None)
        return smallest[1] if smallest is not None and smallest[0] < self.cost.entries(e) else None

    def _product(self, e: E.Expr) -> str:
        q, scalars, chain = E.mul_parts(e)
        factor_codes = [paren(self.code(s)) for s in scalars]
        if abs(q) != 1 or not (factor_codes or chain):
            factor_codes.insert(0, paren(number_code(abs(q))))
        scale = " * ".join(factor_codes)
        sign = "-" if q < 0 else ""
        if not chain:
            return sign + (scale or "1")
        _, plan = chain_plan(self.cost, list(chain))
        # the number and scalar factors go to the smallest operand, or to the result
        target = self._scale_target(chain, plan, e) if scale or sign else None
        code, is_diagonal = self._plan_code(chain, plan, target, scale, sign)
        if is_diagonal:
            code = self.dialect.diagflat(code)
        if (scale or sign) and target is None:
            code = f"{sign}{scale} * {paren(code)}" if scale else f"-{paren(code)}"
        return code

    def _plan_code(self, chain, plan, target, scale, sign, shared=True) -> tuple:
        """(code, is a diagonal given by its vector) of a chain's plan."""
        if shared and target not in _leaves(plan) and not isinstance(plan, int):
            interval = _interval(chain, plan)
            if interval in self.memo:       # the same partial product computed before
                return self.memo[interval], False
            code, diagonal = self._plan_code(chain, plan, None, scale, sign, shared=False)
            if not diagonal:
                self.memo[interval] = code
            return code, diagonal
        if isinstance(plan, int):
            f = chain[plan]
            diagonal = _is_diagonal(f)
            code = self.code(_diagonal_of(f) if diagonal else f)
            if plan == target:
                code = f"{sign}{scale} * {paren(code)}" if scale else f"-{paren(code)}"
            return code, diagonal
        left_plan, right_plan, reuse = plan
        right_expr = _interval(chain, right_plan)
        right, right_diag = self._plan_code(chain, right_plan, target, scale, sign)
        if reuse:
            if not _atom_name(right):
                right = self.memo[right_expr] = self.assign(right)
            left, left_diag = self.dialect.transpose(paren(right)), False
        else:
            left, left_diag = self._plan_code(chain, left_plan, target, scale, sign)
        left, right = paren(left), paren(right)
        if left_diag and right_diag:
            return f"{left} * {right}", True
        if left_diag:
            return f"{left} * {right}", False
        if right_diag:
            return f"{left} * {self.dialect.transpose(right)}", False
        return self.dialect.matmul(left, right), False

    def _trace_or_diagonal(self, e: E.Expr) -> str:
        """tr(A B) as sum(A * B^T) and diag(A B) as its row sums: no product is formed."""
        q, scalars, chain = E.mul_parts(e.args[0])
        d = self.dialect
        if len(chain) < 2 or scalars or q != 1 or any(_is_diagonal(f) for f in chain):
            inner = self.code(e.args[0])
            if e.op == "tr":
                return d.template(OPERATORS["tr"]).format(inner)
            return d.template(OPERATORS["diagv"]).format(inner)
        split = min(range(1, len(chain)), key=lambda s: chain_plan(self.cost, list(chain[:s]))[0]
                    + chain_plan(self.cost, list(chain[s:]))[0])
        left = self.code(E.mul(*chain[:split]))
        right = self.code(E.mul(*chain[split:]))
        entries = f"{paren(left)} * {d.transpose(paren(right))}"
        return d.total(entries) if e.op == "tr" else d.total(entries, axis=1)

    # ------------------------------------------------------------ tensors
    def tensor(self, jacobian: E.Expr, f_axes: tuple, v_axes: tuple, order: list) -> str:
        """The tensor whose vec form is `jacobian`, its axes (f_axes + v_axes) in `order`."""
        try:
            return _TensorLowering(self).code(jacobian, f_axes, v_axes, order)
        except Unsupported:
            d = self.dialect
            body = self.code(jacobian)
            sizes = ", ".join(self.dim(s) for s in f_axes + v_axes)
            permutation = ", ".join(str(k) for k in order)
            reshaped = f"{paren(body)}.reshape(({sizes},), order=\"F\")"
            if d.name == "torch":
                # torch reshapes in C order: reverse the axes, reshape, and reverse back
                reverse = ", ".join(str(s) for s in reversed(range(len(order))))
                reshaped = (f"{paren(body)}.T.reshape(({', '.join(self.dim(s) for s in reversed(f_axes + v_axes))},))"
                            f".permute({reverse})")
            if order != sorted(order):
                reshaped = f"{reshaped}.transpose({permutation})" if d.name != "torch" \
                    else f"{reshaped}.permute({permutation})"
            return d.contiguous(reshaped)


def _scaled(code: str, sign: str, scale: str) -> str:
    if scale == "1":
        return f"-{paren(code)}"
    return f"{sign}{scale} * {paren(code)}"


def _signed(terms: list) -> str:
    text = ""
    for negative, code in terms:
        if not text:
            text = f"-{paren(code)}" if negative else code
        else:
            text += f" - {paren(code)}" if negative else f" + {code}"
    return text


def _symmetric(e: E.Expr) -> bool:
    """Whether e is a symmetric matrix by construction: a symmetric symbol, I, diag(v), and
    what keeps symmetry (inverses, powers, entrywise functions, sums and Hadamard products of
    symmetric matrices; X^T S X and other palindromic chains)."""
    if e.is_scalar or e.shape[0] != e.shape[1]:
        return False
    op = e.op
    if op in ("I", "diagm") or (op == "sym" and e.kind == "symmetric"):
        return True
    if op == "let":
        return _symmetric(e.args[0])
    if op in ("inv", "mpow", "fn"):
        return _symmetric(e.args[0])
    if op in ("add", "had"):
        return all(a.is_scalar or _symmetric(a) for a in e.args)
    if op == "mul":
        _, _, chain = E.mul_parts(e)
        mirrored = [E.transpose(f) for f in reversed(chain)]
        return all(a is b for a, b in zip(chain, mirrored)) or (len(chain) == 1 and _symmetric(chain[0]))
    return False


def _mirrored(left: tuple, right: tuple) -> bool:
    """Whether the product of `left` is the transpose of the product of `right`, a symmetric
    factor being its own transpose."""
    mirror = [f if _symmetric(f) else E.transpose(f) for f in reversed(right)]
    return all(a is b for a, b in zip(left, mirror))


def _leaves(plan) -> set:
    if isinstance(plan, int):
        return {plan}
    return _leaves(plan[0]) | _leaves(plan[1])


def _interval(chain, plan) -> E.Expr:
    leaves = sorted(_leaves(plan))
    return E.mul(*chain[leaves[0]:leaves[-1] + 1])


def _single_use_leaves(plan) -> set:
    """The chain factors a plan computes once (not inside a reused transpose)."""
    if isinstance(plan, int):
        return {plan}
    left, right, reuse = plan
    if reuse:
        return set()
    return _single_use_leaves(left) | _single_use_leaves(right)


def _cheap(node: E.Expr) -> bool:
    return node.op in ("sym", "num", "dim", "let") or (node.op == "T" and node.args[0].op in ("sym", "let"))


def _atom_name(text: str) -> bool:
    return text.replace(".T", "").replace("_", "a").isalnum() and not text[:1].isdigit()


def number_code(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    return f"{q.numerator} / {q.denominator}"


class _Term:
    """One einsum term: coefficient, scalar factors, array factors with their index labels,
    and identifications of labels (Kronecker deltas)."""

    __slots__ = ("coefficient", "scalars", "factors", "deltas", "labels")

    def __init__(self, coefficient=Fraction(1), scalars=(), factors=(), deltas=(), labels=()):
        self.coefficient = coefficient
        self.scalars = list(scalars)
        self.factors = list(factors)
        self.deltas = list(deltas)
        self.labels = set(labels)

    def times(self, other: "_Term") -> "_Term":
        return _Term(self.coefficient * other.coefficient, self.scalars + other.scalars,
                     self.factors + other.factors, self.deltas + other.deltas, self.labels | other.labels)


class _TensorLowering:
    """A vec form as a sum of einsum terms.  Each axis of a matrix in the vec world is a list
    of index labels, the major one first (C order): vec(M) of an r x c matrix has the axis
    [column, row]; kron(A, B) has A's labels, then B's."""

    def __init__(self, program: Program):
        self.program = program
        self.sizes: dict = {}
        self.tensorish: dict = {}

    def label(self, size) -> int:
        label = len(self.sizes)
        self.sizes[label] = size
        return label

    def labels(self, sizes: list) -> list:
        return [self.label(s) for s in sizes]

    # ------------------------------------------------------------ structure
    def is_tensorish(self, e: E.Expr) -> bool:
        found = self.tensorish.get(e)
        if found is None:
            found = (e.op in ("kron", "vec", "comm")
                     or any(isinstance(d, str) and "*" in d for d in e.shape)
                     or any(self.is_tensorish(a) for a in e.args))
            self.tensorish[e] = found
        return found

    def natural(self, e: E.Expr):
        """(row sizes, column sizes) of e's axes as label lists, or None where e takes any
        split (an identity or ones of a product size)."""
        if e.is_scalar:
            return [], []
        op = e.op
        if op in ("I", "ones", "zero") and any(isinstance(d, str) and "*" in d for d in e.shape):
            return None
        if not self.is_tensorish(e) or op in ("I", "ones", "zero"):
            return [d for d in e.shape[:1] if d != 1], [d for d in e.shape[1:] if d != 1]
        if op == "kron":
            parts = [self.natural(a) for a in e.args]
            if any(p is None for p in parts):
                return None
            return [s for p in parts for s in p[0]], [s for p in parts for s in p[1]]
        if op == "vec":
            inner = self.natural(e.args[0])
            return None if inner is None else (inner[1] + inner[0], [])
        if op == "comm":
            rows, cols = e.value
            return [rows, cols], [cols, rows]
        if op == "T":
            inner = self.natural(e.args[0])
            return None if inner is None else (inner[1], inner[0])
        if op == "diagm":
            inner = self.natural(e.args[0])
            return None if inner is None else (inner[0], inner[0])
        if op == "mul":
            _, _, chain = E.mul_parts(e)
            first, last = self.natural(chain[0]), self.natural(chain[-1])
            if first is None or last is None:
                return None
            return first[0], last[1]
        if op == "mpow":
            return self.natural(e.args[0])
        if op == "add":
            for term in e.args:
                found = self.natural(term)
                if found is not None:
                    return found
            return None
        raise Unsupported(op)

    # ------------------------------------------------------------ lowering
    def lower(self, e: E.Expr, rows: list, cols: list) -> list:
        """e as einsum terms whose row axis is the labels `rows` and column axis `cols`."""
        op = e.op
        if e.is_scalar:
            q, scalars, chain = E.mul_parts(e)
            if chain:
                scalars = scalars + (E.mul(*chain),)
            return [_Term(q, scalars, labels=rows + cols)]
        if op == "zero":
            return []
        if op == "ones":
            return [_Term(labels=rows + cols)]
        if op == "I":
            return [_Term(deltas=self._pairs(rows, cols), labels=rows + cols)]
        if not self.is_tensorish(e):
            if len(rows) > 1 or len(cols) > 1:
                raise Unsupported("a dense factor split")
            return [_Term(factors=[(e, rows + cols)], labels=rows + cols)]
        if op == "add":
            return [t for term in e.args for t in self.lower(term, rows, cols)]
        if op == "T":
            return self.lower(e.args[0], cols, rows)
        if op == "comm":
            r, c = self._split(rows, [e.value[0], e.value[1]]), self._split(cols, [e.value[1], e.value[0]])
            return [_Term(deltas=[(r[0], c[1]), (r[1], c[0])], labels=rows + cols)]
        if op == "vec":
            natural = self.natural(e.args[0])
            if natural is None:
                raise Unsupported("vec of a flexible")
            k = len(natural[1])
            return self.lower(e.args[0], rows[k:], rows[:k])
        if op == "diagm":
            terms = self.lower(e.args[0], rows, [])
            for t in terms:
                t.deltas += self._pairs(rows, cols)
                t.labels |= set(cols)
            return terms
        if op == "kron":
            parts = [self.natural(a) for a in e.args]
            if any(p is None for p in parts):
                raise Unsupported("kron of a flexible")
            pieces = []
            r_at = c_at = 0
            for a, (r, c) in zip(e.args, parts):
                pieces.append(self.lower(a, rows[r_at:r_at + len(r)], cols[c_at:c_at + len(c)]))
                r_at, c_at = r_at + len(r), c_at + len(c)
            if r_at != len(rows) or c_at != len(cols):
                raise Unsupported("kron split")
            return self._products(pieces)
        if op == "mul":
            q, scalars, chain = E.mul_parts(e)
            terms = self.chain(list(chain), rows, cols)
            for t in terms:
                t.coefficient *= q
                t.scalars += list(scalars)
            return terms
        if op == "mpow" and e.args[1].op == "num" and e.args[1].value.denominator == 1 \
                and e.args[1].value >= 1:
            return self.chain([e.args[0]] * int(e.args[1].value), rows, cols)
        raise Unsupported(op)

    def chain(self, chain: list, rows: list, cols: list) -> list:
        naturals = [self.natural(f) for f in chain]
        boundaries = []
        for i in range(len(chain) - 1):
            left = naturals[i][1] if naturals[i] is not None else None
            right = naturals[i + 1][0] if naturals[i + 1] is not None else None
            if left is not None and right is not None and left != right:
                raise Unsupported("chain split")
            sizes = left if left is not None else right
            if sizes is None:
                raise Unsupported("two flexible neighbours")
            boundaries.append(self.labels(sizes))
        axes = [rows] + boundaries + [cols]
        pieces = [self.lower(f, axes[i], axes[i + 1]) for i, f in enumerate(chain)]
        terms = self._products(pieces)
        for b in boundaries:
            for t in terms:
                t.labels |= set(b)
        return terms

    def _products(self, pieces: list) -> list:
        count = 1
        for p in pieces:
            count *= len(p)
        if count > MAX_TERMS:
            raise Unsupported("too many terms")
        terms = []
        for combination in cartesian(*pieces):
            term = _Term()
            for t in combination:
                term = term.times(t)
            terms.append(term)
        return terms

    def _pairs(self, rows: list, cols: list) -> list:
        if [self.sizes[r] for r in rows] != [self.sizes[c] for c in cols]:
            raise Unsupported("identity between different splits")
        return list(zip(rows, cols))

    def _split(self, labels: list, sizes: list) -> list:
        if [self.sizes[label] for label in labels] != [s for s in sizes if s != 1]:
            raise Unsupported("split")
        return labels

    # ------------------------------------------------------------ code
    def code(self, jacobian: E.Expr, f_axes: tuple, v_axes: tuple, order: list) -> str:
        f_labels, v_labels = self.labels(list(f_axes)), self.labels(list(v_axes))
        natural = self.natural(jacobian)
        rows, cols = f_labels[::-1], v_labels[::-1]
        if natural is not None and ([self.sizes[r] for r in rows] != natural[0]
                                    or [self.sizes[c] for c in cols] != natural[1]):
            raise Unsupported("the vec form's axes")
        terms = self.lower(jacobian, rows, cols)
        out = [(f_labels + v_labels)[k] for k in order]
        program, d = self.program, self.program.dialect
        shape = [program.dim(self.sizes[label]) for label in out]
        pieces = [self._term_code(t, out) for t in terms]
        pieces = [p for p in pieces if p is not None]
        if not pieces:
            return d.zeros(shape)
        if len(pieces) == 1 and pieces[0][0] is None and pieces[0][2]:
            return d.contiguous(pieces[0][1])
        target = program.names.temporary("out")
        first_full = next((p for p in pieces if p[0] is None and p[2]), None)
        if first_full is not None:
            program.lines.append(f"{target} = {d.contiguous(first_full[1])}")
            pieces.remove(first_full)
        else:
            program.lines.append(f"{target} = {d.zeros(shape)}")
        fresh = first_full is None      # the target is zeros: the first diagonal part is assigned
        for spec, value, _ in pieces:
            if fresh and spec is not None and d.name == "numpy":
                program.lines.append(f"np.einsum({spec!r}, {target})[...] = {value}")
            else:
                program.lines.append(d.accumulate(target, spec, value))
            fresh = False
        return target

    def _term_code(self, term: _Term, out: list):
        """(diagonal spec or None, code of the term's values, covers the whole output) of one
        term, its labels in the order of `out`."""
        parent = {}

        def find(label):
            while parent.get(label, label) != label:
                label = parent[label]
            return label
        for a, b in term.deltas:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
        program, d = self.program, self.program.dialect
        out_reps = [find(label) for label in out]
        unique = list(dict.fromkeys(out_reps))
        factor_labels = [[find(label) for label in labels] for _, labels in term.factors]
        present = {label for labels in factor_labels for label in labels}
        # a label no factor and no output has sums ones: a factor of its size
        free = {find(label) for label in term.labels} - present - set(unique)
        scale_parts = [program.dim(self.sizes[label]) for label in sorted(free)]
        scale_parts += [paren(program.code(s)) for s in term.scalars]
        q = term.coefficient
        if q == 0:
            return None
        if abs(q) != 1 or not scale_parts:
            scale_parts.insert(0, paren(number_code(abs(q))))
        scale = " * ".join(scale_parts)
        sign = "-" if q < 0 else ""
        if len(unique) + len(present - set(unique)) > len(_LETTERS):
            raise Unsupported("too many indices")
        letter = {}
        for label in unique + sorted(present - set(unique)):
            letter[label] = _LETTERS[len(letter)]
        codes = []
        for (factor, _), labels in zip(term.factors, factor_labels):
            code = program.code(factor)
            codes.append(d.flat(paren(code)) if len(labels) == 1 else code)
        kept = [u for u in unique if u in present]
        if term.factors:
            spec = ",".join("".join(letter[label] for label in labels) for labels in factor_labels)
            spec += "->" + "".join(letter[u] for u in kept)
            scaling = scale != "1" or sign
            factor_sizes = [program.cost.entries(factor) for factor, _ in term.factors]
            result_size = 1
            for u in kept:
                result_size *= program.cost.dim(self.sizes[u])
            # the number goes to the smallest factor or the result, whichever is smaller
            smallest = min(range(len(codes)), key=factor_sizes.__getitem__)
            on_factor = scaling and factor_sizes[smallest] < result_size
            if on_factor:
                codes[smallest] = _scaled(codes[smallest], sign, scale)
            value = self._contraction(spec, codes, factor_labels, kept, letter)
            if scaling and not on_factor:
                value = _scaled(value, sign, scale)
        else:
            value = f"{sign}{scale}"
        if len(kept) < len(unique):
            missing_first = [u for u in unique if u not in present] + kept
            if kept and missing_first != unique:     # leading new axes broadcast by themselves
                index = ", ".join(":" if u in present else "None" for u in unique)
                value = f"{paren(value)}[{index}]"
        covers = len(kept) == len(unique) == len(out)
        spec = None if len(unique) == len(out) else \
            "".join(letter[r] for r in out_reps) + "->" + "".join(letter[u] for u in unique)
        return spec, value, covers

    def _contraction(self, spec: str, codes: list, factor_labels: list, kept: list, letter: dict) -> str:
        """An einsum, or a plain broadcast product where no index is summed (an outer product)."""
        d = self.program.dialect
        counts = Counter(label for labels in factor_labels for label in labels)
        summed = any(label not in kept for label in counts) or any(c > 1 for c in counts.values()) \
            or any(len(set(labels)) < len(labels) for labels in factor_labels)
        if len(codes) == 1 and not summed and [letter[u] for u in kept] == list(spec.split("->")[0]):
            return codes[0]
        if summed:
            return d.einsum(spec, codes)
        broadcast = []
        for code, labels in zip(codes, factor_labels):
            ordered = sorted(labels, key=kept.index)
            if ordered != labels:
                permutation = ", ".join(str(labels.index(label)) for label in ordered)
                code = f"{paren(code)}.transpose({permutation})" if d.name != "torch" \
                    else f"{paren(code)}.permute({permutation})"
            index = ", ".join(":" if label in labels else "None" for label in kept)
            broadcast.append(f"{paren(code)}[{index}]" if len(labels) < len(kept) else code)
        return " * ".join(paren(b) for b in broadcast)
