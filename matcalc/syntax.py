"""Parse: text -> syntax tree (`Node`), with the place of every node.

Contract: `parse_program(text)` returns a `Program` (declarations, definitions,
the final expression) or raises a MatcalcError subclass that carries line and
column.  Nothing here knows shapes or meaning beyond the grammar; input that
is too long or too deeply nested is refused before any recursive stage sees it.
Text with a backslash command is LaTeX (`is_latex`): matcalc.latex_input reads it
into the same Nodes, with the pieces this module shares (Node, Program, ToNodes).
Other tools' spellings are read as meant (matrixcalculus.org's norm2, eye,
vector(1); NumPy's x.T) or refused with the matcalc spelling (NumPy's np. prefix
and **): never read as something else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import (UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken,
                             VisitError)

from . import ops
from .errors import LimitError, MatcalcError, ParseError
from .expr import MAX_NUMBER_DIGITS   # a literal has no more digits than any exact number
from .resources import cache_dir, read_text

MAX_LENGTH = 20_000
MAX_DEPTH = 400            # brackets inside brackets
MAX_TREE_DEPTH = 5_000     # operators inside operators, e.g. a sum of 5,000 terms

_OPERATOR_SYNTAX = frozenset(ops.SYNTAX) | frozenset(ops.DERIVED_SYNTAX)
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_MATRIXCALCULUS_NORMS = {"norm2": "2", "norm1": "1"}
MAX_NORM_ORDER = 100       # ||x||_p for p up to 100 (beyond it x .^ p overflows floats anyway)
_MAX_NORM_REFUSAL = ("the max norm ||x||_inf is not differentiable in general (where two entries tie "
                     "for the largest magnitude); write ||x||_p with a whole number p instead")


@dataclass(frozen=True)
class Node:
    """A syntax node; `start`/`end` are offsets of its text, `at` the offset to point at."""
    op: str
    args: tuple
    value: object = None
    start: int = 0
    end: int = 0
    at: int = 0


class Declaration(NamedTuple):
    """`x: vector[n]`, `scalar a`: a name's kind, with its dimensions where given."""
    name: str
    kind: str
    dims: tuple | None
    offset: int


class Definition(NamedTuple):
    """A statement `name = expression`."""
    name: str
    node: Node
    offset: int


class Stated(NamedTuple):
    """`assume lhs = rhs`: an equation the user states; the nodes' offsets are in `source`."""
    lhs: Node
    rhs: Node
    offset: int
    source: str

    @property
    def text(self) -> str:
        """The statement as the user wrote it, its spaces evened: `assume sum(y) = 1`."""
        return "assume " + " ".join(self.source[self.lhs.start:self.rhs.end].split())


@dataclass
class Program:
    source: str
    declarations: list = field(default_factory=list)   # of Declaration
    definitions: list = field(default_factory=list)    # of Definition
    assumptions: list = field(default_factory=list)    # of Stated
    structures: list = field(default_factory=list)     # of Declaration: orthogonal, diagonal, spd
    body: Node | None = None
    notation: str = "matcalc"                          # or "latex": the notation of `source`
    # Kinds the notation itself says (LaTeX: bold lowercase is a vector, plain lowercase beside
    # bold names a scalar); below declarations, above the naming convention.
    implied_kinds: dict = field(default_factory=dict)
    # id(number Node) -> "vector" or "matrix": a 1 that is a ones array whatever the context
    # (matrixcalculus.org's vector(1), matrix(1); LaTeX's bold 1)
    forced_ones: dict = field(default_factory=dict)
    # (operand Node, message, offset): operands that must not be matrices (of a p-norm, built
    # from sum and abs; of LaTeX's |X|, which notes use for the determinant)
    not_of_matrix: list = field(default_factory=list)


