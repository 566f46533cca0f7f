"""Emit text: Expr -> the expression language, with as few parentheses as parse back the same.

Contract: for expressions built from user input, `parse(to_text(e))` (with the
same declarations) has the value of `e`.  Precedence levels follow SYNTAX.md:
sum < product < prefix minus < power < postfix < atom.

Sizes: the language writes `I`, `1` and `0` without a size, and reading text back
infers the size of `I` and `1` from what they meet (`A 1`, `1^T x`, `I + A`) while
`0` is always the number.  So a constant whose size its neighbours do not fix is
spelled with a symbol of that size: the ones vector of x as `x .^ 0`, the identity
as `Y^0` or `diag(x .^ 0)`, the zero vector as `0 x`, the size n as `tr(Y^0)` or
`sum(x .^ 0)`.  Two
sizes are left to the reader, who has the shape on the next line: the outermost
shape of the whole text (`2 I` stays `2 I`, a result that is zero is `0`), and the
sizes of `I` and `1` inside a Kronecker product or a vec (`A ⊗ I` written as a call),
which reading back may leave unknown (an error when evaluated, never another
value); spelled out they would bury the vec forms they occur in (`sized=True` spells
them, for the vec form whose bare text would not read back).  The same holds for
a result that is a multiple of the ones vector: `c 1` reads back as the number c,
equal to the result once broadcast to the shape stated beside it (as `0` is).

One spelling: an inverse is written one way throughout a text, `inverse="postfix"`
(`X^-1`, `(A B)^-1`, `X^-T`) or `inverse="call"` (`inv(X)`, `inv(A B)`,
`inv(X)^T`); a result takes the spelling its input used (`inverse_spelling`).

Display: a product whose factors are mostly transposes is written as the transpose of
the reversed product where that reads shorter (`display_cost`: `-(X^-1 C A X^-1)^T` for
`-X^-T A^T C^T X^-T`, `kron(A, B)^T` for `kron(A^T, B^T)`); it reads back as
the same canonical expression, since the constructors push the transpose back in.
"""
from __future__ import annotations

import re
from fractions import Fraction

from . import ops
from .ops import ATOM, POSTFIX, POWER, PREFIX, PRODUCT, SUM
from .trees import mul_parts, postorder

FREE, FIXED = (False, False), (True, True)


def _is_reciprocal(e) -> bool:
    """1 / a prints as a denominator of its product, never as itself."""
    return e.op == "pow" and e.args[1].op == "num" and e.args[1].value < 0


def _is_ones_column(e) -> bool:
    return e.op == "ones" and e.shape[1] == 1


def _integer_power(e) -> bool:
    """X^k for a whole k > 1: its inverse is written X^-k."""
    return e.op == "mpow" and e.args[1].op == "num" and e.args[1].value.denominator == 1 and e.args[1].value > 1


def _may_transpose_outside_chain(chain) -> bool:
    """A matrix chain the display pass considers: two transposes or more, no constant whose
    size its neighbours give, not a number (whose orientation the constructors choose)."""
    return len(chain) >= 2 and sum(f.op == "T" or f.is_row for f in chain) >= 2 \
        and not (chain[0].shape[0] == 1 and chain[-1].shape[1] == 1) \
        and not any(f.op in ("I", "ones", "zero", "mul") for f in chain)


def _may_transpose_outside(e) -> bool:
    """A product, or Kronecker product with a transpose or ones column, that the display pass
    considers writing as a transpose."""
    if e.op == "mul":
        return _may_transpose_outside_chain(mul_parts(e)[2])
    return ops.of(e).shape == "outer" and any(f.op == "T" or _is_ones_column(f) for f in e.args)


def is_self_transposed(e) -> bool:
    """What the constructors keep without a transpose: a symmetric symbol, I, diag(v)."""
    return e.op in ("I", "diagm") or (e.op == "sym" and e.kind == "symmetric")


SHARED_SIZE = 6
INVERSE_SPELLINGS = ("postfix", "call")

