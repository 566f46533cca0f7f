"""Emit code: a derivative as a standalone NumPy function, or as SymPy matrix expressions.

Contract: `numpy_code(d)` returns Python source defining `derivative(<symbols>)`, which
computes what `d.evaluate` computes (a float for a scalar, a 2-D array, or the tensor in
the layout's axis order) with NumPy alone.
`sympy_code(d)` returns Python source that builds the result as a SymPy matrix
expression with symbolic sizes and binds it to `derivative`.  `matcalc diff --format
numpy|sympy` prints them; matcalc itself never executes them.  One walker serves both
dialects: an operator's code is a template per dialect.

Names: every identifier the code binds (arguments, intermediates, dimensions) is
distinct from the others and from Python's keywords and builtins, the modules and the
helpers the code uses: a symbol `lambda` is the argument `lambda_`, a dimension named
like a symbol (`n x^T x` with scalar n, x of length n) is `n_size`.  A size no argument
has (tr(I), with I of its own size) is a keyword-only argument, as evaluate asks for it.
step(0) is 0 in both dialects, as in d.evaluate.
"""
from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from fractions import Fraction

from . import expr as E
from .layout import layout_order
from .errors import NotDifferentiableError

# op -> (NumPy template, SymPy template); {0}, {1} are the operands' code
_TEMPLATES = {
    "T": ("{0}.T", "{0}.T"),
    "inv": ("np.linalg.inv({0})", "{0}.I"),
    "mpow": ("np.linalg.matrix_power({0}, {1})", "{0}**{1}"),
    "tr": ("np.trace({0})", "sp.Trace({0})"),
    "det": ("np.linalg.det({0})", "sp.Determinant({0})"),
    "logdet": ("np.linalg.slogdet({0})[1]", "sp.log(sp.Determinant({0}))"),
    "diagm": ("np.diagflat({0})", "sp.DiagMatrix({0})"),
    "diagv": ("np.diag({0}).reshape(-1, 1)", "sp.DiagonalOf({0})"),
    "softmax": ("softmax({0})", "softmax({0})"),
    "logsumexp": ("logsumexp({0})", "logsumexp({0})"),
    "vec": ('{0}.reshape(-1, 1, order="F")', None),
}
_FUNCTIONS = {   # elementwise: (NumPy, SymPy of one scalar z)
    "exp": ("np.exp({0})", "sp.exp(z)"), "log": ("np.log({0})", "sp.log(z)"),
    "sin": ("np.sin({0})", "sp.sin(z)"), "cos": ("np.cos({0})", "sp.cos(z)"),
    "tanh": ("np.tanh({0})", "sp.tanh(z)"), "sqrt": ("np.sqrt({0})", "sp.sqrt(z)"),
    "abs": ("np.abs({0})", "sp.Abs(z)"), "sign": ("np.sign({0})", "sp.sign(z)"),
    "sigmoid": ("1 / (1 + np.exp(-{0}))", "1 / (1 + sp.exp(-z))"),
    "relu": ("np.maximum({0}, 0)", "sp.Max(0, z)"),
    "softplus": ("np.logaddexp(0, {0})", "sp.log(1 + sp.exp(z))"),
    "step": ("np.heaviside({0}, 0)", "sp.Heaviside(z, 0)"),   # step(0) = 0, as d.evaluate
}
_HELPERS = {
    "softmax": ("def softmax(z):\n    e = np.exp(z - np.max(z))\n    return e / np.sum(e)\n",
                "def softmax(z):\n    e = z.applyfunc(sp.exp)\n"
                "    return e / (sp.OneMatrix(1, e.shape[0]) * e)[0, 0]\n"),
    "logsumexp": ("def logsumexp(z):\n    top = np.max(z)\n    return top + np.log(np.sum(np.exp(z - top)))\n",
                  "def logsumexp(z):\n    return sp.log((sp.OneMatrix(1, z.shape[0]) * z.applyfunc(sp.exp))[0, 0])\n"),
    "comm": ("def commutation(rows, cols):\n    \"\"\"K with K vec(M) = vec(M^T) for rows x cols M.\"\"\"\n"
             "    places = np.arange(rows * cols).reshape(rows, cols, order=\"F\")\n"
             "    return np.eye(rows * cols)[places.T.reshape(-1, order=\"F\")]\n", None),
}