class NormBars:
    """Postlexer: `||` closes a norm when one is open and an operand just ended."""

    always_accept = ("NORM_BARS",)
    # the terminals an operand can end with (grammar/matcalc.lark's atoms and postfixes)
    _operand_end = {"NAME", "NUMBER", "RPAR", "RSQB", "NORM_CLOSE", "TRANSPOSE", "INVERSE", "INVERSE_TRANSPOSE",
                    "SUPERSCRIPT", "EYE"}

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
        _parser = cached_lark("matcalc.lark", start=["program", "rule", "equation"], postlex=NormBars())
    return _parser


def cached_lark(grammar_file: str, **options) -> Lark:
    """A strict LALR parser whose tables are cached per user; a cache file that cannot be
    read (truncated, from another Lark) is rebuilt and rewritten, never fatal."""
    text = read_text("grammar", grammar_file)
    options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=False, **options)
    path = _cache_path(grammar_file, text)
    try:
        return Lark(text, cache=path, **options)
    except Exception:   # noqa: BLE001 - unpickling a damaged file can raise almost anything
        if not path:
            raise
        _remove(path)
        return Lark(text, cache=path, **options)


def _cache_path(grammar_file: str, text: str):
    """Keyed by the grammar's text too: checkouts with different grammars (a developer's
    edit, two versions side by side) would otherwise rebuild each other's tables every run."""
    import hashlib
    from .version import __version__
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    try:
        return str(cache_dir() / f"{grammar_file.removesuffix('.lark')}-{__version__}-{digest}.lark-cache")
    except OSError:
        return False


def _remove(path: str) -> None:
    import os
    try:
        os.remove(path)
    except OSError:
        pass


def _pos(meta_or_token):
    return getattr(meta_or_token, "line", 0) or 0, getattr(meta_or_token, "column", 0) or 0


def span_of(meta_or_token):
    if isinstance(meta_or_token, Node):
        return meta_or_token.start, meta_or_token.end
    return getattr(meta_or_token, "start_pos", 0) or 0, getattr(meta_or_token, "end_pos", 0) or 0


_NUMBER_PARTS = re.compile(r"(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?")


def _number(token) -> Fraction:
    """The exact value of a literal; 1e-3 is 1/1000.  Its digits are bounded first, so that a
    literal of 5,000 digits (or 1e999999999) is refused before it is built."""
    whole, fraction, exponent = _NUMBER_PARTS.fullmatch(str(token)).groups()
    huge_exponent = exponent is not None and len(exponent.lstrip("+-")) > len(str(MAX_NUMBER_DIGITS))
    digits = None if huge_exponent else len(whole) + len(fraction) + abs(int(exponent or 0))
    if digits is None or digits > MAX_NUMBER_DIGITS:
        size = f"{digits} digits" if digits is not None else "an exponent of " + exponent.lstrip("+")
        raise LimitError(f"number too long: {size} (a number has at most {MAX_NUMBER_DIGITS} digits)",
                         line=getattr(token, "line", None), column=getattr(token, "column", None))
    return Fraction(str(token))


def subscripts_as_suffix(name: str) -> str:
    """x₁ is the name x_1 (and x₁₂ is x_12): Unicode subscript digits are the ASCII spelling's."""
    return re.sub("_?([₀₁₂₃₄₅₆₇₈₉]+)", lambda m: "_" + m.group(1).translate(_SUBSCRIPT_DIGITS), name)


def number_node(value, start: int, end: int) -> Node:
    return Node("number", (), Fraction(value), start, end, start)


def p_norm_nodes(operand: Node, p: int, start: int, end: int) -> Node:
    """||x||_p = sum(abs(x) .^ p) ^ (1/p): the p-norm from operators the engine differentiates
    (where no entry of x is zero), so no new rule is needed."""
    def node(op, *args, value=None):
        return Node(op, args, value, start, end, start)
    powers = node("elementwise_power", node("call", operand, value="abs"), number_node(p, start, end))
    return node("power", node("call", powers, value="sum"), number_node(Fraction(1, p), start, end))