# The lexical tokens of the language, as its grammar splits text (for choosing the shorter
# of two spellings; the printer must not load the parser)
_TOKEN = re.compile(r"\^\s*(?:-\s*[1T]|\(\s*-\s*[1T]\s*\))|\^T|\.\^|\.\*|\./|\|\|(?:_\w+)?"
                    r"|[^\W\d]\w*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\S")
_TRANSPOSE_MARK = re.compile(r"\^\s*(?:-\s*)?T(?![A-Za-z0-9_])|\^\(\s*-\s*T\s*\)")


def token_count(text: str) -> int:
    return len(_TOKEN.findall(text))


def display_cost(text: str) -> int:
    """What the display pass minimises: tokens, each transpose mark counting twice (a mark
    to read past, and the orientation to keep in mind): `(X^-1 C A X^-1)^T` (9 tokens, one
    mark) reads easier than `X^-T A^T C^T X^-T` (8 tokens, four marks)."""
    return token_count(text) + len(_TRANSPOSE_MARK.findall(text))


def inverse_spelling(program) -> str:
    """The spelling of the inverse a program (matcalc.syntax's Program) uses: "call" where
    it writes only inv(X), "postfix" (X^-1, the textbooks' spelling) otherwise."""
    if program is None or program.notation != "matcalc":
        return "postfix"
    roots = [d.node for d in program.definitions] + ([program.body] if program.body is not None else [])
    calls = postfix = 0
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):       # a literal's rows
            stack.extend(node)
            continue
        calls += node.op == "call" and node.value == "inv"
        postfix += node.op == "inverse"
        stack.extend(node.args)
    return "call" if calls and not postfix else "postfix"


def transposes_outside():
    """The text printer's choice, as a predicate on nodes: whether it writes a product (or
    Kronecker product) as a transpose.  The LaTeX printer follows it, so that both show one
    form."""
    return _Printer({}, ()).transposed_outside


def to_text(e, statements: bool = True, context=(), inverse: str = "postfix", sized: bool = False) -> str:
    """The expression; subexpressions it repeats are named first: `u1 = ...; u2 = ...; body`.
    With statements=False, intermediates print by name only and nothing else is named.
    `context`: further symbols (those of the function differentiated) whose sizes the text
    may use to spell a constant whose size nothing else fixes.  `inverse`: one of
    INVERSE_SPELLINGS, the one spelling of every inverse in the text.  `sized`: the
    constants inside a Kronecker product or a vec spelled with their sizes too, for the
    rare text whose bare `I`s leave reading back more than one way to fit them."""
    if inverse not in INVERSE_SPELLINGS:
        raise ValueError(f"the inverse is spelled {' or '.join(INVERSE_SPELLINGS)}, not {inverse!r}")
    order = postorder(e)
    symbols = [n for n in order if n.op == "sym"] + list(context)
    if not statements:
        return _Printer({n: n.value for n in order if n.op == "let"}, symbols, inverse, sized).top(e)
    shared = _shared(e, order)
    names = {n: n.value for n in order if n.op == "let"}
    if not shared and not names:
        return _Printer({}, symbols, inverse, sized).top(e)
    taken = {n.name for n in order if n.op == "sym"} | set(names.values())
    counter = 0
    for node in order:
        if node in shared and node not in names:
            counter += 1
            while f"u{counter}" in taken:
                counter += 1
            names[node] = f"u{counter}"
    printer = _Printer(names, symbols, inverse, sized)
    # a definition stands alone: nothing around it fixes the size of a constant in it
    definitions = [f"{names[n]} = " + (printer.text(n.args[0], FREE)[0] if n.op == "let"
                                       else printer.text(n, FREE, defining=True)[0])
                   for n in order if n in names]
    return "; ".join(definitions + [printer.top(e)])


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


SCIENTIFIC_ZEROS = 6      # 1/2000000 is 5e-7
INTEGER_DIGITS = 15       # integers up to this many digits are written out


