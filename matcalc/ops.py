"""The operator table: every fact of one operator alone, in one stanza.

Contract: `OPERATORS[name]` is the `Operator` of an expression node's op (`"tr"`,
`"had"`, ...), or, for an elementwise function (a node with op "fn"), of the
function's name (`"exp"`); `CALLS[word]` is the operator a function call `word(...)`
of the language builds; `SYNTAX[node_op]` the operator a syntax-tree node
(matcalc.syntax) builds; `CONSTANTS[name]` a named number (π) and `DERIVED_SYNTAX`
the syntax no single operator builds (-a, a / b, a ./ b); `of(node)` any Expr node's
stanza.  Stages read the table instead of keeping their own lists:
analysis and the constructors take shape rules from it, the evaluators and the code
generator their definitions, the printers their spellings.  Derivatives live in
rules/differentials.rules, not here.

Nothing is imported at module level beyond the standard library: NumPy and SymPy
definitions are functions of the module they get, `numpy(np, *arrays)` and
`sympy(sp, *matrices)` (for an elementwise function, of one entry: `sympy(sp, z)`),
so `import matcalc` stays light.

A stanza (`Operator`) holds:
  name          the node's op, or the elementwise function's name
  arity         number of arguments; None for n-ary (flattened: a + b + c)
  call          the word that calls it in the language (`tr`), None where it is spelled
                by an operator symbol
  syntax        the syntax-tree node ops that build it (the grammar's rule aliases)
  constructor   the canonical constructor's name in matcalc.expr
  commutative, associative, linear, elementwise   algebraic properties
  shape         its shape rule: a key of SHAPE_RULES (one definition, used with
                unification by analysis and with known sizes by the constructors)
  refusal       the shape rule's error, `{0}` standing for the refused operand
  text          its spelling in matcalc text: the function name, or the infix token
  infix         the infix token it is typed with (a + b, A ⊗ B), None for calls and postfixes
  latex         LaTeX template, `{0}` (`{1}`) for the operands' LaTeX (replaced as text:
                LaTeX braces stay as they are); `latex_scalar` where a scalar argument
                reads differently (|x|); latex_words: other words LaTeX input writes for
                it (\\ln, \\operatorname{Tr}, \\sgn)
  numpy, sympy  definitions, as above; None for nodes the evaluators build from the
                node itself (leaves, products with coefficients, entries, literals)
  code, code_sympy  templates of generated code ({0}, {1}: operands' code; for an
                elementwise SymPy template, z is one entry); code_jax and code_torch the
                same for JAX and PyTorch (code_jax None: `code` with np. read as jnp., as
                jax.numpy mirrors NumPy); code_helper {dialect: source} a function the
                generated module must define for the template (dialects numpy, sympy,
                jax, torch; a missing jax helper is the NumPy one read with jnp.)
  NumPy definitions raise OutsideDomain (log of a non-positive value, a singular
                inverse) rather than warn or return NaN; the evaluators report it
  inverse_in_derivative  its differential holds the inverse of its argument (inv, det,
                logdet): check.py then lets SymPy differentiate along one entry at a time
  cubic         computing it costs about 2 n^3 flops on an n x n argument (a factorisation
                or repeated products: inv, det, logdet, matrix powers), for codegen's cost model
  grows_in_sympy  each level of nesting multiplies SymPy's work on an entry (functions,
                inverses, determinants, softmax): check.py checks deep nests numerically
  never_negative  every value is >= 0 (abs of it is itself; powers of it fold)
  smooth        False where the derivative fails at an argument of 0 (abs, relu, ...)
  exact         Fraction -> Fraction | None: the exact value at a number, where one is
                known (exp(0) = 1), so constructors fold it
  of_scalar, at_identity   constructors of a square matrix's scalar function: what it is
                of a 1 x 1 argument (None: the argument itself; a function name: that
                function of it) and of the identity matrix
  precedence    the text precedence level of its result (SUM < ... < ATOM)

Adding an elementwise function is one `_function(...)` stanza here, its name in
grammar/matcalc.lark (and grammar/latex.lark's \\operatorname list), and its
derivative rule in rules/differentials.rules; tests/test_ops.py checks all four agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

# Text precedence levels, loosest first (SYNTAX.md): sum < product < prefix minus < power
# < postfix < atom.
SUM, PRODUCT, PREFIX, POWER, POSTFIX, ATOM = range(6)


@dataclass(frozen=True, slots=True, eq=False)   # one stanza per operator: identity is equality
class Operator:
    name: str
    arity: int | None
    shape: str
    constructor: str | None = None
    call: str | None = None
    syntax: tuple = ()
    commutative: bool = False
    associative: bool = False
    linear: bool = False
    elementwise: bool = False
    refusal: str | None = None
    text: str | None = None
    infix: str | None = None
    latex: str | None = None
    latex_scalar: str | None = None
    latex_words: tuple = ()
    numpy: Callable | None = None
    sympy: Callable | None = None
    code: str | None = None
    code_sympy: str | None = None
    code_jax: str | None = None
    code_torch: str | None = None
    code_helper: dict | None = None
    inverse_in_derivative: bool = False
    cubic: bool = False
    grows_in_sympy: bool = False
    never_negative: bool = False
    smooth: bool = True
    exact: Callable | None = None
    of_scalar: str | None = None
    at_identity: int | None = None
    precedence: int = ATOM

    @property
    def is_function(self) -> bool:
        """An elementwise function of the language (exp, relu, ...): a node with op "fn"."""
        return self.constructor == "func"


# ---------------------------------------------------------------- shape rules

class ShapeRuleError(Exception):
    """A shape rule's refusal: `template` with `{0}` for the operand at `operand`, which
    the caller describes in its own terms (a size, or the text the user typed)."""

    def __init__(self, template: str, operand: int = 0):
        super().__init__(template)
        self.template = template
        self.operand = operand


class Sizes:
    """What a shape rule asks of dimensions: `one(d)` (is d the size 1), `unify(a, b)`
    (can a and b be made equal, making them so), `product(a, b)` (the size a*b).
    Known sizes compare by equality; analysis passes its union-find instead."""

    def __init__(self, one, unify, product):
        self.one, self.unify, self.product = one, unify, product

    def scalar(self, shape) -> bool:
        return self.one(shape[0]) and self.one(shape[1])


def _same(op, sizes, a):
    return a


def _scalar(op, sizes, a):
    return (1, 1)


def _square(op, sizes, a):
    if not sizes.scalar(a) and not sizes.unify(a[0], a[1]):
        raise ShapeRuleError(op.refusal)


def _square_scalar(op, sizes, a):
    _square(op, sizes, a)
    return (1, 1)


def _square_same(op, sizes, a, *exponent):
    _square(op, sizes, a)
    return a


def _column(op, sizes, a):
    if not sizes.one(a[1]) or sizes.one(a[0]):
        raise ShapeRuleError(op.refusal)
    return a


def _column_scalar(op, sizes, a):
    _column(op, sizes, a)
    return (1, 1)


def _vector_scalar(op, sizes, a):
    if not (sizes.scalar(a) or sizes.one(a[0]) or sizes.one(a[1])):
        raise ShapeRuleError(op.refusal)
    return (1, 1)


def _transposed(op, sizes, a):
    return (a[1], a[0])


def _stacked(op, sizes, a):
    return (sizes.product(a[1], a[0]), 1)


def _diag(op, sizes, a):
    """diag(vector) is a diagonal matrix, diag(square matrix) its diagonal."""
    if sizes.scalar(a):
        return a
    if sizes.one(a[1]):
        return (a[0], a[0])
    if sizes.one(a[0]):
        return (a[1], a[1])
    _square(op, sizes, a)
    return (a[0], 1)


def _outer(op, sizes, *shapes):
    rows, cols = shapes[0]
    for other in shapes[1:]:
        rows, cols = sizes.product(rows, other[0]), sizes.product(cols, other[1])
    return (rows, cols)


SHAPE_RULES = {
    "same": _same, "scalar": _scalar, "square-scalar": _square_scalar, "square-same": _square_same,
    "column": _column, "column-scalar": _column_scalar, "vector-scalar": _vector_scalar,
    "transposed": _transposed, "stacked": _stacked, "diag": _diag, "outer": _outer,
    # rules of the structural nodes, which their constructors and analysis apply with
    # their operands (broadcast scalars, chain inner sizes, integer exponents)
    "broadcast": None, "chain": None, "power": None, "leaf": None, "entry": None,
    "literal": None,
}


def result_shape(op: Operator, sizes: Sizes, *shapes) -> tuple:
    """The shape of op applied to operands of these shapes, or ShapeRuleError."""
    return SHAPE_RULES[op.shape](op, sizes, *shapes)


# ---------------------------------------------------------------- definitions

class OutsideDomain(ValueError):
    """A NumPy definition's argument is outside the function's domain."""


def _positive(np, name: str, x, strict: bool = True):
    if np.any(x <= 0) if strict else np.any(x < 0):
        raise OutsideDomain(f"{name} of a {'non-positive' if strict else 'negative'} value")
    return x


def _numpy_inverse(np, x):
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        raise OutsideDomain("inverse of a singular matrix") from None


def _exactly(values: dict):
    return lambda q: values.get(q)


def _numpy_sigmoid(np, x):
    # exp of a non-positive number only: no overflow for large |x|
    t = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + t), t / (1 + t))


def _numpy_erf(np, x):
    return np.vectorize(math.erf, otypes=[float])(x)


def _function(name: str, numpy, sympy, code: str, code_sympy: str, latex: str, **facts) -> Operator:
    """An elementwise function of the language: name(A) applies it to every entry."""
    return Operator(name=name, arity=1, shape="same", constructor="func", call=name, elementwise=True,
                    grows_in_sympy=True, text=name, latex=latex, numpy=numpy, sympy=sympy, code=code, code_sympy=code_sympy,
                    **facts)


def _sign(q):
    return Fraction((q > 0) - (q < 0))


FUNCTIONS = (
    _function("exp", lambda np, x: np.exp(x), lambda sp, z: sp.exp(z),
              "np.exp({0})", "sp.exp(z)", r"\exp\left({0}\right)", code_torch="torch.exp({0})",
              never_negative=True, exact=_exactly({0: Fraction(1)})),
    _function("log", lambda np, x: np.log(_positive(np, "log", x)), lambda sp, z: sp.log(z),
              "np.log({0})", "sp.log(z)", r"\log\left({0}\right)", code_torch="torch.log({0})", latex_words=("ln",),
              exact=_exactly({1: Fraction(0)})),
    _function("sin", lambda np, x: np.sin(x), lambda sp, z: sp.sin(z),
              "np.sin({0})", "sp.sin(z)", r"\sin\left({0}\right)", code_torch="torch.sin({0})", exact=_exactly({0: Fraction(0)})),
    _function("cos", lambda np, x: np.cos(x), lambda sp, z: sp.cos(z),
              "np.cos({0})", "sp.cos(z)", r"\cos\left({0}\right)", code_torch="torch.cos({0})", exact=_exactly({0: Fraction(1)})),
    _function("tanh", lambda np, x: np.tanh(x), lambda sp, z: sp.tanh(z),
              "np.tanh({0})", "sp.tanh(z)", r"\tanh\left({0}\right)", code_torch="torch.tanh({0})", exact=_exactly({0: Fraction(0)})),
    _function("sigmoid", _numpy_sigmoid, lambda sp, z: 1 / (1 + sp.exp(-z)),
              "1 / (1 + np.exp(-{0}))", "1 / (1 + sp.exp(-z))", r"\sigma\left({0}\right)", code_torch="torch.sigmoid({0})", latex_words=("sigma",),
              never_negative=True, exact=_exactly({0: Fraction(1, 2)})),
    _function("sqrt", lambda np, x: np.sqrt(_positive(np, "sqrt", x, strict=False)), lambda sp, z: sp.sqrt(z),
              "np.sqrt({0})", "sp.sqrt(z)", r"\sqrt{{0}}", code_torch="torch.sqrt({0})",
              never_negative=True, exact=_exactly({0: Fraction(0), 1: Fraction(1)})),
    # |X| of a matrix reads as its determinant in the notes: abs of a matrix is a word
    _function("abs", lambda np, x: np.abs(x), lambda sp, z: sp.Abs(z),
              "np.abs({0})", "sp.Abs(z)", r"\operatorname{abs}\left({0}\right)", code_torch="torch.abs({0})",
              latex_scalar=r"\left|{0}\right|", never_negative=True, smooth=False, exact=abs),
    _function("relu", lambda np, x: np.maximum(x, 0), lambda sp, z: sp.Max(0, z),
              "np.maximum({0}, 0)", "sp.Max(0, z)", r"\operatorname{relu}\left({0}\right)", code_torch="torch.clamp({0}, min=0)",
              never_negative=True, smooth=False, exact=lambda q: max(q, Fraction(0))),
    _function("softplus", lambda np, x: np.logaddexp(0, x), lambda sp, z: sp.log(1 + sp.exp(z)),
              "np.logaddexp(0, {0})", "sp.log(1 + sp.exp(z))", r"\operatorname{softplus}\left({0}\right)", code_torch="torch.nn.functional.softplus({0})",
              never_negative=True),
    _function("sign", lambda np, x: np.sign(x), lambda sp, z: sp.sign(z),
              "np.sign({0})", "sp.sign(z)", r"\operatorname{sign}\left({0}\right)", code_torch="torch.sign({0})", latex_words=("sgn",),
              smooth=False, exact=_sign),
    # step(0) = 0 (SYNTAX.md): in SymPy Heaviside's value at 0 is given, not its default 1/2
    _function("step", lambda np, x: np.heaviside(x, 0.0), lambda sp, z: sp.Heaviside(z, 0),
              "np.heaviside({0}, 0)", "sp.Heaviside(z, 0)", r"\operatorname{step}\left({0}\right)", code_torch="torch.heaviside({0}, torch.zeros_like({0}))",
              never_negative=True, smooth=False, exact=lambda q: Fraction(1 if q > 0 else 0)),
    _function("erf", _numpy_erf, lambda sp, z: sp.erf(z),
              "erf({0})", "sp.erf(z)", r"\operatorname{erf}\left({0}\right)", code_torch="torch.special.erf({0})",
              exact=_exactly({0: Fraction(0)}), code_jax="jax.scipy.special.erf({0})",
              code_helper={"numpy": "def erf(z):\n    import math\n    return np.vectorize(math.erf, otypes=[float])(z)\n"}),
)


def _sympy_inverse(sp, m):
    """adj(M) / det(M), division-free: far faster than Gaussian elimination on symbolic entries."""
    if m.shape == (1, 1):
        return sp.Matrix([[1 / m[0, 0]]])
    det = m.det(method="berkowitz")
    if det == 0:
        raise ZeroDivisionError("inverse of a singular matrix")
    return m.adjugate(method="berkowitz") / det


def _numpy_logdet(np, x):
    sign, value = np.linalg.slogdet(x)
    if sign <= 0:
        raise OutsideDomain("logdet of a matrix whose determinant is not positive")
    return np.array([[value]])


def _numpy_softmax(np, x):
    z = np.exp(x - np.max(x))
    return z / np.sum(z)


def _numpy_logsumexp(np, x):
    top = np.max(x)
    return np.array([[top + np.log(np.sum(np.exp(x - top)))]])


def _sympy_vec(sp, m):
    return sp.Matrix([m[i, j] for j in range(m.shape[1]) for i in range(m.shape[0])])


def _sympy_softmax(sp, x):
    exps = x.applyfunc(sp.exp)
    return exps / sum(exps)


_SQUARE = "{what} needs a square matrix, not {{0}}"

MATRIX_OPERATORS = (
    Operator("add", None, "broadcast", "add", syntax=("add", "sub"), commutative=True, associative=True,
             linear=True, text="+", infix="+", latex="+", precedence=SUM, refusal="cannot add {0} and {1}",
             numpy=lambda np, a, b: a + b, sympy=lambda sp, a, b: a + b),
    Operator("mul", None, "chain", "mul", syntax=("mul",), associative=True, linear=True,
             text=" ", infix="*", latex=" ", precedence=PRODUCT),
    Operator("had", None, "broadcast", "hadamard", syntax=("hadamard",), commutative=True,
             associative=True, linear=True, elementwise=True, text=".*", infix=".*", latex=r"\odot",
             precedence=PRODUCT, refusal="cannot multiply elementwise {0} and {1}",
             numpy=lambda np, a, b: a * b, sympy=lambda sp, a, b: a.multiply_elementwise(b),
             code="{0} * {1}", code_sympy="sp.HadamardProduct({0}, {1})", code_torch="{0} * {1}"),
    Operator("kron", None, "outer", "kron", call="kron", syntax=("kron",), associative=True, linear=True,
             text="kron", infix="⊗", latex=r"\otimes", precedence=PRODUCT,
             numpy=lambda np, a, b: np.kron(a, b), sympy=lambda sp, a, b: sp.kronecker_product(a, b),
             code="np.kron({0}, {1})", code_sympy="sp.KroneckerProduct({0}, {1})", code_torch="torch.kron({0}, {1})"),
    Operator("T", 1, "transposed", "transpose", syntax=("transpose",), linear=True, text="^T",
             latex=r"{0}^\top", precedence=POSTFIX,
             numpy=lambda np, a: a.T, sympy=lambda sp, a: a.T, code="{0}.T", code_sympy="{0}.T",
             code_torch="{0}.T"),
    Operator("inv", 1, "square-same", "inverse", call="inv", syntax=("inverse",), text="inv",
             inverse_in_derivative=True, grows_in_sympy=True, cubic=True,
             refusal=_SQUARE.format(what="the inverse"), latex="{0}^{-1}", precedence=POSTFIX,
             numpy=_numpy_inverse, sympy=_sympy_inverse,
             code="np.linalg.inv({0})", code_sympy="{0}.I", code_torch="torch.linalg.inv({0})"),
    Operator("pow", 2, "power", "power", syntax=("power",), text="^", latex="{0}^{{1}}", precedence=POWER),
    Operator("mpow", 2, "square-same", "power", refusal=_SQUARE.format(what="a matrix power"), text="^", latex="{0}^{{1}}",
             precedence=POWER, cubic=True,
             numpy=lambda np, a, k: np.linalg.matrix_power(a, int(k[0, 0])),
             sympy=lambda sp, a, k: a ** int(k[0, 0]),
             code="np.linalg.matrix_power({0}, {1})", code_sympy="{0}**{1}",
             code_torch="torch.linalg.matrix_power({0}, {1})"),
    Operator("epow", 2, "power", "elementwise_power", syntax=("elementwise_power",), elementwise=True,
             text=".^", latex=r"{0}^{\circ {1}}", precedence=POWER),
    Operator("tr", 1, "square-scalar", "trace", call="tr", linear=True, text="tr", latex_words=("Tr", "trace"),
             refusal=_SQUARE.format(what="the trace"), latex=r"\operatorname{tr}\left({0}\right)",
             numpy=lambda np, a: np.array([[np.trace(a)]]), sympy=lambda sp, a: sp.Matrix([[a.trace()]]),
             code="np.trace({0})", code_sympy="sp.Trace({0})", code_torch="torch.trace({0})"),
    Operator("det", 1, "square-scalar", "square_function", call="det", text="det",
             inverse_in_derivative=True, grows_in_sympy=True, cubic=True,
             refusal=_SQUARE.format(what="the determinant"), latex=r"\det\left({0}\right)",
             at_identity=1,
             numpy=lambda np, a: np.array([[np.linalg.det(a)]]),
             sympy=lambda sp, a: sp.Matrix([[a.det(method="berkowitz")]]),
             code="np.linalg.det({0})", code_sympy="sp.Determinant({0})", code_torch="torch.linalg.det({0})"),
    Operator("logdet", 1, "square-scalar", "square_function", call="logdet", text="logdet",
             inverse_in_derivative=True, grows_in_sympy=True, cubic=True,
             refusal=_SQUARE.format(what="logdet"), latex=r"\log\det\left({0}\right)",
             of_scalar="log", at_identity=0,
             numpy=_numpy_logdet, sympy=lambda sp, a: sp.Matrix([[sp.log(a.det(method="berkowitz"))]]),
             code="np.linalg.slogdet({0})[1]", code_sympy="sp.log(sp.Determinant({0}))",
             code_torch="torch.linalg.slogdet({0})[1]"),
    Operator("diagm", 1, "diag", "diag", call="diag", linear=True, text="diag",
             refusal=_SQUARE.format(what="diag of a matrix"), latex=r"\operatorname{diag}\left({0}\right)",
             numpy=lambda np, a: np.diagflat(a), sympy=lambda sp, a: sp.diag(*list(a)),
             code="np.diagflat({0})", code_sympy="sp.DiagMatrix({0})", code_torch="torch.diagflat({0})"),
    Operator("diagv", 1, "diag", "diag", linear=True, text="diag",
             refusal=_SQUARE.format(what="diag of a matrix"), latex=r"\operatorname{diag}\left({0}\right)",
             numpy=lambda np, a: np.diag(a).reshape(-1, 1).copy(),
             sympy=lambda sp, a: sp.Matrix(a.shape[0], 1, lambda i, j: a[i, i]),
             code="np.diag({0}).reshape(-1, 1)", code_sympy="sp.DiagonalOf({0})",
             code_torch="torch.diagonal({0}).reshape(-1, 1)"),
    Operator("sum", 1, "scalar", "total", call="sum", linear=True, text="sum",
             latex=r"\operatorname{sum}\left({0}\right)",
             numpy=lambda np, a: np.array([[np.sum(a)]]), sympy=lambda sp, a: sp.Matrix([[sum(a)]]),
             code="np.sum({0})", code_torch="torch.sum({0})"),
    Operator("norm", 1, "vector-scalar", "norm", call="norm", syntax=("norm",), text="||", never_negative=True,
             smooth=False, refusal="norm is the Euclidean norm of a vector; {0} is a matrix: write ||X||_F",
             latex=r"\left\lVert {0} \right\rVert"),
    Operator("softmax", 1, "column", "vector_function", call="softmax", text="softmax",
             grows_in_sympy=True,
             refusal="softmax takes a column vector, not {0}", never_negative=True,
             latex=r"\operatorname{softmax}\left({0}\right)", numpy=_numpy_softmax, sympy=_sympy_softmax,
             code="softmax({0})", code_sympy="softmax({0})", code_torch="softmax({0})",
             code_helper={"numpy": "def softmax(z):\n    e = np.exp(z - np.max(z))\n    return e / np.sum(e)\n",
                          "sympy": "def softmax(z):\n    e = z.applyfunc(sp.exp)\n"
                                   "    return e / (sp.OneMatrix(1, e.shape[0]) * e)[0, 0]\n",
                          "torch": "def softmax(z):\n    e = torch.exp(z - torch.max(z))\n    return e / torch.sum(e)\n"}),
    Operator("logsumexp", 1, "column-scalar", "vector_function", call="logsumexp", text="logsumexp",
             grows_in_sympy=True,
             refusal="logsumexp takes a column vector, not {0}",
             latex=r"\operatorname{logsumexp}\left({0}\right)", numpy=_numpy_logsumexp,
             sympy=lambda sp, a: sp.Matrix([[sp.log(sum(a.applyfunc(sp.exp)))]]),
             code="logsumexp({0})", code_sympy="logsumexp({0})", code_torch="logsumexp({0})",
             code_helper={"numpy": "def logsumexp(z):\n    top = np.max(z)\n    return top + np.log(np.sum(np.exp(z - top)))\n",
                          "sympy": "def logsumexp(z):\n    return sp.log((sp.OneMatrix(1, z.shape[0]) * z.applyfunc(sp.exp))[0, 0])\n",
                          "torch": "def logsumexp(z):\n    return torch.logsumexp(z.reshape(-1), 0)\n"}),
    Operator("vec", 1, "stacked", "vec", call="vec", linear=True, text="vec",
             latex=r"\operatorname{vec}\left({0}\right)",
             numpy=lambda np, a: a.reshape(-1, 1, order="F"), sympy=_sympy_vec,
             code='{0}.reshape(-1, 1, order="F")', code_torch="{0}.T.reshape(-1, 1)"),
    Operator("comm", 0, "leaf", "commutation", call="commutation", text="commutation",
             latex=r"\mathbf{K}_{{0},{1}}",
             code_helper={"numpy": "def commutation(rows, cols):\n    \"\"\"K with K vec(M) = vec(M^T) for rows x cols M.\"\"\"\n"
                                   "    places = np.arange(rows * cols).reshape(rows, cols, order=\"F\")\n"
                                   "    return np.eye(rows * cols)[places.T.reshape(-1, order=\"F\")]\n",
                          "torch": "def commutation(rows, cols):\n    \"\"\"K with K vec(M) = vec(M^T) for rows x cols M.\"\"\"\n"
                                   "    place = torch.arange(rows * cols)\n"
                                   "    return torch.eye(rows * cols, dtype=torch.float64)[place // cols + (place % cols) * rows]\n"}),
    Operator("entry", 1, "entry", "entry", syntax=("entry",), text="[]", latex=r"\left[{0}\right]_{{1}}",
             precedence=POSTFIX),
    Operator("lit", None, "literal", "literal", syntax=("literal",), text="[]",
             latex=r"\begin{bmatrix} {0} \end{bmatrix}"),
    Operator("d", 1, "same", "differential", syntax=("differential",), linear=True, text="d",
             latex=r"\mathrm{d}{0}"),
    Operator("let", 1, "same", "named", text="name", latex="name"),
    Operator("sym", 0, "leaf", "symbol", text="name", latex="name"),
    Operator("num", 0, "leaf", "number", syntax=("number",), text="number", latex="number"),
    Operator("I", 0, "leaf", "identity", text="I", latex=r"\mathbf{I}"),
    Operator("ones", 0, "leaf", "ones", text="1", latex=r"\mathbf{1}"),
    Operator("zero", 0, "leaf", "zeros", text="0", latex=r"\mathbf{0}"),
    Operator("dim", 0, "leaf", "dim_number", text="size", latex="{0}"),
    # π, the number: erf's derivative has 2 / sqrt(π); an undeclared name π (docs/language.md)
    Operator("pi", 0, "leaf", "constant", text="π", latex=r"\pi", never_negative=True,
             numpy=lambda np: np.array([[np.pi]]), sympy=lambda sp: sp.Matrix([[sp.pi]]),
             code="np.pi", code_sympy="sp.pi", code_torch="math.pi", code_helper={"torch": "import math\n"}),
)

# Syntax that no single operator builds: the constructors compose it (-a is -1 a, a / b is
# a b^-1, a ./ b is a .* b .^ -1).
DERIVED_SYNTAX = ("neg", "divide", "elementwise_divide")

OPERATORS = {op.name: op for op in FUNCTIONS + MATRIX_OPERATORS}
CALLS = {op.call: op for op in OPERATORS.values() if op.call}
SYNTAX = {node_op: op for op in OPERATORS.values() for node_op in op.syntax}
ELEMENTWISE_FUNCTIONS = tuple(op.name for op in FUNCTIONS)
# names that are numbers unless declared: the spelling of each constant
CONSTANTS = {op.text: op for op in MATRIX_OPERATORS if op.arity == 0 and op.numpy is not None}


def by_shape(rule: str) -> Operator:
    """The one operator with this shape rule: "outer" is the Kronecker product's."""
    (operator,) = (op for op in OPERATORS.values() if op.shape == rule)
    return operator


def of(node) -> Operator:
    """The stanza of an expression node: its function's for an elementwise function."""
    return OPERATORS[node.value if node.op == "fn" else node.op]
