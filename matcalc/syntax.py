"""Parse: text -> syntax tree (`Node`), with the place of every node.

Contract: `parse_program(text)` returns a `Program` (declarations, definitions,
the final expression) or raises a MatcalcError subclass that carries line and
column.  Nothing here knows shapes or meaning beyond the grammar; input that
is too long or too deeply nested is refused before any recursive stage sees it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import LimitError, MatcalcError, ParseError
from .resources import cache_dir, read_text

MAX_LENGTH = 20_000
MAX_DEPTH = 400            # brackets inside brackets
MAX_TREE_DEPTH = 5_000     # operators inside operators, e.g. a sum of 5,000 terms


@dataclass(frozen=True)
class Node:
    """A syntax node; `start`/`end` are offsets of its text, `at` the offset to point at."""
    op: str
    args: tuple
    value: object = None
    start: int = 0
    end: int = 0
    at: int = 0


@dataclass
class Program:
    source: str
    declarations: list = field(default_factory=list)   # (name, kind, dims, offset)
    definitions: list = field(default_factory=list)    # (name, Node, offset)
    body: Node | None = None


class NormBars:
    """Postlexer: `||` closes a norm when one is open and an operand just ended."""

    always_accept = ("NORM_BARS",)
    _operand_end = {"NAME", "NUMBER", "RPAR", "RSQB", "NORM_CLOSE", "TRANSPOSE", "INVERSE"}

    def process(self, stream):
        depth = 0
        previous = None
        for token in stream:
            if token.type == "NORM_BARS":
                closing = depth > 0 and previous in self._operand_end
                if closing:
                    depth -= 1
                    token = Token.new_borrow_pos("NORM_CLOSE", token.value, token)
                else:
                    if "_" in token.value:
                        raise ParseError("a norm's subscript belongs on its closing bars, as in ||X||_F",
                                         line=token.line, column=token.column)
                    depth += 1
                    token = Token.new_borrow_pos("NORM_OPEN", token.value, token)
            previous = token.type
            yield token


_parser = None


def parser() -> Lark:
    global _parser
    if _parser is None:
        _parser = Lark(read_text("grammar", "matcalc.lark"), parser="lalr",
                       start=["program", "rule"], postlex=NormBars(),
                       propagate_positions=True, maybe_placeholders=False, cache=_cache_path())
    return _parser


def _cache_path():
    from . import __version__
    try:
        return str(cache_dir() / f"grammar-{__version__}.lark-cache")
    except OSError:
        return False


def _pos(meta_or_token):
    return getattr(meta_or_token, "line", 0) or 0, getattr(meta_or_token, "column", 0) or 0


def _span(meta_or_token):
    if isinstance(meta_or_token, Node):
        return meta_or_token.start, meta_or_token.end
    return getattr(meta_or_token, "start_pos", 0) or 0, getattr(meta_or_token, "end_pos", 0) or 0


def _number(text: str) -> Fraction:
    return Fraction(text)


@v_args(meta=True, inline=True)
class _ToNodes(Transformer_NonRecursive):
    """One method per grammar alias; each returns a syntax Node."""

    def _node(self, op, meta, *args, value=None, at=None):
        start, end = _span(meta)
        return Node(op, tuple(args), value, start, end, start if at is None else _span(at)[0])

    def number(self, meta, token):
        return self._node("number", token, value=_number(token))

    def negative_number(self, meta, token):
        return self._node("number", meta, value=-_number(token))

    def name(self, meta, token):
        return self._node("name", token, value=str(token))

    def add(self, meta, a, b):
        return self._node("add", meta, a, b)

    def sub(self, meta, a, b):
        return self._node("sub", meta, a, b)

    def neg(self, meta, a):
        return self._node("neg", meta, a)

    def mul(self, meta, a, b):
        return self._node("mul", meta, a, b)

    def hadamard(self, meta, a, b):
        return self._node("hadamard", meta, a, b)

    def elementwise_divide(self, meta, a, b):
        return self._node("elementwise_divide", meta, a, b)

    def divide(self, meta, a, b):
        return self._node("divide", meta, a, b)

    def kron(self, meta, a, b):
        return self._node("kron", meta, a, b)

    def power(self, meta, base, exponent):
        return self._node("power", meta, base, exponent)

    def elementwise_power(self, meta, base, exponent):
        return self._node("elementwise_power", meta, base, exponent)

    def transpose(self, meta, a, token):
        return self._node("transpose", meta, a, at=token)

    def inverse(self, meta, a, token):
        return self._node("inverse", meta, a, at=token)

    def entry(self, meta, a, bracket, *indices):
        return self._node("entry", meta, a, value=tuple(int(i) for i in indices), at=bracket)

    def function(self, meta, token):
        return token

    def call(self, meta, function, *args):
        return self._node("call", meta, *args, value=str(function))

    def norm(self, meta, opening, a, closing):
        kind = closing[-1] if "_" in closing else "2"
        return self._node("norm", meta, a, value=kind)

    def row(self, meta, *entries):
        return entries

    def literal(self, meta, *rows):
        return self._node("literal", meta, *rows)

    def differential(self, meta, token, a):
        return self._node("differential", meta, a)

    # statements
    def names(self, meta, *tokens):
        return [(str(t), t.start_pos) for t in tokens]

    def declare_scalars(self, meta, names):
        return [("declare", n, "scalar", None, p) for n, p in names]

    def declare_vectors(self, meta, names):
        return [("declare", n, "vector", None, p) for n, p in names]

    def declare_typed(self, meta, token, kind_dims):
        kind, dims = kind_dims
        return [("declare", str(token), kind, dims, token.start_pos)]

    def scalar_type(self, meta):
        return "scalar", None

    def vector_type(self, meta, *dims):
        return "vector", (_dim(dims[0]), 1) if dims else None

    def matrix_type(self, meta, *dims):
        return "matrix", tuple(_dim(d) for d in dims) if dims else None

    def symmetric_type(self, meta, *dims):
        return "symmetric", (_dim(dims[0]), _dim(dims[0])) if dims else None

    def assignment(self, meta, token, value):
        return [("define", str(token), value, token.start_pos)]

    def program(self, meta, *parts):
        return list(parts)

    # rules files
    def guard_name(self, meta, token):
        return str(token)

    def guard(self, meta, name, token):
        return (name, str(token))

    def rule(self, meta, name, lhs, rhs, *guards):
        return ("rule", str(name), lhs, rhs, guards)

    def rule_declaration(self, meta, declarations):
        return ("declarations", declarations)


def _dim(token):
    text = str(token)
    return int(text) if text.isdigit() else text


def _check_limits(text: str) -> None:
    if len(text) > MAX_LENGTH:
        line = text.count("\n", 0, MAX_LENGTH) + 1
        column = MAX_LENGTH - (text.rfind("\n", 0, MAX_LENGTH) + 1) + 1
        raise LimitError(f"input too long: {len(text)} characters (the limit is {MAX_LENGTH})",
                         source=text, line=line, column=column)
    depth = 0
    line, column = 1, 0
    for ch in text:
        column += 1
        if ch == "\n":
            line, column = line + 1, 0
        elif ch in "([":
            depth += 1
            if depth > MAX_DEPTH:
                raise LimitError(f"input nested too deeply (more than {MAX_DEPTH} brackets)",
                                 source=text, line=line, column=column)
        elif ch in ")]":
            depth -= 1


def _tree_depth_check(tree, text: str) -> None:
    """Operators nest without brackets too (`- - - x`, `x^T^T...`): bound the tree."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            line, column = _pos(node.meta) if hasattr(node, "meta") else (1, 1)
            raise LimitError(f"input nested too deeply (more than {MAX_TREE_DEPTH} levels)",
                             source=text, line=line or 1, column=column or 1)
        for child in getattr(node, "children", ()):
            if hasattr(child, "children"):
                stack.append((child, depth + 1))