def number_text(q: Fraction) -> str:
    """2, 1/3, 1000000; a small number with many zeros, or a long integer ending in
    zeros, in scientific notation where that is shorter, exactly as the language reads
    it: 2e-30, 25e20."""
    plain = str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"
    scale, digits = 0, q
    while digits.denominator != 1 and (digits * 10).denominator < digits.denominator:
        digits, scale = digits * 10, scale - 1           # 1 / (2^a 5^b): move the point right
    if digits.denominator != 1:
        return plain
    whole = digits.numerator
    while whole and whole % 10 == 0:
        whole, scale = whole // 10, scale + 1
    scientific = f"{whole}e{scale}"
    wanted = scale <= -SCIENTIFIC_ZEROS or len(plain) > INTEGER_DIGITS    # 1000000 stays
    return scientific if wanted and len(scientific) < len(plain) else plain


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
            pieces.append(" - " + show(term.negated()))
        else:
            pieces.append((" + " if i else "") + show(term))
    return "".join(pieces)


# ---------------------------------------------------------------- which sizes the text fixes

def _swapped(pair) -> tuple:
    return (pair[1], pair[0])


def _either(pair) -> tuple:
    both = pair[0] or pair[1]
    return (both, both)


def _atomic(dim) -> bool:
    return not (isinstance(dim, str) and "*" in dim)


class _Fixed:
    """Which of a node's two dimensions its printed text fixes by itself, when read back.

    `I` and `1` fix none (a dimension 1 is always fixed); a symbol fixes both;
    operators pass them on as the parser's shape inference does.  Constants inside
    a closed context (the argument of sum, tr, a norm, ...) are spelled with their
    size, so every scalar fixes itself; a Kronecker product and a vec count as fixed
    (the module's docstring says why)."""

    def __init__(self):
        self.memo: dict = {}

    def __call__(self, e) -> tuple:
        found = self.memo.get(e)
        if found is None:
            rows, cols = self._own(e)
            found = self.memo[e] = (rows or e.shape[0] == 1, cols or e.shape[1] == 1)
        return found

    def _own(self, e) -> tuple:
        op, operator = e.op, ops.of(e)
        if e.is_scalar or op in ("sym", "let", "zero", "comm", "lit") or operator.shape in ("outer", "stacked"):
            return FIXED
        if op in ("I", "ones"):
            return FREE
        if operator.shape == "broadcast":
            fixed = [self(a) for a in e.args if not a.is_scalar]
            return (any(f[0] for f in fixed), any(f[1] for f in fixed))
        if op == "mul":
            chain = mul_parts(e)[2]
            return (self(chain[0])[0], self(chain[-1])[1])
        if op == "T":
            rows, cols = self(e.args[0])
            return (cols, rows)
        if op == "mpow" or operator.shape == "square-same":
            return _either(self(e.args[0]))
        if op == "epow" or operator.shape in ("same", "column"):
            return self(e.args[0])
        if op == "diagm":
            rows = self(e.args[0])[0]       # diag(v): both sizes are the length of v
            return (rows, rows)
        if op == "diagv":
            return (any(self(e.args[0])), True)
        raise AssertionError(f"no size rule for {op}")