# a name, attribute or number, optionally called and indexed: x, X.T, np.exp(...), x[0, 0]
_NAME = re.compile(r"[A-Za-z_0-9][\w.]*")


def _is_atom(text: str) -> bool:
    """A name or number, then at most one call's parentheses, then indices, and nothing
    else: `f(a)[0, 1]` is one operand, `f(a)[0, 1] + g(b)[1, 0]` is not."""
    name = _NAME.match(text)
    if name is None:
        return False
    at = name.end()
    if at < len(text) and text[at] == "(":
        at = _closing(text, at)
    while at is not None and at < len(text) and text[at] == "[":
        at = _closing(text, at)
    return at == len(text)


def _closing(text: str, opening: int):
    """The position after the bracket that closes the one at `opening`, or None."""
    depth = 0
    for i in range(opening, len(text)):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return None


def numpy_code(derivative) -> str:
    expression = derivative.vec().expr if derivative.is_tensor else derivative.expr
    writer = _Writer("numpy", _Namespace(derivative, expression))
    if derivative.is_tensor:
        body = writer.code(expression)
        sizes = [writer.dim(d) for d in derivative.f_axes + derivative.v_axes]
        order = layout_order(len(derivative.f_axes), len(derivative.v_axes), derivative.layout)
        result = (f"({body}).reshape(({', '.join(sizes)},), order=\"F\")"
                  f".transpose({', '.join(str(k) for k in order)},)")
    else:
        body = writer.code(expression)
        result = f"float(np.asarray({body}).reshape(-1)[0])" if expression.is_scalar else body
    symbols = list(derivative.analysis.symbols.values())
    names = [writer.name(s.value[0]) for s in symbols]
    lines = ["import numpy as np", ""]
    lines += [writer.helpers[h] for h in sorted(writer.helpers)]
    # a size no argument has (tr(I) with I of its own size) is asked for by name
    free = [writer.dim(d) for d in sorted(writer.names.dims)
            if not any(d in s.shape for s in symbols if s.value[1] != "scalar")]
    lines.append(f"def derivative({', '.join(names + (['*'] + free if free else []))}):")
    lines.append(f'    """{_title(derivative)}; vectors as (n,) or (n, 1), scalars as numbers'
                 + (f"; the sizes {', '.join(free)} by name" if free else "") + '."""')
    for s, name in zip(symbols, names):
        if s.value[1] == "vector":
            lines.append(f"    {name} = np.asarray({name}, dtype=float).reshape(-1, 1)")
        elif s.value[1] != "scalar":
            lines.append(f"    {name} = np.asarray({name}, dtype=float)")
    bound = set()
    for s, name in zip(symbols, names):
        for axis, d in enumerate(s.shape):
            if isinstance(d, str) and "*" not in d and d not in bound and s.value[1] != "scalar":
                lines.append(f"    {writer.dim(d)} = {name}.shape[{axis}]")
                bound.add(d)
    lines += [f"    {name} = {code}" for name, code in writer.assignments]
    lines.append(f"    return {result}")
    return "\n".join(lines) + "\n"


def sympy_code(derivative) -> str:
    if derivative.is_tensor:
        raise NotDifferentiableError("SymPy code is given for results with at most two axes; "
                                     "for a tensor use --format numpy or the vec form")
    writer = _Writer("sympy", _Namespace(derivative, derivative.expr))
    body = writer.code(derivative.expr)
    symbols = list(derivative.analysis.symbols.values())
    dims = sorted(writer.names.dims)
    lines = ["import sympy as sp", ""]
    lines += [writer.helpers[h] for h in sorted(writer.helpers)]
    if dims:
        lines.append(", ".join(writer.dim(d) for d in dims) + " = sp.symbols(" + repr(" ".join(dims))
                     + ", integer=True, positive=True)")
    for s in symbols:
        name, kind = s.value
        if kind == "scalar":
            lines.append(f"{writer.name(name)} = sp.Symbol({name!r})")
        else:
            lines.append(f"{writer.name(name)} = sp.MatrixSymbol({name!r}, {writer.dim(s.shape[0])}, "
                         f"{writer.dim(s.shape[1])})")
    lines += [f"{name} = {code}" for name, code in writer.assignments]
    lines.append(f"derivative = {body}   # {_title(derivative)}")
    return "\n".join(lines) + "\n"