def norm_node(operand: Node, subscript: str, start: int, end: int, at: int, program_notes: list) -> Node:
    """A norm by its subscript: '' or 2 Euclidean, F Frobenius, 1, a whole number p >= 3 the
    p-norm; a refusal, pointing at the subscript, for anything else (inf, p, 0)."""
    if subscript in ("", "2", "F", "1"):
        return Node("norm", (operand,), subscript or "2", start, end, start)
    if subscript.isdigit() and int(subscript) >= 3:
        p = int(subscript)
        if p > MAX_NORM_ORDER:
            raise located(LimitError, f"the {p}-norm: the order of a p-norm is at most {MAX_NORM_ORDER}", at)
        program_notes.append((operand, f"||.||_{p} is the {p}-norm of a vector; matcalc knows no "
                                       f"{p}-norm of a matrix (||X||_F is the Frobenius norm)", start))
        return p_norm_nodes(operand, p, start, end)
    if subscript in ("inf", "∞", "max"):
        raise located(ParseError, _MAX_NORM_REFUSAL, at)
    if subscript == "0":
        raise located(ParseError, "||x||_0 counts the nonzero entries: it is not differentiable", at)
    raise located(ParseError, f"unknown norm ||.||_{subscript}: write ||x||_p with a whole number "
                              f"p >= 1, ||x|| (= ||x||_2) or ||X||_F", at)


def located(cls, message: str, offset: int) -> MatcalcError:
    """An error raised while the tree is built, before the source is at hand: `parse_text`
    turns the offset into line and column."""
    error = cls(message)
    error.offset = offset
    return error