class _Sizes:
    """Spellings of constants of a given size, from the symbols in scope (SYNTAX.md has
    no sized `ones(n)`; these spellings read back with the size of the symbol).  A size no
    symbol in scope has is free, and its constants are written bare: `I`, `(1^T)^T`, `tr(I)`."""

    def __init__(self, symbols):
        self.columns: dict = {}     # dimension -> text of a ones column of that length
        self.shapes: dict = {}      # shape -> a symbol's name of exactly that shape
        self.squares: dict = {}     # dimension -> a square symbol's name: Y^0 is I
        ordered = sorted({s for s in symbols if s.op == "sym" and not s.is_scalar},
                         key=lambda s: (s.kind != "vector", s.name))
        for s in ordered:
            name, (rows, cols) = s.name, s.shape
            self.shapes.setdefault((rows, cols), name)
            self.shapes.setdefault((cols, rows), name + "^T")
            if s.kind == "vector":
                self.columns.setdefault(rows, f"{name} .^ 0")
            elif rows == cols:
                self.columns.setdefault(rows, f"diag({name}) .^ 0")
                self.squares.setdefault(rows, name)
            else:
                self.columns.setdefault(rows, f"({name} 1) .^ 0")
                self.columns.setdefault(cols, f"({name}^T 1) .^ 0")

    def known(self, dim) -> bool:
        if isinstance(dim, int) or dim in self.columns:
            return True
        return not _atomic(dim) and all(p.isdigit() or p in self.columns for p in dim.split("*"))

    def ones_column(self, dim) -> tuple[str, int]:
        if dim in self.columns:
            return self.columns[dim], POWER
        if isinstance(dim, int):
            return "[" + "; ".join("1" * dim) + "]", ATOM
        if self.known(dim):
            parts = [int(p) if p.isdigit() else p for p in dim.split("*")]
            text = self.ones_column(parts[-1])[0]
            for part in reversed(parts[:-1]):
                text = f"{ops.by_shape('outer').text}({self.ones_column(part)[0]}, {text})"
            return text, ATOM
        return "(1^T)^T", POSTFIX

    def ones(self, shape) -> tuple[str, int]:
        rows, cols = shape
        if cols == 1:
            return self.ones_column(rows)
        row = self._postfix(self.ones_column(cols)) + "^T" if self.known(cols) else "1^T"
        if rows == 1:
            return row, POSTFIX
        return f"{self._power(self.ones_column(rows))} {row}", PRODUCT

    def identity(self, dim) -> tuple[str, int]:
        if dim in self.squares:
            return f"{self.squares[dim]}^0", POWER
        return (f"diag({self.ones_column(dim)[0]})", ATOM) if self.known(dim) else ("I", ATOM)

    def zero(self, shape) -> tuple[str, int]:
        if shape in self.shapes:
            return "0 " + self.shapes[shape], PRODUCT
        return "0 " + self._power(self.ones(shape)), PRODUCT

    def size(self, dim) -> tuple[str, int]:
        if dim in self.squares:
            return f"tr({self.squares[dim]}^0)", ATOM
        return (f"sum({self.ones_column(dim)[0]})", ATOM) if self.known(dim) else ("tr(I)", ATOM)

    @staticmethod
    def _postfix(spelled) -> str:
        text, level = spelled
        return text if level >= POSTFIX else f"({text})"

    @staticmethod
    def _power(spelled) -> str:
        text, level = spelled
        return text if level >= POWER else f"({text})"


