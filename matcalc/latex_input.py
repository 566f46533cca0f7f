"""Read LaTeX: math-mode text -> the same `Program` of syntax Nodes that matcalc text gives.

Contract: `parse_latex(text)` reads the LaTeX that matcalc prints (emit_latex.py, a
Derivative's `latex()` and `latex(equation=True)`) back to the same expression, and the
LaTeX of lecture notes as meant: \\mathbf{x}^\\top A \\mathbf{x}, \\|y - \\Phi\\theta\\|^2,
\\operatorname{tr}(X^\\top A X), \\frac{1}{2}, \\log\\det, \\odot, \\otimes, ^{-1}, Greek
commands.  Every Node carries its offsets into the LaTeX text, so later errors point there.
Anything else is refused with a MatcalcError at the command, never skipped.

What the typography says is kept: a bold lowercase name is a vector; where the text bolds
some names, a plain lowercase one is a scalar (as matcalc prints them).  An equation reads
as its right side, with its `where` definitions.  The grammar (grammar/latex.lark) is
built on first use only.
"""
from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from lark import Token, v_args

from . import ops
from .errors import ParseError, UnknownNameError
from .syntax import (Node, ToNodes, cached_lark, function_names, located, norm_node, offset_of,
                     parse_text, program_from, span_of)

# LaTeX's other words for the language's functions (\ln, \sgn, \sigma(, \operatorname{Tr})
_FUNCTION_WORDS = {word: op.call for op in ops.OPERATORS.values() for word in op.latex_words}
# \pi is the constant π (ops.CONSTANTS) unless bold: \boldsymbol{\pi} is the vector pi
_CONSTANT_LETTERS = {"pi": "π"}
_CONSTANT_NAMES = {letter: word for word, letter in _CONSTANT_LETTERS.items()}
_VARIANTS = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho"}
# `\hat{y}` is yhat: the spelling of the texts (SYNTAX.md), which matcalc prints as \hat{..}
HAT_SUFFIX = "hat"


class Bars:
    """Postlexer: a bar opens a norm (or absolute value) unless one is open and an operand
    just ended; \\left and \\right, \\lVert and \\rVert say which outright."""

    always_accept = ("NORM_BARS", "NORM_LEFT", "NORM_RIGHT", "ABS_BARS", "ABS_LEFT", "ABS_RIGHT")
    _operand_end = {"LETTER", "GREEK", "WORD", "BOLD_WORD", "NUMBER", "RPAR", "RSQB", "RBRACE",
                    "NORM_CLOSE", "ABS_CLOSE", "TRANSPOSE", "INVERSE", "INVERSE_TRANSPOSE", "SUBSCRIPT",
                    "_END_MATRIX"}

    def process(self, stream):
        depth = {"NORM": 0, "ABS": 0}
        previous = None
        for token in stream:
            kind, _, how = token.type.partition("_")
            if kind in depth and how in ("BARS", "LEFT", "RIGHT"):
                if how == "BARS":
                    closing = depth[kind] > 0 and previous in self._operand_end
                else:
                    closing = how == "RIGHT"
                depth[kind] += -1 if closing else 1
                token = Token.new_borrow_pos(f"{kind}_{'CLOSE' if closing else 'OPEN'}", token.value, token)
            previous = token.type
            yield token


_grammar = None


def grammar():
    global _grammar
    if _grammar is None:
        _grammar = cached_lark("latex.lark", start="start", postlex=Bars())
    return _grammar


def parse_latex(text: str):
    transformer = _LatexToNodes()
    try:
        (statements, body), _ = parse_text(text, "start", (grammar(), transformer))
    except ParseError as exc:
        offset = offset_of(text, exc.line, exc.column)
        if exc.message.startswith("unexpected"):
            hint = _hint(text, offset)
            if hint:
                exc.message = hint
                exc.args = (hint,)
        raise
    return program_from(text, statements, body, transformer, notation="latex",
                        implied_kinds=transformer.implied_kinds())


def _lowercase(name: str) -> bool:
    return name[:1].islower()


