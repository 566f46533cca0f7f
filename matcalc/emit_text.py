"""Emit text: Expr -> the expression language, with as few parentheses as parse back the same.

Contract: for expressions built from user input, `parse(to_text(e))` (with the
same declarations) gives `e` again.  Precedence levels follow SYNTAX.md:
sum < product < prefix minus < power < postfix < atom.
"""
from __future__ import annotations

from fractions import Fraction

from .expr import elementwise_power, mul, mul_parts, neg, number, postorder, power

SUM, PRODUCT, PREFIX, POWER, POSTFIX, ATOM = range(6)


def _is_reciprocal(e) -> bool:
    """1 / a prints as a denominator of its product, never as itself."""
    return e.op == "pow" and e.args[1].op == "num" and e.args[1].value < 0


def _is_ones_column(e) -> bool:
    return e.op == "ones" and e.shape[1] == 1

_FUNCTION_NAMES = {"tr": "tr", "det": "det", "logdet": "logdet", "sum": "sum",
                   "softmax": "softmax", "logsumexp": "logsumexp", "diagm": "diag", "diagv": "diag",
                   "vec": "vec"}


SHARED_SIZE = 6


def to_text(e, statements: bool = True) -> str:
    """The expression; subexpressions it repeats are named first: `u1 = ...; u2 = ...; body`.
    With statements=False, intermediates print by name only and nothing else is named."""
    if not statements:
        return _Printer({n: n.value for n in postorder(e) if n.op == "let"}).text(e)[0]
    order = postorder(e)
    shared = _shared(e, order)
    names = {n: n.value for n in order if n.op == "let"}
    if not shared and not names:
        return _Printer().text(e)[0]
    taken = {n.value[0] for n in order if n.op == "sym"} | set(names.values())
    counter = 0
    for node in order:
        if node in shared and node not in names:
            counter += 1
            while f"u{counter}" in taken:
                counter += 1
            names[node] = f"u{counter}"
    printer = _Printer(names)
    definitions = [f"{names[n]} = {printer.text(n.args[0] if n.op == 'let' else n, defining=True)[0]}"
                   for n in order if n in names]
    return "; ".join(definitions + [printer.text(e)[0]])


def _shared(e, order) -> set:
    """Nodes printed more than once, large enough to be worth a name."""
    counts = {e: 1}
    named = set()
    for node in reversed(order):
        count = counts.get(node, 0)
        if node.op == "let":
            count = min(count, 1)      # a definition is printed once, in its statement
        elif count >= 2 and node.size >= SHARED_SIZE and node.op not in ("sym", "num") \
                and not _is_reciprocal(node):
            named.add(node)
            count = 1
        for a in node.args:
            counts[a] = counts.get(a, 0) + count
    return named