def _parse(text: str, start: str):
    if not isinstance(text, str):
        raise ParseError(f"the expression must be text, not {type(text).__name__}")
    _check_limits(text)
    try:
        tree = parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _parse_error(exc, text) from None
    except MatcalcError as exc:     # raised by the postlexer, which does not see the text
        exc.source = text
        raise
    _tree_depth_check(tree, text)
    return _ToNodes().transform(tree)


def _parse_error(exc: UnexpectedInput, text: str) -> ParseError:
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    at_end = isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    if isinstance(exc, UnexpectedEOF) or at_end or line in (None, -1):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        message = "unexpected end of input"
    elif isinstance(exc, UnexpectedCharacters):
        message = f"unexpected character {text_at(text, line, column)!r}"
    elif isinstance(exc, UnexpectedToken):
        found = repr(exc.token.value) if exc.token.type != "$END" else "end of input"
        message = f"unexpected {found}"
    else:
        message = "syntax error"
    return ParseError(message, source=text, line=line, column=column)


def line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def error_at(cls, message: str, text: str, offset: int):
    line, column = line_column(text, offset)
    return cls(message, source=text, line=line, column=column)


def text_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    if 0 < line <= len(lines) and 0 < column <= len(lines[line - 1]):
        return lines[line - 1][column - 1]
    return ""


def parse_program(text: str) -> Program:
    parts = _parse(text, "program")
    program = Program(source=text)
    *statements, body = parts
    for statement in statements:
        for item in statement:
            if item[0] == "declare":
                _, name, kind, dims, pos = item
                program.declarations.append((name, kind, dims, pos))
            else:
                _, name, value, pos = item
                program.definitions.append((name, value, pos))
    program.body = body
    return program


def parse_rule_line(text: str):
    """One line of a rules file: ('rule', name, lhs, rhs, guards) or ('declarations', [...])."""
    return _parse(text, "rule")