class _Printer:
    def __init__(self, names: dict, symbols, inverse: str = "postfix", sized: bool = False):
        self.memo: dict = {}
        self.names = names
        self.inverse = inverse
        self.inside_kron = FREE if sized else FIXED     # what fixes sizes in kron(...) and vec(...)
        self.norm_depth = 0
        self.fixed = _Fixed()
        self.sizes = _Sizes(symbols)
        self.outermost = None
        self.outside: dict = {}     # product or Kronecker product -> written as a transpose

    def top(self, e) -> str:
        """The whole text: its own shape is stated beside it, so a result that is zero is 0
        and a multiple of the ones vector is c 1 (the number c, broadcast)."""
        if e in self.names:
            return self.names[e]
        if e.op == "zero":
            return "0"
        if _is_ones_column(e):
            return "1"
        self.outermost = e
        return self.text(e, FIXED)[0]

    def transposed_outside(self, e) -> bool:
        """Whether the product (or Kronecker product) e is printed as a transpose."""
        if not _may_transpose_outside(e):
            return False
        self.text(e, FIXED)
        return self.outside.get(e, False)

    def text(self, e, context: tuple, defining: bool = False) -> tuple[str, int]:
        """(text, precedence level of its outermost operator); `context`: whether what is
        around e fixes its (rows, cols) when read back."""
        if e in self.names and not defining:
            return self.names[e], ATOM
        own = self.fixed(e)
        fixed = (own[0] or context[0], own[1] or context[1])
        if defining:
            return self._printed(e, fixed)
        key = (e, fixed)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self._printed(e, fixed)
        return found

    def _printed(self, e, fixed) -> tuple[str, int]:
        """A node by its own method, or by its operator's spelling as a call: name(argument)."""
        own = getattr(self, "_" + e.op, None)
        if own is not None:
            return own(e, fixed)
        operator = ops.of(e)
        if operator.arity == 0:
            return operator.text, ATOM
        if operator.arity is None:
            return self._nested_call(operator, e)
        return self._call(operator, e, fixed)

    def at(self, e, level: int, context: tuple) -> str:
        text, own = self.text(e, context)
        return text if own >= level else f"({text})"

    # leaves
    def _sym(self, e, fixed):
        return e.name, ATOM

    def _num(self, e, fixed):
        q = e.value
        if q < 0:
            return "-" + number_text(-q), PREFIX
        text = number_text(q)
        return text, PRODUCT if "/" in text else ATOM

    def _I(self, e, fixed):
        return ("I", ATOM) if all(fixed) else self.sizes.identity(e.shape[0])

    def _ones(self, e, fixed):
        if not all(fixed):
            return self.sizes.ones(e.shape)
        if e.shape[0] == 1:
            return "1^T", POSTFIX
        # a lone 1 reads as the number: only a product makes it a vector (see _mul)
        return "(1^T)^T", POSTFIX

    def _zero(self, e, fixed):
        return self.sizes.zero(e.shape)

    def _dim(self, e, fixed):
        return self.sizes.size(e.value)

    def _d(self, e, fixed):
        inner = e.args[0]
        if inner.op == "sym":
            return "d" + inner.name, ATOM
        return f"d({self.text(inner, fixed)[0]})", ATOM

    # sums and products
    def _add(self, e, fixed):
        def term(t):
            if _is_ones_column(t) and all(fixed):
                return "1"     # x + 1: the number broadcasts to the ones vector
            return self.at(t, PRODUCT, fixed)
        return join_terms(e, term), SUM

    def _chain_contexts(self, chain, fixed) -> list:
        """For each factor of a matrix chain, whether its neighbours fix its (rows, cols)."""
        inner = [self.fixed(a)[1] or self.fixed(b)[0] for a, b in zip(chain, chain[1:])]
        edges = [fixed[0], *inner, fixed[1]]
        return [(edges[i], edges[i + 1]) for i in range(len(chain))]

    def _mul(self, e, fixed):
        q, scalars, chain = mul_parts(e)
        numerator = [s for s in scalars if not _is_reciprocal(s)]
        denominator = len(numerator) < len(scalars)
        words = []
        if q.denominator != 1 and not numerator and not chain and not denominator:
            return number_text(q) if q > 0 else "-" + number_text(-q), PRODUCT if q > 0 else PREFIX
        if abs(q) != 1 or (not numerator and not chain):
            words.append(number_text(abs(q)))
        for s in numerator:
            words.append(self._scalar_factor(s))
        contexts = self._chain_contexts(chain, fixed) if chain else []
        chain_words = []
        for i, (f, context) in enumerate(zip(chain, contexts)):
            if _is_ones_column(f) and context[0] and (i or e.shape[1] != 1):
                # `A 1` and `1 u^T` read 1 as the ones vector, `1 u^T v` as the number
                chain_words.append("1")
            elif f.op == "mul":
                chain_words.append(f"({self.text(f, context)[0]})")
            elif f.op == "had" and len(chain) == 1:
                # all products share one level, left to right: `2 u .* x` is (2 u) .* x, the
                # same value, as the books write it
                chain_words.append(self.text(f, context)[0])
            else:
                chain_words.append(self.at(f, POWER, context))
        broadcast = e is self.outermost and len(chain) == 1 and _is_ones_column(chain[0])
        if broadcast:
            chain_words = ["1"]      # c 1: the number c, broadcast to the shape stated beside it
        elif chain_words:
            outside = self._chain_transposed(chain, fixed)
            if outside is not None and display_cost(outside) < display_cost(" ".join(chain_words)):
                self.outside[e] = True
                chain_words = [outside]
        if (words or q < 0) and chain_words and chain_words[0] == "1" and not broadcast:
            # `2 1 u^T` would read as (2 * 1) u^T, `-1 u^T` as (-1) u^T: the ones vector
            # must lead its own product
            chain_words = ["(" + " ".join(chain_words) + ")"]
        words.extend(chain_words)
        if self.norm_depth:
            # inside ||...||, bars after an operand would close the norm: `||2 (||x||) x||`
            words = [w if i == 0 or not w.startswith("||") else f"({w})" for i, w in enumerate(words)]
        text = " ".join(words)
        if denominator:
            below = e.denominator()
            below_text, below_level = self.text(below, FIXED)
            if not (below.op in ("sym", "num") or below_level >= POWER):
                below_text = f"({below_text})"
            text = f"{text} / {below_text}"
        if q < 0:
            return "-" + text, PREFIX
        return text, PRODUCT

    def _chain_transposed(self, chain, fixed) -> str | None:
        """A matrix chain whose factors are mostly transposes, written as the transpose of
        the reversed chain of their transposes: `(X C A)^T` for `A^T C^T X^T`; None
        where the display pass does not consider it."""
        if not _may_transpose_outside_chain(chain):
            return None
        factors = []          # (node, printed transposed), reversed
        for f in reversed(chain):
            if f.op == "T":
                factors.append((f.args[0], False))
            else:
                factors.append((f, not is_self_transposed(f)))
        own = [_swapped(self.fixed(f)) if flip else self.fixed(f) for f, flip in factors]
        inner = [a[1] or b[0] for a, b in zip(own, own[1:])]
        edges = [fixed[1], *inner, fixed[0]]
        words = []
        for i, (f, flip) in enumerate(factors):
            context = (edges[i], edges[i + 1])
            if flip:
                words.append(self._transposed(f, _swapped(context))[0])
            else:
                words.append(self.at(f, POWER, context))
        return "(" + " ".join(words) + ")^T"

    def _scalar_factor(self, s) -> str:
        text, level = self.text(s, FIXED)
        if s.op == "mul" or level < POWER:
            return f"({text})"
        return text

    def _had(self, e, fixed):
        pieces = []
        for i, f in enumerate(e.args):
            if i and f.op == "epow" and f.args[1].op == "num" and f.args[1].value < 0:
                pieces.append(" ./ " + self.at(f.reciprocal(), POWER, fixed))
            else:
                pieces.append((" .* " if i else "") + self.at(f, POWER, fixed))
        return "".join(pieces), PRODUCT

    def _nested_call(self, operator, e):
        # a call of two arguments: A ⊗ B ⊗ C is written as the call of A and the call of
        # B and C.  Its factors' sizes are left to the reader (see the module's docstring).
        inner = self.inside_kron
        plain = self._nested(operator, [self.text(f, inner)[0] for f in e.args])
        if not _may_transpose_outside(e):
            return plain, ATOM
        # (A ⊗ B)^T = A^T ⊗ B^T: kron(A, B)^T for kron(A^T, B^T), kron(1^T, I)^T for the
        # ones column, which has no shorter spelling of its own there
        inside = [self.text(f.args[0], inner)[0] if f.op == "T" else
                  (self.text(f, inner)[0] if is_self_transposed(f) else self._transposed(f, inner)[0])
                  for f in e.args]
        outside = self._nested(operator, inside) + "^T"
        if display_cost(outside) < display_cost(plain):
            self.outside[e] = True
            return outside, POSTFIX
        return plain, ATOM

    @staticmethod
    def _nested(operator, texts) -> str:
        text = texts[-1]
        for f in reversed(texts[:-1]):
            text = f"{operator.text}({f}, {text})"
        return text

    # postfix and powers
    def _T(self, e, fixed):
        return self._transposed(e.args[0], _swapped(fixed))

    def _transposed(self, inner, fixed) -> tuple[str, int]:
        """inner^T, where `fixed` says what fixes inner's own (rows, cols)."""
        if _is_ones_column(inner) and all(fixed):
            return "1^T", POSTFIX
        if inner.op == "inv" and self.inverse == "call":
            return f"inv({self.text(inner.args[0], _either(fixed))[0]})^T", POSTFIX
        if inner.op == "inv" and _integer_power(inner.args[0]):     # (X^-3)^T
            return f"({self.text(inner, fixed)[0]})^T", POSTFIX
        if inner.op == "inv":         # X^-T, (A B)^-T
            text, level = self.text(inner.args[0], _either(fixed))
            return (text if level >= POSTFIX else f"({text})") + "^-T", POSTFIX
        return self.at(inner, POSTFIX, fixed) + "^T", POSTFIX

    def _inv(self, e, fixed):
        inner = e.args[0]
        text, level = self.text(inner, _either(fixed))
        if self.inverse == "call":
            return f"inv({text})", ATOM
        if _integer_power(inner):        # X^-3, as the language reads it
            base, k = inner.args
            return f"{self.at(base, POSTFIX, _either(fixed))}^-{k.value}", POWER
        return (text if level >= POSTFIX else f"({text})") + "^-1", POSTFIX

    def _exponent(self, p) -> str:
        """An exponent is a number, a name or parenthesized (SYNTAX.md): `s^(sum(x))`."""
        if p.op == "num" and p.value >= 0 and p.value.denominator == 1:
            return str(p.value.numerator)
        text, level = self.text(p, FIXED)
        if (p.op == "sym" or p in self.names) and text != "T":   # s^T would be a transpose
            return text
        return f"({text})"

    def _pow(self, e, fixed):
        base, p = e.args
        if p.op == "num" and p.value < 0:
            return "1 / " + self.at(e.reciprocal(), POWER, FIXED), PRODUCT
        return f"{self.at(base, POSTFIX, FIXED)}^{self._exponent(p)}", POWER

    def _mpow(self, e, fixed):
        base = e.args[0]
        text, level = self.text(base, _either(fixed))
        if level < POSTFIX or self.inverse == "postfix" and (
                base.op == "inv" or base.op == "T" and base.args[0].op == "inv"):
            text = f"({text})"        # (X^-1)^2, not X^-1^2
        return f"{text}^{self._exponent(e.args[1])}", POWER

    def _epow(self, e, fixed):
        base, p = e.args
        if p.op == "num" and p.value < 0:
            return "1 ./ " + self.at(e.reciprocal(), POWER, fixed), PRODUCT
        return f"{self.at(base, POSTFIX, fixed)} .^ {self._exponent(p)}", POWER

    # functions
    def _call(self, operator, e, fixed):
        """name(argument); what fixes the argument's sizes follows from the shape rule: an
        elementwise function's surroundings fix them as its own, a square matrix's either
        size fixes both, and nothing outside a scalar of a vector or matrix (sum) fixes any."""
        argument = e.args[0]
        context = {"same": fixed, "column": fixed, "square-scalar": _either(self.fixed(argument)),
                   "stacked": self.inside_kron}.get(operator.shape, FREE)
        return f"{operator.text}({self.text(argument, context)[0]})", ATOM

    def _diagm(self, e, fixed):
        return f"diag({self.text(e.args[0], (fixed[0] or fixed[1], True))[0]})", ATOM

    def _diagv(self, e, fixed):
        square = fixed[0] or any(self.fixed(e.args[0]))
        return f"diag({self.text(e.args[0], (square, square))[0]})", ATOM

    def _comm(self, e, fixed):
        rows, cols = e.value
        return f"commutation({rows}, {cols})", ATOM

    def _norm(self, e, fixed):
        suffix = {"2": "", "F": "_F", "1": "_1"}[e.value]
        self.norm_depth += 1
        inner = self._fresh(e.args[0])
        self.norm_depth -= 1
        return f"||{inner}||{suffix}", ATOM

    def _fresh(self, e) -> str:
        """Text printed in the current context (inside a norm), not taken from the memo."""
        saved, self.memo = self.memo, {}
        try:
            return self.text(e, FREE)[0]
        finally:
            self.memo = saved

    def _entry(self, e, fixed):
        i, j = e.value
        inner = e.args[0]
        index = str(i) if inner.shape[1] == 1 else (str(j) if inner.shape[0] == 1 else f"{i}, {j}")
        return f"{self.at(inner, POSTFIX, FREE)}[{index}]", POSTFIX

    def _lit(self, e, fixed):
        rows, cols = e.shape
        return "[" + "; ".join(", ".join(self.text(e.args[r * cols + c], FIXED)[0] for c in range(cols))
                               for r in range(rows)) + "]", ATOM