@v_args(meta=True, inline=True)
class ToNodes(Transformer_NonRecursive):
    """One method per grammar alias; each returns a syntax Node."""

    def __init__(self):
        super().__init__()
        self.forced_ones: dict = {}
        self.not_of_matrix: list = []

    def _node(self, op, meta, *args, value=None, at=None):
        start, end = span_of(meta)
        return Node(op, tuple(args), value, start, end, start if at is None else span_of(at)[0])

    def __default__(self, data, children, meta):
        """An operator's syntax (a + b, a .* b, -a, x .^ 2): the grammar's alias is the Node's op."""
        if data in _OPERATOR_SYNTAX:
            return self._node(str(data), meta, *children)
        return super().__default__(data, children, meta)

    def number(self, meta, token):
        return self._node("number", token, value=_number(token))

    def negative_number(self, meta, token):
        return self._node("number", meta, value=-_number(token))

    def name(self, meta, token):
        return self._node("name", token, value=subscripts_as_suffix(str(token)))

    def superscript_power(self, meta, base, token):
        start, end = span_of(token)
        exponent = Node("number", (), _number(str(token).translate(_SUPERSCRIPT_DIGITS)), start, end, start)
        return self._node("power", meta, base, exponent, at=token)

    def eye(self, meta):
        return self._node("name", meta, value="I")

    def _ones(self, meta, kind, coefficient):
        start, end = span_of(meta)
        ones = Node("number", (), Fraction(1), start, end, start)
        self.forced_ones[id(ones)] = kind
        if coefficient.op == "number" and coefficient.value == 1:
            return ones
        return self._node("mul", meta, coefficient, ones)

    def ones_vector(self, meta, coefficient):
        return self._ones(meta, "vector", coefficient)

    def ones_matrix(self, meta, coefficient):
        return self._ones(meta, "matrix", coefficient)

    def transpose(self, meta, a, token):
        return self._node("transpose", meta, a, at=token)

    def inverse(self, meta, a, token):
        return self._node("inverse", meta, a, at=token)

    def inverse_transpose(self, meta, a, token):
        return self._node("transpose", meta, self._node("inverse", meta, a, at=token), at=token)

    def entry(self, meta, a, bracket, *indices):
        return self._node("entry", meta, a, value=tuple(int(i) for i in indices), at=bracket)

    def function(self, meta, token):
        return token

    def call(self, meta, function, *args):
        name = str(function)
        if name in _MATRIXCALCULUS_NORMS:
            if len(args) != 1:
                raise located(MatcalcError, f"{name} takes 1 argument, not {len(args)}", span_of(meta)[0])
            return self._node("norm", meta, *args, value=_MATRIXCALCULUS_NORMS[name])
        return self._node("call", meta, *args, value=name)

    def norm(self, meta, opening, a, closing):
        start, end = span_of(meta)
        _, _, subscript = str(closing).partition("_")
        at = closing.start_pos + len(closing) - len(subscript)
        return norm_node(a, subscript, start, end, at, self.not_of_matrix)

    def row(self, meta, *entries):
        return entries

    def literal(self, meta, *rows):
        return self._node("literal", meta, *rows)

    def differential(self, meta, token, a):
        return self._node("differential", meta, a)

    # statements
    def names(self, meta, *tokens):
        return [(subscripts_as_suffix(str(t)), t.start_pos) for t in tokens]

    def declare_scalars(self, meta, names):
        return [("declare", n, "scalar", None, p) for n, p in names]

    def declare_vectors(self, meta, names):
        return [("declare", n, "vector", None, p) for n, p in names]

    def declare_typed(self, meta, token, kind_dims):
        name = subscripts_as_suffix(str(token))
        if kind_dims[0] == "structure":     # S: spd[n] is spd S with its size: a square matrix
            _, kind, dims = kind_dims
            sized = [("declare", name, "matrix", dims, token.start_pos)] if dims else []
            return sized + [("structure", name, kind, token.start_pos)]
        kind, dims = kind_dims
        return [("declare", name, kind, dims, token.start_pos)]

    def scalar_type(self, meta):
        return "scalar", None

    def vector_type(self, meta, *dims):
        return "vector", (size_of(dims[0]), 1) if dims else None

    def matrix_type(self, meta, *dims):
        return "matrix", tuple(size_of(d) for d in dims) if dims else None

    def symmetric_type(self, meta, *dims):
        return "symmetric", (size_of(dims[0]), size_of(dims[0])) if dims else None

    def structure_type(self, meta, kind, *dims):
        return "structure", kind, (size_of(dims[0]), size_of(dims[0])) if dims else None

    def assumption(self, meta, lhs, rhs=None):
        return [("assume", *self.equation(meta, lhs, rhs))]

    def equation(self, meta, lhs, rhs=None):
        if rhs is None:
            raise located(ParseError, "an assumption is an equation: write assume LHS = RHS, as in "
                                      "assume sum(y) = 1", lhs.end)
        return lhs, rhs, span_of(meta)[0]

    def structure_kind(self, meta, token):
        return str(token)

    def structure(self, meta, kind, names):
        return [("structure", name, kind, pos) for name, pos in names]

    def assignment(self, meta, token, value):
        return [("define", subscripts_as_suffix(str(token)), value, token.start_pos)]

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


def operands(node: Node, definitions: dict) -> list:
    """A node's operands as the walks over a program read them: a literal's entries row by
    row, a defined name's definition, commutation(m, n) none (its arguments are sizes)."""
    if node.op == "literal":
        return [x for row in node.args for x in row]
    if node.op == "name" and node.value in definitions:
        return [definitions[node.value]]
    if node.op == "call" and ops.CALLS[node.value].shape == "leaf":
        return []
    return list(node.args)


def fold(node: Node, children, one, done: dict | None = None):
    """The value of node computed bottom-up without recursion (deep inputs the parser
    accepts stay cheap): `one(n, values of children(n))` for each node once.  `done`
    (id(node) -> value) carries values between calls over one program."""
    done = {} if done is None else done
    stack = [(node, False)]
    while stack:
        current, ready = stack.pop()
        if id(current) in done:
            continue
        kids = children(current)
        if not ready:
            stack.append((current, True))
            stack.extend((c, False) for c in kids if id(c) not in done)
            continue
        done[id(current)] = one(current, [done[id(c)] for c in kids])
    return done[id(node)]


