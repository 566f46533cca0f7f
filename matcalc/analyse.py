"""Shapes: a syntax tree plus declarations -> a canonical, well-shaped Expr.

Contract: `analyse(program, scalars, symmetric, declare)` gives an `Analysis`
whose `body` is an Expr with every dimension resolved, or raises a
MatcalcError pointing at the offending operator.  Kinds come from declarations,
then from what the notation says (LaTeX's bold), then from the naming
convention (lowercase: column vector, uppercase: matrix, the coefficient Greek
names of SCALAR_GREEK: scalar); unknown dimensions are unified across the whole
program (union-find) and then named n, m, k, p, q, ... in order of first appearance.
Numbers folded from numbers (2^100000) are bounded before they are computed.
Assumptions (`assume sum(y) = 1`, or the texts of `assume=`) and declared structure
(`orthogonal Q`, `diagonal D`, `spd S`) become `Analysis.assumptions`
(matcalc.assumptions); an equation whose sides differ in shape, or that names a
symbol the expression does not contain, and a structure of a vector, a scalar or a
non-square matrix, are refused at their place.
"""
from __future__ import annotations

import itertools
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from . import expr as E
from . import ops
from .assumptions import STRUCTURE_KINDS, of_structure, oriented
from .errors import MatcalcError, ShapeError, UnknownNameError
from .syntax import Node, Program, error_at, fold, function_names, is_latex, operands, parse_equation, parse_program

DIM_NAMES = ("n", "m", "k", "p", "q", "r", "s", "t", "u", "v", "w")
RESERVED = {"I"}
# Greek letters that textbooks write for scalar coefficients (a step size, a penalty, a
# tolerance): these names, ASCII or Unicode, alone or with a suffix (lambda2, alpha_1), are
# scalars unless declared.  theta, mu, phi, pi, psi, xi, delta, omega stay vectors (parameters,
# means, features, probabilities, errors, weights); uppercase Greek names are matrices.
SCALAR_GREEK = ("alpha", "beta", "gamma", "eta", "epsilon", "varepsilon", "kappa", "lambda",
                "rho", "sigma", "tau", "nu")
SCALAR_GREEK_UNICODE = "αβγηεϵκλρστν"
_SCALAR_GREEK_NAME = re.compile(
    rf"(?:{'|'.join(SCALAR_GREEK)}|[{SCALAR_GREEK_UNICODE}])(?:_?\d+|_\w+)?")


class _Var:
    """An unknown dimension."""
    __slots__ = ("parent", "order")

    def __init__(self, order: int):
        self.parent = None
        self.order = order