@v_args(meta=True, inline=True)
class _LatexToNodes(ToNodes):
    """The LaTeX grammar's aliases; the shared ones (add, mul, power, ...) are matcalc's own."""

    def __init__(self):
        super().__init__()
        self.bold_names: set = set()           # names written bold somewhere
        self.plain_names = Counter()           # name -> how often it is written plain
        self.bare_calls: set = set()     # ids of \log x, \det X: calls without parentheses

    def implied_kinds(self) -> dict:
        kinds = {name: "vector" for name in self.bold_names if _lowercase(name)}
        if self.bold_names:
            plain = {name for name, count in self.plain_names.items() if count > 0}
            kinds.update({name: "scalar" for name in plain - self.bold_names if _lowercase(name)})
        return kinds

    # ------------------------------------------------------------ statements
    def program(self, meta, *parts):
        *definitions, body = parts
        return definitions, body

    def equation(self, meta, _derivative, body, *definitions):
        return list(definitions), body

    def definition(self, meta, target, value):
        if target.op != "name":
            raise located(ParseError, "the left side of a definition is a name", target.start)
        return [("define", target.value, value, target.start)]

    def declaration(self, meta, target, *dims):
        """x \\in \\mathbb{R}^{n} is x: vector[n]; A \\in \\mathbb{R}^{n \\times m} is A: matrix[n,m];
        a \\in \\mathbb{R} is a: scalar (a size of 1 is a scalar's, as in matcalc)."""
        if target.op != "name":
            raise located(ParseError, r"what is declared \in \mathbb{R}^{..} is a name", target.start)
        sizes = tuple(_size(d) for d in dims)
        if sizes in ((), (1,), (1, 1)):
            kind, shape = "scalar", None
        elif len(sizes) == 1 or sizes[1] == 1:
            kind, shape = "vector", (sizes[0], 1)
        else:
            kind, shape = "matrix", sizes
        return [("declare", target.value, kind, shape, target.start)]

    def derivative(self, meta, *parts):
        return None

    def by(self, meta, partial, variable):
        return None

    # ------------------------------------------------------------ names
    def _name(self, token_or_meta, name, bold=False):
        node = self._node("name", token_or_meta, value=name)
        if bold:
            self.bold_names.add(name)
        else:
            self.plain_names[name] += 1
        return node

    def letter(self, meta, token):
        return self._name(token, str(token))

    def greek(self, meta, token):
        word = _VARIANTS.get(str(token)[1:], str(token)[1:])
        return self._name(token, _CONSTANT_LETTERS.get(word, word))

    def word(self, meta, token):
        return self._name(token, _braced(token))

    def bold_word(self, meta, token):
        return self._name(token, _braced(token), bold=True)

    def bold(self, meta, _command, inner):
        """\\mathbf{1} is the ones vector, \\mathbf{0} zero; otherwise every name inside is bold."""
        if inner.op == "number" and inner.value == 1:
            node = self._node("number", meta, value=Fraction(1))
            self.forced_ones[id(node)] = "vector"
            return node
        if inner.op == "number":
            return inner
        if inner.op == "name" and inner.value in _CONSTANT_NAMES:    # \boldsymbol{\pi}: the vector pi
            self.plain_names[inner.value] -= 1
            inner = Node("name", (), _CONSTANT_NAMES[inner.value], inner.start, inner.end, inner.at)
            self.plain_names[inner.value] += 1
        for name in _names_in(inner):
            self.plain_names[name] -= 1        # counted plain when read, inside this group
            self.bold_names.add(name)
        return inner      # itself, not a copy: notes on it (bare calls, ones) are kept by its id

    def hat(self, meta, _command, inner):
        if inner.op != "name":
            raise located(ParseError, r"\hat{..} puts a hat on a name, as in \hat{y}", inner.start)
        return self._renamed(inner, inner.value + HAT_SUFFIX, meta)

    def _renamed(self, node, name, meta):
        if self.plain_names[node.value] > 0:
            self.plain_names[node.value] -= 1
            self.plain_names[name] += 1
        elif node.value in self.bold_names:
            self.bold_names.add(name)
        return Node("name", (), name, span_of(meta)[0], span_of(meta)[1], node.start)

    def symbol(self, meta, core, subscript=None):
        if subscript is None:
            return core
        text = _subscript_text(subscript)
        if core.op != "name":
            raise located(ParseError, "a subscript belongs to a name, or to an entry of "
                                      r"\left( .. \right)", subscript.start_pos)
        if "," in text:
            indices = [part.strip() for part in text.split(",")]
            if core.value == "K" and core.value in self.bold_names and len(indices) == 2:
                return self._commutation(meta, indices, subscript)
            return self._entry(meta, core, indices, subscript)
        if re.fullmatch(r"\d+", text):
            return self._renamed(core, core.value + text, meta)     # W_{1} is W1, as printed
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", text):
            return self._renamed(core, f"{core.value}_{text}", meta)     # x_{y_z} is x_y_z
        raise located(ParseError, f"cannot read the subscript _{{{text}}}: a name's subscript is "
                                  f"letters or digits (x_{{1}}, x_{{ab}}); an entry is X_{{i,j}}",
                      subscript.start_pos)

    def _commutation(self, meta, dims, subscript):
        args = []
        for dim in dims:
            if not re.fullmatch(r"\d+|[A-Za-z]\w*", dim):
                raise located(ParseError, r"\mathbf{K}_{m,n} is the commutation matrix of two "
                                          "dimensions", subscript.start_pos)
            start = subscript.start_pos
            args.append(Node("number", (), Fraction(dim), start, start, start) if dim.isdigit()
                        else Node("name", (), dim, start, start, start))
        return self._node("call", meta, *args, value="commutation")

    def _entry(self, meta, base, indices, subscript):
        if not all(i.isdigit() for i in indices) or len(indices) > 2:
            raise located(ParseError, "an entry's indices are numbers: x_{[1]}, X_{2,1}",
                          subscript.start_pos)
        return self._node("entry", meta, base, value=tuple(int(i) for i in indices), at=subscript)

    def entry_of(self, meta, base, subscript):
        text = _subscript_text(subscript).strip("[]")
        indices = [part.strip() for part in text.split(",")]
        return self._entry(meta, base, indices, subscript)

    # ------------------------------------------------------------ operators
    def mul(self, meta, a, b):
        if id(a) in self.bare_calls:
            name = a.value
            raise located(ParseError, f"a function without parentheses, followed by a product: "
                                      f"write \\{name}\\left(..\\right) around what it applies to",
                          a.start)
        return self._node("mul", meta, a, b)

    def inverse_transpose(self, meta, a, token):
        inverse = self._node("inverse", meta, a, at=token)
        return self._node("transpose", meta, inverse, at=token)

    def frac(self, meta, numerator, denominator):
        return self._node("divide", meta, numerator, denominator)

    def sqrt(self, meta, a):
        return self._node("call", meta, a, value="sqrt")

    def norm(self, meta, opening, a, closing, subscript=None):
        start, end = span_of(meta)
        text = _subscript_text(subscript) if subscript is not None else ""
        text = {"\\infty": "inf", "\\max": "inf"}.get(text, text)
        at = subscript.start_pos if subscript is not None else start
        return norm_node(a, text, start, end, at, self.not_of_matrix)

    def abs(self, meta, opening, a, closing):
        node = self._node("call", meta, a, value="abs")
        self.not_of_matrix.append((a, "|X| of a matrix is its determinant in most notes and its "
                                      r"entrywise absolute value in matcalc: write \det(X) or "
                                      r"\operatorname{abs}(X)", node.start))
        return node

    # ------------------------------------------------------------ functions
    def call(self, meta, function, argument):
        return self._node("call", meta, argument, value=_function_name(function))

    def power_of_call(self, meta, function, exponent, argument):
        r"""\sin^2(x) is sin(x)^2; \sin^{-1}(x) is the arcsine in most notes, not 1/sin(x)."""
        if not (exponent.op == "number" and exponent.value.denominator == 1 and exponent.value > 0):
            raise located(ParseError, f"a power written on a function name is read for whole "
                                      f"numbers only ({function}^2(x)); write "
                                      f"{function}(x)^{{..}} for another power", exponent.start)
        return self._node("power", meta, self.call(meta, function, argument), exponent, at=exponent)

    def bare_call(self, meta, function, argument):
        node = self._node("call", meta, argument, value=_function_name(function))
        self.bare_calls.add(id(node))
        return node

    def unknown_operator(self, meta, token):
        name = _braced(token)
        raise located(UnknownNameError, f"unknown function \\operatorname{{{name}}}: the functions "
                                        f"are {', '.join(function_names())}", token.start_pos)