def size_of(token):
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


def parse_text(text: str, start: str, grammar=None):
    """The tree of `text` as Nodes, and the transformer that built them (with its notes)."""
    if not isinstance(text, str):
        raise ParseError(f"the expression must be text, not {type(text).__name__}")
    _check_limits(text)
    build, transformer = (parser(), ToNodes()) if grammar is None else grammar
    try:
        tree = build.parse(text, start=start)
    except UnexpectedInput as exc:
        raise _parse_error(exc, text, start) from None
    except MatcalcError as exc:     # raised by the postlexer, which does not see the text
        raise _with_source(exc, text) from None
    _tree_depth_check(tree, text)
    try:
        return transformer.transform(tree), transformer
    except VisitError as exc:       # an error the transformer found, at a place in the text
        if isinstance(exc.orig_exc, MatcalcError):
            raise _with_source(exc.orig_exc, text) from None
        raise


def _with_source(exc: MatcalcError, text: str) -> MatcalcError:
    exc.source = text
    offset = getattr(exc, "offset", None)
    if offset is not None:
        exc.line, exc.column = line_column(text, offset)
    return exc


_UNICODE_HINTS = {"√": "write sqrt(x) for √x", "∑": "write sum(x) for the sum of the entries",
                  "∂": "differentiate with matcalc diff EXPR VARIABLE", "∇": "differentiate with matcalc diff",
                  "⁺": "matcalc has no pseudo-inverse; inv(X) is the inverse",
                  "⟨": "write x^T y for the inner product"}
_FOREIGN_PREFIX = re.compile(r"(?<![\w.])(np|numpy|jnp|torch|tf|math|sp|sympy)\.$")


def _parse_error(exc: UnexpectedInput, text: str, start: str = "program") -> ParseError:
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    at_end = isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    if isinstance(exc, UnexpectedEOF) or at_end or line in (None, -1):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        message = "unexpected end of input"
        if re.search(r"(?<![=<>:])=(?![=>])", text) and not text.rstrip().endswith("="):
            message += ": after the definitions comes the expression, as in u = A x; u^T u"
    elif isinstance(exc, UnexpectedCharacters):
        message = f"unexpected character {text_at(text, line, column)!r}"
    elif isinstance(exc, UnexpectedToken):
        found = repr(exc.token.value) if exc.token.type != "$END" else "end of input"
        message = f"unexpected {found}"
    else:
        message = "syntax error"
    offset = offset_of(text, line, column)
    hint = _hint(text, offset, exc, start)
    if hint:
        message, line, column = hint[0], *line_column(text, hint[1])
    return ParseError(message, source=text, line=line, column=column)


def offset_of(text: str, line: int, column: int) -> int:
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    return starts[min(line, len(starts)) - 1] + column - 1