def _title(derivative) -> str:
    by = ", ".join(v.value[0] for v in derivative.variables)
    shape = " x ".join(str(d) for d in derivative.shape)
    return f"d({derivative.function})/d({by}), {derivative.layout} layout, {shape}"


# identifiers the generated module defines or imports (the helpers' locals cannot clash)
_OWN = {"np", "sp", "derivative", "softmax", "logsumexp", "commutation"}


def _python_name(name: str) -> str:
    """An ASCII identifier for a name (Python folds some Unicode letters together: ℌ is H)."""
    if name.isascii():
        return name
    return "".join(c if c.isascii() else f"_{ord(c):x}" for c in unicodedata.normalize("NFC", name))


class _Namespace:
    """One Python identifier per user name and per dimension, none equal to another or to a
    keyword, a builtin or a name the code uses for itself."""

    def __init__(self, derivative, expression):
        taken = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins)) | _OWN
        users = [s.value[0] for s in derivative.analysis.symbols.values()]
        users += [n.value for n in E.postorder(expression) if n.op == "let"]
        self.users: dict = {}
        for name in users:
            if name not in self.users:
                self.users[name] = self._fresh(_python_name(name), taken, "_")
        dims = {f for s in derivative.analysis.symbols.values() for d in s.shape if isinstance(d, str)
                for f in d.split("*") if not f.isdigit()}
        for node in E.postorder(expression):
            sizes = list(node.shape) + ([node.value] if node.op == "dim" else []) + \
                (list(node.value) if node.op == "comm" else [])
            dims |= {f for d in sizes if isinstance(d, str) for f in d.split("*") if not f.isdigit()}
        self.dims: dict = {}
        for d in sorted(dims):
            self.dims[d] = self._fresh(_python_name(d), taken, "_size")

    @staticmethod
    def _fresh(name: str, taken: set, suffix: str) -> str:
        while name in taken:
            name += suffix
        taken.add(name)
        return name