def _number(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def join_terms(e, show) -> str:
    """A sum as `a + b - c`, a positive term first where there is one."""
    terms = list(e.args)
    positive = [t for t in terms if mul_parts(t)[0] > 0]
    if positive and mul_parts(terms[0])[0] < 0:
        terms.remove(positive[0])
        terms.insert(0, positive[0])
    pieces = []
    for i, term in enumerate(terms):
        if i and mul_parts(term)[0] < 0:
            pieces.append(" - " + show(neg(term)))
        else:
            pieces.append((" + " if i else "") + show(term))
    return "".join(pieces)


class _Printer:
    def __init__(self, names: dict | None = None):
        self.memo: dict = {}
        self.names = names or {}
        self.norm_depth = 0

    def text(self, e, defining: bool = False) -> tuple[str, int]:
        """(text, precedence level of its outermost operator)."""
        if e in self.names and not defining:
            return self.names[e], ATOM
        if defining:
            return getattr(self, "_" + e.op)(e)
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = getattr(self, "_" + e.op)(e)
        return found

    def at(self, e, level: int) -> str:
        text, own = self.text(e)
        return text if own >= level else f"({text})"

    # leaves
    def _sym(self, e):
        return e.value[0], ATOM

    def _num(self, e):
        q = e.value
        if q < 0:
            return "-" + _number(-q), PREFIX
        return _number(q), ATOM if q.denominator == 1 else PRODUCT

    def _I(self, e):
        return "I", ATOM

    def _ones(self, e):
        if e.shape[1] == 1:
            return "1", ATOM
        if e.shape[0] == 1:
            return "1^T", POSTFIX
        return "1 1^T", PRODUCT

    def _zero(self, e):
        return "0", ATOM

    def _dim(self, e):
        return "tr(I)", ATOM

    def _d(self, e):
        inner = e.args[0]
        if inner.op == "sym":
            return "d" + inner.value[0], ATOM
        return f"d({self.text(inner)[0]})", ATOM

    # sums and products
    def _add(self, e):
        return join_terms(e, lambda t: self.at(t, PRODUCT)), SUM

    def _mul(self, e):
        q, scalars, chain = mul_parts(e)
        numerator, denominator = [], []
        for s in scalars:
            if s.op == "pow" and s.args[1].op == "num" and s.args[1].value < 0:
                denominator.append(power(s.args[0], number(-s.args[1].value)))
            else:
                numerator.append(s)
        words = []
        if q.denominator != 1 and not numerator and not chain and not denominator:
            return _number(q) if q > 0 else "-" + _number(-q), PRODUCT if q > 0 else PREFIX
        if abs(q) != 1 or (not numerator and not chain):
            words.append(_number(abs(q)))
        for s in numerator:
            words.append(self._scalar_factor(s))
        chain_words = [self.at(f, POWER) if f.op != "mul" else f"({self.text(f)[0]})" for f in chain]
        if words and chain and _is_ones_column(chain[0]):
            # `2 1 u^T` would read as (2 * 1) u^T: the ones vector must lead its own product
            chain_words = ["(1^T)^T"] if len(chain) == 1 else ["(" + " ".join(chain_words) + ")"]
        words.extend(chain_words)
        if self.norm_depth:
            # inside ||...||, bars after an operand would close the norm: `||2 (||x||) x||`
            words = [w if i == 0 or not w.startswith("||") else f"({w})" for i, w in enumerate(words)]
        text = " ".join(words)
        if denominator:
            below = mul(*denominator)
            below_text = self.text(below)[0]
            if not (below.op in ("sym", "num") or self.text(below)[1] >= POWER):
                below_text = f"({below_text})"
            text = f"{text} / {below_text}"
        if q < 0:
            return "-" + text, PREFIX
        return text, PRODUCT

    def _scalar_factor(self, s) -> str:
        text, level = self.text(s)
        if s.op == "mul" or level < POWER:
            return f"({text})"
        return text

    def _had(self, e):
        pieces = []
        for i, f in enumerate(e.args):
            if i and f.op == "epow" and f.args[1].op == "num" and f.args[1].value < 0:
                pieces.append(" ./ " + self.at(elementwise_power(f.args[0], number(-f.args[1].value)), POWER))
            else:
                pieces.append((" .* " if i else "") + self.at(f, POWER))
        return "".join(pieces), PRODUCT

    def argument(self, e) -> str:
        """An operand of a function: a ones vector there must not read as the number 1."""
        return "(1^T)^T" if _is_ones_column(e) else self.text(e)[0]

    def _kron(self, e):
        # kron takes two arguments: A ⊗ B ⊗ C is written kron(A, kron(B, C))
        text = self.argument(e.args[-1])
        for f in reversed(e.args[:-1]):
            text = f"kron({self.argument(f)}, {text})"
        return text, ATOM

    # postfix and powers
    def _T(self, e):
        inner = e.args[0]
        if inner.op == "inv":
            return f"inv({self.text(inner.args[0])[0]})^T", POSTFIX
        return self.at(inner, POSTFIX) + "^T", POSTFIX

    def _inv(self, e):
        inner = e.args[0]
        if self.text(inner)[1] >= POSTFIX:
            return self.at(inner, POSTFIX) + "^-1", POSTFIX
        return f"inv({self.text(inner)[0]})", ATOM

    def _exponent(self, p) -> str:
        if p.op == "num":
            q = p.value
            if q.denominator == 1:
                return str(q.numerator)
            return f"({_number(q)})" if q > 0 else f"(-{_number(-q)})"
        return self.at(p, ATOM)

    def _pow(self, e):
        base, p = e.args
        if p.op == "num" and p.value < 0:
            return "1 / " + self.at(power(base, number(-p.value)), POWER), PRODUCT
        return f"{self.at(base, POSTFIX)}^{self._exponent(p)}", POWER

    def _mpow(self, e):
        return f"{self.at(e.args[0], POSTFIX)}^{self._exponent(e.args[1])}", POWER

    def _epow(self, e):
        base, p = e.args
        if p.op == "num" and p.value < 0:
            return "1 ./ " + self.at(elementwise_power(base, number(-p.value)), POWER), PRODUCT
        return f"{self.at(base, POSTFIX)} .^ {self._exponent(p)}", POWER

    # functions
    def _fn(self, e):
        return f"{e.value}({self.argument(e.args[0])})", ATOM

    def _call(self, e):
        return f"{_FUNCTION_NAMES[e.op]}({self.argument(e.args[0])})", ATOM

    _tr = _det = _logdet = _sum = _softmax = _logsumexp = _diagm = _diagv = _vec = _call

    def _comm(self, e):
        rows, cols = e.value
        return f"commutation({rows}, {cols})", ATOM

    def _norm(self, e):
        suffix = {"2": "", "F": "_F", "1": "_1"}[e.value]
        self.norm_depth += 1
        inner = self._fresh(e.args[0])
        self.norm_depth -= 1
        return f"||{inner}||{suffix}", ATOM

    def _fresh(self, e) -> str:
        """Text printed in the current context (inside a norm), not taken from the memo."""
        saved, self.memo = self.memo, {}
        try:
            return self.argument(e)
        finally:
            self.memo = saved

    def _entry(self, e):
        i, j = e.value
        inner = e.args[0]
        index = str(i) if inner.shape[1] == 1 else (str(j) if inner.shape[0] == 1 else f"{i}, {j}")
        return f"{self.at(inner, POSTFIX)}[{index}]", POSTFIX

    def _lit(self, e):
        rows, cols = e.shape
        return "[" + "; ".join(", ".join(self.text(e.args[r * cols + c])[0] for c in range(cols))
                               for r in range(rows)) + "]", ATOM