def _hint(text: str, offset: int, exc, start: str = "program") -> tuple | None:
    """Other tools' spellings, said in matcalc's: (message, offset to point at) or None."""
    before = text[:offset + 1]
    prefix = _FOREIGN_PREFIX.search(before[:offset + 1]) if text[offset:offset + 1] == "." else None
    if prefix:
        return (f"drop the {prefix.group(1)}. prefix: matcalc's functions are built in "
                f"(exp(x), inv(X), tr(X), X^T, x .* y)", prefix.start())
    method = re.match(r"\.([A-Za-z_]\w*)\s*\(", text[offset:])
    if method and re.search(r"[\w)\]]$", text[:offset]):
        return (f".{method.group(1)}(...) is a NumPy method, not matcalc's: write A x for A.dot(x), "
                f"sum(x) for x.sum(), x^T for x.T", offset)
    in_assumption = start == "equation" or re.search(r"(^|;)\s*assume\b[^;]*$", text[:offset])
    if text[offset:offset + 1] in "<>≤≥≠" and in_assumption:
        return ("an assumption is an equation (assume sum(y) = 1): matcalc cannot use an inequality",
                offset)
    if text[offset:offset + 1] in _UNICODE_HINTS:
        return _UNICODE_HINTS[text[offset]], offset
    if text[offset:offset + 1] == "*" and text[:offset].rstrip().endswith("*"):
        star = text.rindex("*", 0, offset)
        return ("** is Python's power: write x .^ 2 for the elementwise power, or x^2 for a scalar "
                "or matrix power", star)
    if text[offset:offset + 1] == "|" and text[offset:offset + 2] != "||":
        return ("a single | is not matcalc's: write abs(x) for the absolute value, det(X) for the "
                "determinant, ||x|| for the norm", offset)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END" and exc.token.value != "(":
        word = re.search(r"(?<![\\\w])([A-Za-z]\w*)\s*$", text[:offset])
        if word and word.group(1) in function_names():
            name = word.group(1)
            return (f"{name} is a function: write {name}(...); it cannot name a variable", word.start(1))
        if word and word.group(1) in ("eye", "vector", "matrix"):
            name = word.group(1)
            meaning = {"eye": "the identity I", "vector": "vector(c), a vector of c's",
                       "matrix": "matrix(c), a matrix of c's"}[name]
            return (f"{name} is reserved: it is {meaning} (matrixcalculus.org's spelling)", word.start(1))
    return None


def function_names() -> tuple:
    """The names the grammar calls as functions (reserved: no variable can have them)."""
    return tuple(str(rule.expansion[0].name).lower() for rule in parser().rules
                 if rule.origin.name == "function")


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


# a backslash command, or braces (which matcalc's own notation never uses)
_LATEX_COMMAND = re.compile(r"\\(?:[A-Za-z]+|[|{}])|[{}]")


def is_latex(text) -> bool:
    """Whether text is LaTeX, for matcalc.latex_input to read: a backslash command or braces."""
    return isinstance(text, str) and _LATEX_COMMAND.search(text) is not None


def parse_program(text: str) -> Program:
    """matcalc's own notation (analyse.read_program sends LaTeX to matcalc.latex_input)."""
    parts, transformer = parse_text(text, "program")
    *statements, body = parts
    return program_from(text, statements, body, transformer)


def program_from(text: str, statements: list, body: Node, transformer, notation: str = "matcalc",
                 implied_kinds=None) -> Program:
    """A Program from the transformed statements; a name defined twice is an error at the second."""
    program = Program(source=text, notation=notation, implied_kinds=implied_kinds or {},
                      forced_ones=transformer.forced_ones, not_of_matrix=transformer.not_of_matrix)
    defined: dict = {}
    for statement in statements:
        for item in statement:
            if item[0] == "declare":
                _, name, kind, dims, pos = item
                program.declarations.append(Declaration(name, kind, dims, pos))
            elif item[0] == "assume":
                _, lhs, rhs, pos = item
                program.assumptions.append(Stated(lhs, rhs, pos, text))
            elif item[0] == "structure":
                _, name, kind, pos = item
                program.structures.append(Declaration(name, kind, None, pos))
            else:
                _, name, value, pos = item
                if name in defined:
                    line, column = line_column(text, defined[name])
                    raise error_at(MatcalcError, f"{name} is defined twice (first at line {line}, "
                                                 f"column {column})", text, pos)
                defined[name] = pos
                program.definitions.append(Definition(name, value, pos))
    program.body = body
    return program


def parse_equation(text: str) -> Stated:
    """An assumption given apart from the program (`sum(y) = 1`, diff's assume=)."""
    lhs, rhs, offset = parse_text(text, "equation")[0]
    return Stated(lhs, rhs, offset, text)


def parse_rule_line(text: str):
    """One line of a rules file: ('rule', name, lhs, rhs, guards) or ('declarations', [...])."""
    return parse_text(text, "rule")[0]
