"""SymPy code: a derivative as SymPy matrix expressions with symbolic sizes.

Contract: `sympy_code(d)` returns Python source that builds the result (at most two
axes) as a SymPy matrix expression and binds it to `derivative`; executed, it is the
derivative with symbolic sizes.  Operators' templates come from the operator table
(`code_sympy`; for an elementwise function, of one entry z), names from
codegen.Namespace.  step(0) is 0, as in d.evaluate.
"""
from __future__ import annotations

from fractions import Fraction

from . import expr as E
from .codegen import Namespace, derivative_title
from .codegen_plan import paren
from .errors import NotDifferentiableError
from .ops import OPERATORS


def sympy_code(derivative) -> str:
    if derivative.is_tensor:
        raise NotDifferentiableError("SymPy code is given for results with at most two axes; "
                                     "for a tensor use --format numpy or the vec form")
    symbols = list(derivative.analysis.symbols.values())
    names = Namespace(symbols)
    names.collect([derivative.expr])
    writer = _Writer(names)
    body = writer.code(derivative.expr)
    dims = sorted(names.dims)
    lines = ["import sympy as sp", ""]
    lines += [writer.helpers[h] for h in sorted(writer.helpers)]
    if dims:
        lines.append(", ".join(names.dim_code(d) for d in dims) + " = sp.symbols(" + repr(" ".join(dims))
                     + ", integer=True, positive=True)")
    for s in symbols:
        if s.kind == "scalar":
            lines.append(f"{names.user(s.name)} = sp.Symbol({s.name!r})")
        else:
            lines.append(f"{names.user(s.name)} = sp.MatrixSymbol({s.name!r}, {writer.dim(s.shape[0])}, "
                         f"{writer.dim(s.shape[1])})")
    lines += [f"{name} = {code}" for name, code in writer.assignments]
    lines.append(f"derivative = {body}   # {derivative_title(derivative)}")
    return "\n".join(lines) + "\n"


class _Writer:
    """SymPy code for one expression, intermediates assigned once."""

    def __init__(self, names):
        self.names = names
        self.assignments: list = []
        self.helpers: dict = {}
        self.memo: dict = {}

    def dim(self, d) -> str:
        # SymPy's DiagMatrix needs SymPy integers for a known size, not Python ints
        return f"sp.Integer({d})" if isinstance(d, int) else self.names.dim_code(d)

    def code(self, e: E.Expr) -> str:
        for node in E.postorder(e):
            if node not in self.memo:
                self.memo[node] = self._node(node, [self.memo[a] for a in node.args])
        return self.memo[e]

    def _node(self, node: E.Expr, args: list) -> str:
        op = node.op
        wrapped = [paren(t) for t in args]
        if op == "sym":
            return self.names.user(node.name)
        if op == "let":
            name = self.names.user(node.value)
            self.assignments.append((name, args[0]))
            return name
        if op == "num":
            return _number(node.value)
        if op == "dim":
            return self.dim(node.value)
        if op in ("I", "ones", "zero"):
            rows, cols = self.dim(node.shape[0]), self.dim(node.shape[1])
            return {"I": f"sp.Identity({rows})", "ones": f"sp.OneMatrix({rows}, {cols})",
                    "zero": f"sp.ZeroMatrix({rows}, {cols})"}[op]
        if op == "add":
            return " + ".join(self._term(t, text, node) for t, text in zip(node.args, args)).replace("+ -", "- ")
        if op == "mul":
            return self._product(node, wrapped)
        if op == "had":
            return f"sp.HadamardProduct({', '.join(args)})"
        if op == "kron":
            text = args[-1]
            for a in reversed(args[:-1]):
                text = f"sp.KroneckerProduct({a}, {text})"
            return text
        if op == "pow":
            return f"{wrapped[0]}**{wrapped[1]}"
        if op == "epow":
            return f"sp.HadamardPower({args[0]}, {args[1]})"
        if op == "fn":
            operator = OPERATORS[node.value]
            entry = operator.code_sympy
            if node.is_scalar:
                return entry.replace("z", wrapped[0])
            return f"{wrapped[0]}.applyfunc(lambda z: {entry})"
        if op == "sum":
            rows, cols = (self.dim(d) for d in node.args[0].shape)
            return f"(sp.OneMatrix(1, {rows}) * {wrapped[0]} * sp.OneMatrix({cols}, 1))[0, 0]"
        if op == "norm":
            rows, cols = (self.dim(d) for d in node.args[0].shape)
            entries = f"{wrapped[0]}.applyfunc(sp.Abs)" if node.value == "1" else f"sp.HadamardPower({args[0]}, 2)"
            total = f"(sp.OneMatrix(1, {rows}) * {entries} * sp.OneMatrix({cols}, 1))[0, 0]"
            return total if node.value == "1" else f"sp.sqrt({total})"
        if op == "entry":
            i, j = node.value
            return f"{wrapped[0]}[{i - 1}, {j - 1}]"
        if op == "lit":
            rows, cols = node.shape
            grid = ", ".join("[" + ", ".join(args[r * cols:(r + 1) * cols]) + "]" for r in range(rows))
            return f"sp.Matrix([{grid}])"
        operator = OPERATORS.get(op)
        template = None if operator is None else operator.code_sympy
        if template is None:
            raise NotDifferentiableError(f"no SymPy code for {op} in this version")
        if operator.code_helper and operator.code_helper.get("sympy"):
            self.helpers[op] = operator.code_helper["sympy"]
        return template.format(*(wrapped if template.startswith("{0}") else args))

    def _term(self, node: E.Expr, text: str, total: E.Expr) -> str:
        if node.is_scalar and not total.is_scalar:
            rows, cols = (self.dim(d) for d in total.shape)   # a scalar broadcast over the sum
            ones = f"sp.OneMatrix({rows}, {cols})"
            return ones if text == "1" else f"{paren(text)} * {ones}"
        return text

    def _product(self, node: E.Expr, wrapped: list) -> str:
        q, scalars, chain = E.mul_parts(node)
        k = len(scalars)
        chain_code = " * ".join(wrapped[k:])
        if chain and node.is_scalar:
            chain_code = f"({chain_code})[0, 0]"    # a 1 x 1 product is a number, as every 1 x 1 node is
        words = ([] if abs(q) == 1 else [paren(_number(abs(q)))]) + wrapped[:k]
        if chain_code:
            words.append(chain_code)
        text = " * ".join(words) if words else "1"
        return ("-" + (f"({text})" if " + " in text or " - " in text else text)) if q < 0 else text


def _number(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    return f"sp.Rational({q.numerator}, {q.denominator})"