def _size(token):
    text = str(token)
    if text.isdigit():
        return int(text)
    if text.startswith("\\") and "{" not in text:
        return _VARIANTS.get(text[1:], text[1:])
    return _braced(token) if "{" in text else text


def _braced(token) -> str:
    return str(token)[str(token).index("{") + 1:str(token).rindex("}")].strip()


def _subscript_text(token) -> str:
    text = str(token)[1:].strip()
    return text[1:-1].strip() if text.startswith("{") else text


def _function_name(token) -> str:
    text = str(token)
    # \operatorname{tr} is tr; a word of two commands (\log\det) is their names joined
    word = _braced(token) if "{" in text else re.sub(r"[\\\s]", "", text)
    return _FUNCTION_WORDS.get(word, word)


def _names_in(node: Node):
    stack = [node]
    while stack:
        current = stack.pop()
        if current.op == "name":
            yield current.value
        for a in current.args:
            stack.extend(a if isinstance(a, tuple) else (a,))


def _hint(text: str, offset: int) -> str | None:
    """What to write instead of what the grammar stopped at, where there is something to say."""
    if text.startswith("\\\\", offset):
        return r"\\ separates the rows of a matrix (\begin{bmatrix} .. \end{bmatrix}) only"
    if text[offset:offset + 1] == "\\" and not _known_command(text, offset):
        return refuse_command(text, offset)
    head = re.match(r"\s*\\[dt]?frac\s*\{\s*\\partial", text)
    if head and "=" not in text[:offset]:
        return (r"a derivative is read as matcalc prints one with a matrix-shaped result, "
                r"\frac{\partial}{\partial x} \left(f\right) = ...; index notation is not read")
    if text[offset:offset + 1] == "'":
        return r"a prime is not a transpose in LaTeX: write ^\top"
    return None