class _Writer:
    """Code for one expression, shared subexpressions (intermediates) assigned once."""

    def __init__(self, dialect: str, names: _Namespace):
        self.dialect = dialect
        self.numpy = dialect == "numpy"
        self.names = names
        self.assignments: list = []
        self.helpers: dict = {}
        self.memo: dict = {}

    def name(self, name: str) -> str:
        return self.names.users[name]

    def dim(self, d) -> str:
        """A dimension in code: a number, a name, or a product of them."""
        if isinstance(d, int):
            return str(d)
        return "*".join(p if p.isdigit() else self.names.dims[p] for p in d.split("*"))

    def code(self, e: E.Expr) -> str:
        for node in E.postorder(e):
            if node not in self.memo:
                self.memo[node] = self._node(node, [self.memo[a] for a in node.args])
        return self.memo[e]

    def _operand(self, node: E.Expr, text: str) -> str:
        """The code in parentheses unless it is a name, a call, an attribute or an index."""
        return text if _is_atom(text) else f"({text})"

    def _node(self, node: E.Expr, args: list) -> str:
        op = node.op
        wrapped = [self._operand(a, t) for a, t in zip(node.args, args)]
        if op == "sym":
            return self.name(node.value[0])
        if op == "let":
            name = self.name(node.value)
            self.assignments.append((name, args[0]))
            return name
        if op == "num":
            return self._number(node.value)
        if op == "dim":
            return self.dim(node.value)
        if op in ("I", "ones", "zero"):
            rows, cols = self.dim(node.shape[0]), self.dim(node.shape[1])
            if self.numpy:
                return {"I": f"np.eye({rows})", "ones": f"np.ones(({rows}, {cols}))",
                        "zero": f"np.zeros(({rows}, {cols}))"}[op]
            return {"I": f"sp.Identity({rows})", "ones": f"sp.OneMatrix({rows}, {cols})",
                    "zero": f"sp.ZeroMatrix({rows}, {cols})"}[op]
        if op == "comm":
            return self._helper("comm", f"commutation({self.dim(node.value[0])}, {self.dim(node.value[1])})")
        if op == "add":
            return " + ".join(self._term(t, text, node) for t, text in zip(node.args, args)).replace("+ -", "- ")
        if op == "mul":
            return self._product(node, wrapped)
        if op == "had":
            return " * ".join(wrapped) if self.numpy else f"sp.HadamardProduct({', '.join(args)})"
        if op == "kron":
            text = args[-1]
            for a in reversed(args[:-1]):
                text = f"np.kron({a}, {text})" if self.numpy else f"sp.KroneckerProduct({a}, {text})"
            return text
        if op in ("pow", "epow"):
            if self.numpy or op == "pow":
                return f"{wrapped[0]}**{wrapped[1]}"
            return f"sp.HadamardPower({args[0]}, {args[1]})"
        if op == "fn":
            numpy, sympy = _FUNCTIONS[node.value]
            if self.numpy:
                return numpy.format(wrapped[0])
            if node.is_scalar:
                return sympy.replace("z", wrapped[0])
            return f"{wrapped[0]}.applyfunc(lambda z: {sympy})"
        if op == "sum":
            if self.numpy:
                return f"np.sum({args[0]})"
            rows, cols = (self.dim(d) for d in node.args[0].shape)
            return f"(sp.OneMatrix(1, {rows}) * {wrapped[0]} * sp.OneMatrix({cols}, 1))[0, 0]"
        if op == "norm":
            return self._norm(node, args[0], wrapped[0])
        if op == "entry":
            i, j = node.value
            return f"{wrapped[0]}[{i - 1}, {j - 1}]"
        if op == "lit":
            rows, cols = node.shape
            grid = ", ".join("[" + ", ".join(args[r * cols:(r + 1) * cols]) + "]" for r in range(rows))
            # np.block takes numbers and 1 x 1 arrays alike; floats, or [2; 4] .^ -2 raises
            return f"np.block([{grid}]).astype(float)" if self.numpy else f"sp.Matrix([{grid}])"
        template = _TEMPLATES.get(op, (None, None))[0 if self.numpy else 1]
        if template is None:
            raise NotDifferentiableError(f"no {self.dialect} code for {op} in this version")
        if op in ("softmax", "logsumexp"):
            self._helper(op, "")
        return template.format(*(wrapped if template.startswith("{0}") else args))

    def _helper(self, key: str, call: str) -> str:
        code = _HELPERS[key][0 if self.numpy else 1]
        if code is None:
            raise NotDifferentiableError(f"no {self.dialect} code for the commutation matrix")
        self.helpers[key] = code
        return call

    def _number(self, q: Fraction) -> str:
        if q.denominator == 1:
            return str(q.numerator)
        if self.numpy:
            return f"{q.numerator} / {q.denominator}"
        return f"sp.Rational({q.numerator}, {q.denominator})"

    def _term(self, node: E.Expr, text: str, total: E.Expr) -> str:
        if not self.numpy and node.is_scalar and not total.is_scalar:
            rows, cols = (self.dim(d) for d in total.shape)   # a scalar broadcast over the sum (NumPy broadcasts itself)
            ones = f"sp.OneMatrix({rows}, {cols})"
            return ones if text == "1" else f"{self._operand(node, text)} * {ones}"
        return text

    def _product(self, node: E.Expr, wrapped: list) -> str:
        q, scalars, chain = E.mul_parts(node)
        k = len(scalars)
        scalar_codes = wrapped[:k]
        chain_code = (" @ " if self.numpy else " * ").join(wrapped[k:])
        if chain and not self.numpy and node.is_scalar:
            # a 1 x 1 matrix product is a number in SymPy's code, as every 1 x 1 node is
            chain_code = f"({chain_code})[0, 0]"
        words = ([] if abs(q) == 1 else [self._operand(E.number(abs(q)), self._number(abs(q)))]) + scalar_codes
        if chain_code:
            words.append(chain_code)
        text = " * ".join(words) if words else "1"
        return ("-" + (f"({text})" if " + " in text or " - " in text else text)) if q < 0 else text

    def _norm(self, node: E.Expr, text: str, wrapped: str) -> str:
        if self.numpy:
            return f"np.sum(np.abs({text}))" if node.value == "1" else f"np.sqrt(np.sum({wrapped}**2))"
        rows, cols = (self.dim(d) for d in node.args[0].shape)
        entries = f"{wrapped}.applyfunc(sp.Abs)" if node.value == "1" else f"sp.HadamardPower({text}, 2)"
        total = f"(sp.OneMatrix(1, {rows}) * {entries} * sp.OneMatrix({cols}, 1))[0, 0]"
        return total if node.value == "1" else f"sp.sqrt({total})"