class Dims:
    """Union-find over dimensions: ints, declared names, unknown `_Var`s, Kronecker products."""

    def __init__(self):
        self.count = 0

    def fresh(self) -> _Var:
        self.count += 1
        return _Var(self.count)

    def find(self, d):
        while isinstance(d, _Var) and d.parent is not None:
            d = d.parent
        if isinstance(d, tuple):
            factors = tuple(self.find(x) for x in d[1:])
            if all(isinstance(f, int) for f in factors):
                return factors[0] * factors[1]   # 2*2 is 4 once both sizes are known
            return ("*",) + factors
        return d

    def _occurs(self, var, d) -> bool:
        d = self.find(d)
        if isinstance(d, tuple):
            return any(self._occurs(var, x) for x in d[1:])
        return d is var

    def unify(self, a, b) -> bool:
        a, b = self.find(a), self.find(b)
        if a is b or a == b:
            return True
        if a == 1 or b == 1:
            return False  # a symbolic dimension is never 1: that would make a vector a scalar
        if isinstance(a, _Var):
            if self._occurs(a, b):
                return False   # n = n*m has no solution
            a.parent = b
            return True
        if isinstance(b, _Var):
            if self._occurs(b, a):
                return False
            b.parent = a
            return True
        if isinstance(a, tuple) and isinstance(b, tuple):
            # products: cancel the factors both have (m*n = n*m), then match the rest in order
            left, right = self._factors(a), self._factors(b)
            for factor in list(left):
                same = next((i for i, other in enumerate(right) if other is factor or other == factor), None)
                if same is not None:
                    left.remove(factor)
                    del right[same]
            return len(left) == len(right) and all(self.unify(x, y) for x, y in zip(left, right))
        if isinstance(a, int) or isinstance(b, int):
            return self._unify_size(*((b, a) if isinstance(a, int) else (a, b)))
        return False

    def _unify_size(self, product, size: int) -> bool:
        """m*2 = 4 where one factor is unknown and the others divide the size: m = 2."""
        if not isinstance(product, tuple):
            return False
        factors = self._factors(product)
        unknown = [f for f in factors if not isinstance(f, int)]
        known = 1
        for f in factors:
            if isinstance(f, int):
                known *= f
        if len(unknown) != 1 or not isinstance(unknown[0], _Var) or size % known or size == known:
            return False
        return self.unify(unknown[0], size // known)

    def _factors(self, d) -> list:
        d = self.find(d)
        if isinstance(d, tuple):
            return [f for part in d[1:] for f in self._factors(part)]
        return [d]


class Declared(NamedTuple):
    """What is known of a name before its use: its kind, and its dimensions if declared."""
    kind: str
    dims: tuple | None


@dataclass
class Analysis:
    source: str
    body: E.Expr
    symbols: dict = field(default_factory=dict)      # name -> symbol Expr
    definitions: dict = field(default_factory=dict)  # name -> Expr
    declared: dict = field(default_factory=dict)     # name -> Declared
    program: Program | None = None                   # the syntax the body was built from
    node_shape: object = None                        # Node -> its resolved (rows, cols)
    assumptions: tuple = ()                          # of Assumption: for the simplifier
    structures: dict = field(default_factory=dict)   # name -> orthogonal, diagonal or spd
    equations: tuple = ()                            # of (Stated, Assumption): the `assume`s

    @property
    def stated(self) -> tuple:
        """The user's statements the result rests on, as written: `spd S`, `assume sum(y) = 1`."""
        return tuple(f"{kind} {name}" for name, kind in self.structures.items()) + tuple(
            stated.text for stated, _ in self.equations)


def absent_symbol(analysis: Analysis, name: str) -> E.Expr:
    """A variable the expression does not contain, with its declared or conventional kind
    and dimension names the expression does not use."""
    kind, dims = analysis.declared.get(name, Declared(kind_by_convention(name), None))
    used = {d for s in analysis.symbols.values() for d in s.shape if isinstance(d, str)}
    free = (d for d in dimension_names() if d not in used)
    if kind == "scalar":
        shape = (1, 1)
    elif kind == "vector":
        shape = (dims[0] if dims else next(free), 1)
    elif kind == "symmetric":
        side = dims[0] if dims else next(free)
        shape = (side, side)
    else:
        shape = tuple(dims) if dims else (next(free), next(free))
    return E.symbol(name, shape, kind)


def dimension_names():
    """n, m, k, ..., then n1, n2, ... without end: any number of independent dimensions."""
    return itertools.chain(DIM_NAMES, (f"n{i}" for i in itertools.count(1)))


def kind_by_convention(name: str) -> str:
    if _SCALAR_GREEK_NAME.fullmatch(name):
        return "scalar"
    return "matrix" if name[:1].isupper() else "vector"


class _Analyser:
    def __init__(self, program: Program, scalars, symmetric, declare, assume=()):
        self.program = program
        self.source = program.source
        self.stated: list = []       # of Stated: the program's assumptions and those of `assume`
        self.structures: dict = {}   # name -> (structure, offset, source)
        self.dims = Dims()
        self.kinds: dict = {}
        self.declared_dims: dict = {}
        self.symbol_shapes: dict = {}
        self.definitions: dict = {}
        self.shapes: dict = {}      # id(Node) -> (rows, cols) of dims
        self.ones_nodes: set = set()
        self.dimension_names: set = set()   # dimensions named in commutation(m, n)
        self.indexed: list = []     # (dimension, index): entries make an unknown size concrete
        self.sizes = ops.Sizes(one=lambda d: self.dims.find(d) == 1, unify=self.dims.unify,
                               product=self._dim_product)
        for name in scalars:
            self.kinds[name] = "scalar"
        for name in symmetric:
            self.kinds[name] = "symmetric"
        extras = [read_program(text + "; 0") for text in declare]
        for extra in extras:
            for declaration in extra.declarations:
                self._declare(declaration.name, declaration.kind, declaration.dims)
        for declaration in program.declarations:
            self._declare(declaration.name, declaration.kind, declaration.dims)
        for extra in [*extras, program]:
            for declaration in extra.structures:
                self._declare_structure(declaration, extra.source)
            self.stated.extend(extra.assumptions)
        self.stated.extend(parse_equation(text) for text in assume)
        self.left_of = _left_operand_parents(program)
        for stated in self.stated:
            for side in (stated.lhs, stated.rhs):
                self.left_of.update(_left_operand_parents(Program(source=stated.source, body=side)))
        for definition in program.definitions:
            if definition.name in RESERVED:
                raise error_at(MatcalcError, f"{definition.name} is the identity matrix and cannot be "
                                             f"redefined", self.source, definition.offset)
            self.definitions[definition.name] = definition.node

    def is_constant(self, name: str) -> bool:
        """π is the number unless declared (LaTeX's bold \\boldsymbol{\\pi} is the name pi)."""
        return name in ops.CONSTANTS and name not in self.kinds

    def kind(self, name: str) -> str:
        return self.kinds.get(name) or self.program.implied_kinds.get(name) or kind_by_convention(name)

    def _declare(self, name, kind, dims):
        self.kinds[name] = kind
        if dims is not None:
            self.declared_dims[name] = dims

    def _declare_structure(self, declaration, source: str):
        """`spd S`: a square matrix of the structure's kind; one declared scalar or vector is refused."""
        name, structure, _, offset = declaration
        declared = self.kinds.get(name)
        if declared in ("scalar", "vector"):
            raise error_at(ShapeError, f"{structure} {name}: {name} is declared a {declared}; "
                                       f"{structure} is said of a square matrix", source, offset)
        if name in RESERVED or any(d.name == name for d in self.program.definitions):
            raise error_at(MatcalcError, f"{structure} {name}: {name} is not a variable; {structure} "
                                         f"is said of a square matrix variable", source, offset)
        if name in self.structures:
            raise error_at(MatcalcError, f"{name} is declared {self.structures[name][0]} already",
                           source, offset)
        dims = self.declared_dims.get(name)
        if dims is not None and dims[0] != dims[1]:
            raise error_at(ShapeError, f"{structure} {name}: {name} is {dims[0]} x {dims[1]}, not square",
                           source, offset)
        if declared != "symmetric":
            self.kinds[name] = STRUCTURE_KINDS[structure]
        self.structures[name] = (structure, offset, source)

    @contextmanager
    def _reading(self, source: str):
        """Errors and descriptions of the nodes of another text (an assumption given apart)."""
        own = self.source
        self.source = source
        try:
            yield
        finally:
            self.source = own

    def infer_assumptions(self):
        """Each equation's sides have one shape and name only symbols of the expression."""
        known = set(self.symbol_shapes)
        for stated in self.stated:
            with self._reading(stated.source):
                entries = len(self.indexed)
                left, right = self.infer(stated.lhs), self.infer(stated.rhs)
                if any(isinstance(self.dims.find(d), _Var) for d, _ in self.indexed[entries:]):
                    entry = next(n for side in (stated.lhs, stated.rhs) for n in _nodes(side) if n.op == "entry")
                    raise self._fail(entry, "an entry in an assumption needs a size the expression or a "
                                            "declaration fixes (x: vector[3]): an assumption does not size "
                                            "the expression", MatcalcError)
                unknown = [n for side in (stated.lhs, stated.rhs) for n in _name_nodes(side)
                           if n.value not in known and n.value in self.symbol_shapes]
                if unknown:
                    raise self._fail(unknown[0], f"{unknown[0].value} appears in the assumption but not "
                                                 f"in the expression", MatcalcError)
                same = self._is_scalar(left) == self._is_scalar(right) and \
                    self.dims.unify(left[0], right[0]) and self.dims.unify(left[1], right[1])
                if not same:
                    at = stated.lhs.end
                    while at < len(self.source) and self.source[at] in " \t\r\n":
                        at += 1
                    raise error_at(ShapeError, f"the two sides of an assumption have different shapes: "
                                               f"{self.describe(stated.lhs, left)} and "
                                               f"{self.describe(stated.rhs, right)}", self.source, at)

    def square_structures(self):
        for name, (structure, offset, source) in self.structures.items():
            if name not in self.symbol_shapes:
                continue     # like a declaration of a name the expression does not use
            rows, cols = self.symbol_shapes[name]
            if not self.dims.unify(rows, cols):
                raise error_at(ShapeError, f"{structure} {name}: {name} is {self.dim_text(rows)} x "
                                           f"{self.dim_text(cols)}, not square", source, offset)

    def build_assumptions(self) -> tuple:
        """(assumptions for the simplifier, structures by name, the equations as (Stated, Assumption))."""
        equations = []
        for stated in self.stated:
            with self._reading(stated.source):
                equations.append((stated, oriented(self.build(stated.lhs), self.build(stated.rhs), stated.text)))
        structures = {name: structure for name, (structure, _, _) in self.structures.items()
                      if name in self.symbol_shapes}
        rewrites = tuple(a for name, structure in structures.items()
                         for a in of_structure(self.symbol(name), structure))
        return rewrites + tuple(a for _, a in equations), structures, tuple(equations)

    # ------------------------------------------------------------ pass 1: shapes
    def symbol_shape(self, name: str, node: Node):
        if name not in self.symbol_shapes:
            kind = self.kind(name)
            declared = self.declared_dims.get(name)
            if kind == "scalar":
                shape = (1, 1)
            elif kind == "vector":
                shape = (declared[0] if declared else self.dims.fresh(), 1)
            elif kind == "symmetric":
                d = declared[0] if declared else self.dims.fresh()
                shape = (d, d)
            else:
                shape = tuple(declared) if declared else (self.dims.fresh(), self.dims.fresh())
            self.symbol_shapes[name] = shape
        return self.symbol_shapes[name]

    def infer(self, node: Node, active=()):
        """Shape of a node, as a pair of dims; stores it for the build pass."""
        cached = self.shapes.get(id(node))
        if cached is not None:
            return cached
        shape = self._infer(node, active)
        self.shapes[id(node)] = shape
        self._refuse_constant_as_array(node)
        return shape

    def _refuse_constant_as_array(self, node: Node) -> None:
        """π^T, π[1], sum(π), π .* x: the reading of a vector named π, never the number's."""
        operator = ops.CALLS.get(node.value) if node.op == "call" else ops.SYNTAX.get(node.op)
        reads_arrays = node.op in ("transpose", "entry", "norm", "elementwise_divide") or (
            operator is not None and (operator.elementwise or node.op == "call") and not operator.is_function)
        if not reads_arrays:
            return
        for arg in node.args:
            if isinstance(arg, Node) and arg.op == "name" and arg.value not in self.definitions \
                    and self.is_constant(arg.value):
                raise self._fail(arg, f"{arg.value} is the number pi here; for a vector or matrix named "
                                      f"{arg.value}, declare it (vector {arg.value})", MatcalcError)

    def _is_scalar(self, shape) -> bool:
        return self.dims.find(shape[0]) == 1 and self.dims.find(shape[1]) == 1

    def _fail(self, node: Node, message: str, cls=ShapeError):
        return error_at(cls, message, self.source, self._caret(node))

    def _caret(self, node: Node) -> int:
        """Binary operators point at the operator, between their operands."""
        if node.op in _SYNTAX_ONLY_INFIX or (node.op in ops.SYNTAX and ops.SYNTAX[node.op].infix):
            at = node.args[0].end
            while at < len(self.source) and self.source[at] in " \t\r\n":
                at += 1
            return at
        return node.at

    def describe(self, node: Node, shape) -> str:
        text = " ".join(self.source[node.start:node.end].split())
        if len(text) > 40:
            text = text[:37] + "..."
        return f"{text} ({self.dim_text(shape[0])} x {self.dim_text(shape[1])})"

    def dim_text(self, d) -> str:
        d = self.dims.find(d)
        if isinstance(d, tuple):
            return "*".join(self.dim_text(x) for x in d[1:])
        if isinstance(d, _Var):
            return self.names_for_vars().get(d, "?")
        return str(d)

    def names_for_vars(self) -> dict:
        taken = {d for dims in self.declared_dims.values() for d in dims if isinstance(d, str)}
        taken |= self.dimension_names
        names = {}
        free = (n for n in dimension_names() if n not in taken)
        for shape in self.symbol_shapes.values():
            for d in shape:
                d = self.dims.find(d)
                if isinstance(d, _Var) and d not in names:
                    names[d] = next(free)
        for shape in self.shapes.values():
            for d in shape:
                d = self.dims.find(d)
                if isinstance(d, _Var) and d not in names:
                    names[d] = next(free)
        return names

    def _same_shape(self, node, refusal, a, b, sa, sb):
        if self._is_scalar(sa):
            return sb
        if self._is_scalar(sb):
            return sa
        if not (self.dims.unify(sa[0], sb[0]) and self.dims.unify(sa[1], sb[1])):
            raise self._fail(node, refusal.format(self.describe(a, sa), self.describe(b, sb)))
        return sa

    def _is_one(self, node: Node) -> bool:
        return node.op == "number" and node.value == 1 and id(node) not in self.program.forced_ones

    def _ends_scalar(self, node: Node, active) -> bool:
        """Whether the factors after a leading 1 in the product chain around `node` multiply to
        a scalar (`1 x^T y`): then 1 is the number, as no vector is needed.  Products group
        left to right, so the chain's later factors sit on the right of enclosing products."""
        chain = [node.args[1]]
        for parent in self._product_parents(node):
            chain.append(parent.args[1])
        rows = cols = None
        for factor in chain:
            shape = self.infer(factor, active)
            if self._is_scalar(shape):
                continue
            if rows is None:
                rows, cols = shape
            elif self.dims.unify(cols, shape[0]):
                cols = shape[1]
            else:
                return False     # ill-shaped: the product reports it, with its operands
        return rows is None or (self.dims.find(rows) == 1 and self.dims.find(cols) == 1)

    def _product_parents(self, node: Node) -> list:
        """The products that have `node` as their left operand, innermost first."""
        parents = []
        current = node
        while id(current) in self.left_of:
            current = self.left_of[id(current)]
            parents.append(current)
        return parents

    def _refuse_unknown_function(self, node: Node) -> None:
        """Tanh(x), exq(t): a name of two or more letters touching "(" that nothing declares is a
        misspelt function, not a product (write `W (x)` or `W * (x)` for one)."""
        name = node.value
        if self.program.notation != "matcalc" or self.source[node.end:node.end + 1] != "(" \
                or name in self.kinds or sum(c.isalpha() for c in name) < 2:
            return
        import difflib
        known = function_names()
        close = difflib.get_close_matches(name.lower(), known, n=1)
        hint = f"did you mean {close[0]}?" if close else "the functions are " + ", ".join(known)
        raise error_at(UnknownNameError, f"unknown function '{name}': {hint} (for a product, "
                                         f"write {name} (...) with a space, or {name} * (...))",
                       self.source, node.start)

    def _infer(self, node: Node, active):
        op = node.op
        if op == "number":
            forced = self.program.forced_ones.get(id(node))
            if forced is not None:
                self.ones_nodes.add(id(node))
                return (self.dims.fresh(), 1 if forced == "vector" else self.dims.fresh())
            return (1, 1)
        if op == "name":
            name = node.value
            if name == "I":
                d = self.dims.fresh()
                return (d, d)
            if name in self.definitions:
                if name in active:
                    raise self._fail(node, f"{name} is defined in terms of itself", MatcalcError)
                return self.infer(self.definitions[name], active + (name,))
            if self.is_constant(name):
                return (1, 1)
            self._refuse_unknown_function(node)
            return self.symbol_shape(name, node)
        operator = ops.SYNTAX.get(op)
        if op in _SYNTAX_ONLY_REFUSALS or (operator and operator.shape == "broadcast"):
            a, b = node.args
            sa, sb = self.infer(a, active), self.infer(b, active)
            refusal = _SYNTAX_ONLY_REFUSALS.get(op) or operator.refusal
            return self._same_shape(node, refusal, a, b, sa, sb)
        if op == "neg":
            return self.infer(node.args[0], active)
        if op == "mul":
            a, b = node.args
            sa, sb = self.infer(a, active), self.infer(b, active)
            if self._is_one(b) and self.dims.find(sa[1]) != 1:
                self.ones_nodes.add(id(b))
                sb = (sa[1], 1)
                self.shapes[id(b)] = sb
            elif self._is_one(a) and self.dims.find(sb[0]) == 1 and not self._is_scalar(sb) \
                    and not self._ends_scalar(node, active):
                self.ones_nodes.add(id(a))
                sa = (self.dims.fresh(), 1)
                self.shapes[id(a)] = sa
            if self._is_scalar(sa):
                return sb
            if self._is_scalar(sb):
                return sa
            if not self.dims.unify(sa[1], sb[0]):
                raise self._fail(node, f"cannot multiply {self.describe(a, sa)} by {self.describe(b, sb)}")
            return (sa[0], sb[1])
        if op == "divide":
            a, b = node.args
            sa, sb = self.infer(a, active), self.infer(b, active)
            if not self._is_scalar(sb):
                raise self._fail(node, f"cannot divide by {self.describe(b, sb)}: "
                                       f"use ./ for elementwise division")
            return sa
        if operator and operator.shape == "outer":
            return self._ruled(node, operator, node.args, active)
        if op in ("power", "elementwise_power"):
            base, exponent = node.args
            sb, se = self.infer(base, active), self.infer(exponent, active)
            if not self._is_scalar(se):
                raise self._fail(exponent, f"an exponent must be a scalar, not {self.describe(exponent, se)}")
            if op == "power" and not self._is_scalar(sb):
                symbolic = getattr(self, "allow_differentials", False)
                if not symbolic and (exponent.op != "number" or exponent.value.denominator != 1):
                    raise self._fail(node, "a matrix power needs an integer exponent "
                                           "(use .^ for an elementwise power)")
                if self.dims.find(sb[1]) == 1 or self.dims.find(sb[0]) == 1:
                    raise self._fail(node, f"a power of a vector, {self.describe(base, sb)}: write "
                                           f".^ for the elementwise power (x .^ 2), or x^T x (||x||^2)")
                self._ruled(node, ops.OPERATORS["mpow"], (base,), active)
            return sb
        if op == "transpose":
            (a,) = node.args
            if self._is_one(a):
                self.ones_nodes.add(id(a))
                self.shapes[id(a)] = (self.dims.fresh(), 1)
            sa = self.infer(a, active)
            return (sa[1], sa[0])
        if op == "inverse":
            return self._ruled(node, operator, node.args, active)
        if op == "entry":
            (a,) = node.args
            sa = self.infer(a, active)
            indices = node.value
            if len(indices) == 1:
                if self.dims.find(sa[1]) == 1:
                    indices = (indices[0], 1)
                elif self.dims.find(sa[0]) == 1:
                    indices = (1, indices[0])
                else:
                    raise self._fail(node, f"a matrix entry needs two indices: {self.describe(a, sa)}")
            for index, d in zip(indices, sa):
                d = self.dims.find(d)
                if index < 1 or (isinstance(d, int) and index > d):
                    raise self._fail(node, f"index {index} is out of range for {self.describe(a, sa)}")
                if isinstance(d, _Var):
                    self.indexed.append((d, index))
            self.shapes[("entry", id(node))] = indices
            return (1, 1)
        if op == "norm":
            (a,) = node.args
            sa = self.infer(a, active)
            if node.value == "2" and not self._is_scalar(sa) and \
                    self.dims.find(sa[0]) != 1 and self.dims.find(sa[1]) != 1:
                raise self._fail(node, f"||.|| is the Euclidean norm of a vector; "
                                       f"{self.describe(a, sa)} is a matrix: write ||X||_F")
            return (1, 1)
        if op == "literal":
            rows = node.args
            width = len(rows[0])
            for row in rows:
                if len(row) != width:
                    raise self._fail(node, "rows of a literal must have the same number of entries")
                for item in row:
                    si = self.infer(item, active)
                    if not self._is_scalar(si):
                        raise self._fail(item, f"entries of a literal must be scalars: "
                                               f"{self.describe(item, si)}")
            return (len(rows), width)
        if op == "call":
            return self._infer_call(node, active)
        if op == "differential":
            if getattr(self, "allow_differentials", False):
                return self.infer(node.args[0], active)
            raise self._fail(node, "d(...) is the differential of the rules files; "
                                   "for a product write d (...) or d * (...)", MatcalcError)
        raise self._fail(node, f"unsupported construct {op}", MatcalcError)

    def _dim_product(self, a, b):
        a, b = self.dims.find(a), self.dims.find(b)
        if a == 1:
            return b
        if b == 1:
            return a
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        return ("*", a, b)

    def _ruled(self, node: Node, operator, args, active):
        """The operator's shape rule from the table, its refusal pointed at `node`."""
        shapes = [self.infer(a, active) for a in args]
        try:
            return ops.result_shape(operator, self.sizes, *shapes)
        except ops.ShapeRuleError as refusal:
            refused = refusal.operand
            raise self._fail(node, refusal.template.format(self.describe(args[refused], shapes[refused]))) from None

    def _infer_call(self, node: Node, active):
        name = node.value
        operator = ops.CALLS.get(name)
        if operator is None:
            raise self._fail(node, f"unknown function {name}", UnknownNameError)
        if operator.shape == "leaf":
            return self._infer_commutation(node)
        expected = operator.arity or 2     # an n-ary product is called with two arguments
        if len(node.args) != expected:
            raise self._fail(node, f"{name} takes {expected} argument{'s' if expected > 1 else ''}, "
                                   f"not {len(node.args)}", MatcalcError)
        return self._ruled(node, operator, node.args, active)

    def _infer_commutation(self, node: Node):
        """commutation(m, n): K with K vec(M) = vec(M^T) for m x n matrices M; its two
        arguments are dimensions, names (as in declarations) or sizes."""
        if len(node.args) != 2:
            raise self._fail(node, f"commutation takes 2 dimensions, not {len(node.args)}", MatcalcError)
        dims = []
        for arg in node.args:
            if arg.op == "number" and arg.value == int(arg.value) and arg.value >= 1:
                dims.append(int(arg.value))
            elif arg.op == "name" and arg.value not in self.definitions and arg.value != "I":
                self.dimension_names.add(arg.value)
                dims.append(arg.value)
            else:
                raise self._fail(arg, "the arguments of commutation are dimensions: names such as "
                                      "n or sizes such as 3", MatcalcError)
        self.shapes[("commutation", id(node))] = tuple(dims)
        side = self._dim_product(*dims)
        return (side, side)

    def refuse_matrix_operands(self):
        for operand, message, offset in self.program.not_of_matrix:
            rows, cols = self.infer(operand)
            if self.dims.find(rows) != 1 and self.dims.find(cols) != 1:
                raise error_at(ShapeError, f"{message}: {self.describe(operand, (rows, cols))}",
                               self.source, offset)

    def concrete_sizes_from_entries(self):
        """x[1] x[2]^2 with nothing else fixing the length of x makes x a 2-vector (SYNTAX.md)."""
        largest: dict = {}
        for d, index in self.indexed:
            root = self.dims.find(d)
            if isinstance(root, _Var):
                largest[root] = max(largest.get(root, 0), index)
        for root, size in largest.items():
            self.dims.unify(root, size)

    # ------------------------------------------------------------ pass 2: build
    def resolve(self, d):
        d = self.dims.find(d)
        if isinstance(d, tuple):
            return E.dim_product(self.resolve(d[1]), self.resolve(d[2])) if len(d) == 3 else d
        if isinstance(d, _Var):
            return self.var_names[d]
        return d

    def resolved_shape(self, node):
        rows, cols = self.shapes[id(node)]
        return (self.resolve(rows), self.resolve(cols))

    def symbol(self, name: str) -> E.Expr:
        rows, cols = self.symbol_shapes[name]
        kind = self.kind(name)
        return E.symbol(name, (self.resolve(rows), self.resolve(cols)), kind)

    def build(self, node: Node) -> E.Expr:
        """Bottom-up, without recursion: definitions and deep trees stay cheap."""
        return fold(node, self._children, self._build_pointed)

    def _build_pointed(self, node: Node, kids: list) -> E.Expr:
        try:
            return self._build_one(node, kids)
        except MatcalcError as exc:   # a constructor's error, pointed at its operator
            if exc.line is not None:
                raise
            raise self._fail(node, exc.message, type(exc)) from None

    def _children(self, node: Node) -> list:
        if node.op in ("add", "sub"):
            return [term for term, _ in _sum_terms(node)]
        return operands(node, self.definitions)

    def _build_one(self, node: Node, kids: list) -> E.Expr:
        op = node.op
        if op in ("add", "sub"):     # the whole chain at once: a + b + c + ... builds in linear time
            return E.add(*(E.neg(kid) if negative else kid
                           for kid, (_, negative) in zip(kids, _sum_terms(node))))
        if op == "number":
            if id(node) in self.ones_nodes:
                rows, cols = self.resolved_shape(node)
                return E.ones(rows, cols)
            return E.number(node.value)
        if op == "name":
            if node.value == "I":
                rows, _ = self.resolved_shape(node)
                return E.identity(rows)
            if node.value in self.definitions:
                return E.named(node.value, kids[0])
            if self.is_constant(node.value):
                return E.constructor(ops.CONSTANTS[node.value])()
            return self.symbol(node.value)
        if op == "literal":
            width = len(node.args[0])
            return E.literal([kids[i:i + width] for i in range(0, len(kids), width)])
        if op == "entry":
            i, j = self.shapes[("entry", id(node))]
            return E.entry(kids[0], i, j)
        if op == "call" and ops.CALLS[node.value].shape == "leaf":
            return E.commutation(*self.shapes[("commutation", id(node))])
        if op == "call":
            return E.call(node.value, *kids)
        if op == "norm":
            return E.norm(kids[0], node.value)
        if op == "power" and kids[0].is_scalar:
            return E.power(kids[0], kids[1])
        if op == "differential":
            return E.differential(kids[0])
        if op in _SYNTAX_ONLY:
            return _SYNTAX_ONLY[op](*kids)
        return E.constructor(ops.SYNTAX[op])(*kids)


def _sum_terms(node: Node) -> list:
    """The terms of a chain of + and - (left-nested, as the grammar groups them), in order,
    each with whether it is subtracted."""
    terms = []
    while node.op in ("add", "sub"):
        terms.append((node.args[1], node.op == "sub"))
        node = node.args[0]
    terms.append((node, False))
    return terms[::-1]


def _left_operand_parents(program: Program) -> dict:
    """id(node) -> the product whose left operand it is, over the whole program."""
    parents = {}
    stack = [definition.node for definition in program.definitions] + [program.body]
    while stack:
        node = stack.pop()
        if node.op == "mul":
            parents[id(node.args[0])] = node
        for a in node.args:
            stack.extend(a if isinstance(a, tuple) else (a,))
    return parents


# ops.DERIVED_SYNTAX, composed by constructors (a - b is built with its sum, by _sum_terms)
_SYNTAX_ONLY = {"neg": E.neg, "divide": E.divide, "elementwise_divide": E.elementwise_divide}
_SYNTAX_ONLY_INFIX = ("divide", "elementwise_divide")
_SYNTAX_ONLY_REFUSALS = {"sub": "cannot subtract {0} and {1}", "elementwise_divide": "cannot divide elementwise {0} and {1}"}


def analyse(program: Program, scalars=(), symmetric=(), declare=(), assume=()) -> Analysis:
    """`assume`: equations given apart from the program's text (`sum(y) = 1`), as its own
    `assume` statements are."""
    analyser = _Analyser(program, scalars, symmetric, declare, assume)
    for definition in program.definitions:
        analyser.infer(definition.node, (definition.name,))
    analyser.infer(program.body)
    analyser.refuse_matrix_operands()
    analyser.concrete_sizes_from_entries()
    analyser.square_structures()
    analyser.infer_assumptions()
    analyser.var_names = analyser.names_for_vars()
    body = analyser.build(program.body)
    definitions = {definition.name: analyser.build(definition.node) for definition in program.definitions}
    symbols = {name: analyser.symbol(name) for name in analyser.symbol_shapes}
    declared = {name: Declared(kind, analyser.declared_dims.get(name)) for name, kind in analyser.kinds.items()}
    assumptions, structures, equations = analyser.build_assumptions()
    return Analysis(program.source, body, symbols, definitions, declared, program, analyser.resolved_shape,
                    assumptions, structures, equations)


def parse(text: str, scalars=(), symmetric=(), declare=(), assume=()) -> Analysis:
    return analyse(read_program(text), scalars, symmetric, declare, assume)


def read_program(text: str) -> Program:
    """The syntax of matcalc text or of LaTeX, each read by its own grammar."""
    if is_latex(text):
        from .latex_input import parse_latex   # loaded for LaTeX input only (its grammar is large)
        return parse_latex(text)
    return parse_program(text)




def analyse_rule(source: str, lhs: Node, rhs: Node, scalars, declared=None) -> tuple:
    """Both sides of a rules-file line, sharing kinds and dimensions.

    `declared`: {name: Declared} from the file's typed declarations (`N: matrix[m, n]`); their
    dimension names may appear on the right side (`commutation(m, n)`), bound by the match.
    Returns (lhs Expr, rhs Expr, {name: pattern variable Expr})."""
    program = Program(source=source, body=lhs)
    analyser = _Analyser(program, scalars, (), ())
    declared = declared or {}
    for name, (kind, dims) in declared.items():
        analyser._declare(name, kind, dims)
    analyser.left_of.update(_left_operand_parents(Program(source=source, body=rhs)))
    analyser.allow_differentials = True
    left, right = analyser.infer(lhs), analyser.infer(rhs)
    if not (analyser.dims.unify(left[0], right[0]) and analyser.dims.unify(left[1], right[1])):
        raise error_at(ShapeError, f"the two sides have different shapes: {analyser.describe(lhs, left)} "
                                   f"and {analyser.describe(rhs, right)}", source, rhs.start)
    analyser.var_names = analyser.names_for_vars()
    built = analyser.build(lhs), analyser.build(rhs)
    dimension_names = {d for _, dims in declared.values() for d in (dims or ()) if isinstance(d, str)}
    unbound = set(_names(rhs)) - set(_names(lhs)) - dimension_names
    if unbound:
        raise error_at(MatcalcError, f"the right side uses {', '.join(sorted(unbound))}, "
                                     f"which the left side does not bind", source, rhs.start)
    return built[0], built[1], {name: analyser.symbol(name) for name in analyser.symbol_shapes}


def _nodes(node: Node):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for a in current.args:
            stack.extend(a if isinstance(a, tuple) else (a,))


def _name_nodes(node: Node):
    return (n for n in _nodes(node) if n.op == "name")


def _names(node: Node):
    stack = [node]
    while stack:
        current = stack.pop()
        if current.op == "name" and current.value != "I" and current.value not in ops.CONSTANTS:
            yield current.value
        for a in current.args:
            stack.extend(a if isinstance(a, tuple) else (a,))