def _known_command(text: str, offset: int) -> bool:
    """Whether the grammar has a token for the command at `offset` (which may be misplaced)."""
    command = re.match(r"\\([A-Za-z]+|.?)", text[offset:]).group(0)
    return any(pattern.fullmatch(command) for pattern in _token_patterns())


_patterns = None


def _token_patterns() -> list:
    """The grammar's terminals as compiled patterns, built once: Lark.lex would build (and,
    strict, validate with interegular) a whole lexer on every call, a second each."""
    global _patterns
    if _patterns is None:
        _patterns = [re.compile(t.pattern.to_regexp()) for t in grammar().terminals]
    return _patterns


def refuse_command(text: str, offset: int) -> str:
    """The message for the command at `offset`, which the grammar does not read."""
    command = re.match(r"\\([A-Za-z]+|.?)", text[offset:]).group(0)
    hints = {r"\sum": r"write \operatorname{sum}(x) for the sum of the entries",
             r"\langle": r"write \mathbf{x}^\top \mathbf{y} for the inner product",
             r"\mathbb": r"declare a size as \mathbf{x} \in \mathbb{R}^{n}, A \in \mathbb{R}^{n \times m}",
             r"\max": "max is not differentiable in general; matcalc has no max",
             r"\min": "min is not differentiable in general; matcalc has no min",
             r"\nabla": "differentiate with matcalc diff instead",
             r"\text": r"\text{..} is prose: paste the formula alone",
             r"\begin": r"only \begin{bmatrix} (or pmatrix) is read: paste the formula alone"}
    hint = hints.get(command, "write it in matcalc's notation (see docs/)")
    return f"unsupported LaTeX {command}: {hint}"

