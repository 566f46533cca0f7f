"""Generated code: a derivative, or a function's value, gradient and Hessian, as Python source.

Contract:
  `numpy_code(d, sizes=None, dialect="numpy")` returns source defining
  `derivative(<symbols>)`, which computes what `d.evaluate` computes (a float for a
  scalar, a 2-D array, or the tensor in the layout's axis order, contiguous) with NumPy,
  JAX (jax.numpy, jit-able) or PyTorch alone.
  `module_code(results, value=..., ...)` returns a module whose function
  `evaluate(<symbols>)` returns the function's value and the derivatives asked for
  (gradient, Hessian) as a tuple, computed together so that they share their
  subexpressions; the inputs' shapes are checked (a ValueError naming the argument
  and the sizes); on request it has a finite-difference `self_test()` and the SciPy
  optimiser forms `fun` (value and gradient) and `hess`.
  `codegen_sympy.sympy_code(d)` returns source that builds the result as SymPy matrix
  expressions.
matcalc itself never executes any of it.

How the code is chosen (cheapest for the sizes at hand, codegen_plan.py) is separate
from how it is spelled (codegen_dialects.py); operators' templates come from the
operator table (ops.py).

Names: every identifier the code binds (arguments, intermediates, temporaries,
dimensions) is distinct from the others and from Python's keywords and builtins, the
modules and the helpers the code uses: a symbol `lambda` is the argument `lambda_`, a
dimension named like a symbol (`n x^T x` with scalar n, x of length n) is `n_size`; the
docstring says which argument is which symbol.  A size no argument has (tr(I), with I of
its own size) is a keyword-only argument, as evaluate asks for it.
"""
from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

from . import expr as E
from .codegen_dialects import DIAGONAL_EMBED, DIALECTS
from .codegen_plan import Program
from .deep import call_deep
from .errors import MatcalcError
from .layout import layout_order
from .ops import OPERATORS

FINITE_DIFFERENCE_STEP = 1e-6


def numpy_code(derivative, sizes: dict | None = None, dialect: str = "numpy") -> str:
    """Source defining `derivative(<symbols>)`, which computes d.evaluate's value."""
    return call_deep(_numpy_code, derivative, sizes, dialect)   # the walks recurse as deep as the expression


def _numpy_code(derivative, sizes: dict | None, dialect: str) -> str:
    writer = _Function(dialect, sizes, [derivative.analysis.symbols[s] for s in derivative.analysis.symbols],
                       check_shapes=False)
    result = writer.result(derivative)
    lines = writer.header() + writer.signature("derivative", derivative_title(derivative), ["the derivative"])
    lines += writer.body([result])
    return "\n".join(lines) + "\n"


def module_code(results: list, value: bool = True, dialect: str = "numpy", sizes: dict | None = None,
                self_test: bool = False, scipy: bool = False, base=None) -> str:
    """A module computing the value of the function the results differentiate (if `value`)
    and the results themselves, in one function `evaluate` sharing their subexpressions.

    results: Derivatives of one function by one variable (a gradient, a Hessian), in
    order; `base`, a derivative of the function by the variable, where results is empty
    (the value alone).  scipy adds `fun(<arguments>)` returning (value, gradient) and
    `hess(<arguments>)`, the forms scipy.optimize.minimize takes (jac=True, hess=hess)."""
    return call_deep(_module_code, results, value, dialect, sizes, self_test, scipy, base)


def _module_code(results, value, dialect, sizes, self_test, scipy, base) -> str:
    if not results and not value:
        raise MatcalcError("ask for at least one of the value, the gradient and the Hessian")
    first = results[0] if results else base
    if first is None:
        raise MatcalcError("the module needs the variable: give a derivative")
    symbols = list(first.analysis.symbols.values())
    writer = _Function(dialect, sizes, symbols, check_shapes=True)
    roots, returned = [], []
    if value:
        roots.append(writer.value(first.function))
        returned.append("the value")
    for d in results:
        roots.append(writer.result(d))
        returned.append({1: "the gradient", 2: "the Hessian"}.get(d.order, f"derivative {d.order}")
                        + f" ({d.layout} layout, {' x '.join(str(s) for s in d.shape) or 'scalar'})")
    lines = writer.header()
    lines += writer.signature("evaluate", f"{first.function}, by {first.variable.name}{_resting_on(first)}",
                              returned)
    lines += writer.body(roots)
    arguments = writer.arguments()
    call = ", ".join(arguments)
    if scipy:
        lines += _scipy_forms(writer, first, value, results, call)
    if self_test:
        lines += _self_test(writer, first, value, results, call)
    return "\n".join(lines) + "\n"


def derivative_title(derivative) -> str:
    by = ", ".join(v.name for v in derivative.variables)
    shape = " x ".join(str(d) for d in derivative.shape)
    return f"d({derivative.function})/d({by}), {derivative.layout} layout, {shape}" + _resting_on(derivative)


def _resting_on(result) -> str:
    """The statements a result rests on, for a docstring: the code is the derivative only there."""
    return "".join(f"; {text}" for text in result.stated)


class _Function:
    """One generated function: its namespace, its argument handling and its statements."""

    def __init__(self, dialect: str, sizes: dict | None, symbols: list, check_shapes: bool):
        if dialect not in DIALECTS:
            raise MatcalcError(f"unknown code dialect {dialect!r}: choose {', '.join(DIALECTS)}")
        self.dialect = DIALECTS[dialect]
        self.symbols = symbols
        self.names = Namespace(symbols)
        self.program = Program(self.dialect, self.names, sizes)
        self.check_shapes = check_shapes
        self.pending: list = []     # (kind, expression, extra) roots, compiled together in body()

    # ------------------------------------------------------------ roots
    def value(self, function: E.Expr):
        self.pending.append(("value", function, None))
        return len(self.pending) - 1

    def result(self, d):
        if d.is_tensor:
            order = layout_order(len(d.f_axes), len(d.v_axes), d.layout)
            self.pending.append(("tensor", d.vec_expression(), (d.f_axes, d.v_axes, order)))
        else:
            self.pending.append(("value", d.expr, None))
        return len(self.pending) - 1

    # ------------------------------------------------------------ text
    def header(self) -> list:
        self._compile()
        helpers = [self.program.helpers[h] for h in sorted(self.program.helpers)]
        return list(self.dialect.imports) + [""] + helpers

    def arguments(self) -> list:
        return [self.names.user(s.name) for s in self.symbols]

    def signature(self, name: str, title: str, returned: list) -> list:
        self._compile()
        free = self.free_sizes()
        arguments = self.arguments() + (["*"] + free if free else [])
        doc = [f'    """{title}.', "",
               "    Returns " + (returned[0] if len(returned) == 1 else "(" + ", ".join(returned) + ")") + ".",
               "    Arguments (vectors as (n,) or (n, 1) arrays, scalars as numbers):"]
        for s in self.symbols:
            python = self.names.user(s.name)
            alias = "" if python == s.name else f" (the symbol {s.name})"
            doc.append(f"      {python}{alias}: {s.kind}{_shape_words(s)}")
        for size in free:
            doc.append(f"      {size}: a size no argument has, by name")
        doc.append('    """')
        return [f"def {name}({', '.join(arguments)}):"] + doc

    def free_sizes(self) -> list:
        bound = {d for s in self.symbols if s.kind != "scalar" for d in s.shape if isinstance(d, str)}
        return [self.names.dim_code(d) for d in sorted(self.names.dims) if d not in bound and "*" not in d]

    def body(self, roots: list) -> list:
        self._compile()
        lines = []
        d = self.dialect
        code = "\n".join(self.program.lines + [self.codes[i] for i in roots])
        used = set(re.findall(r"\w+", code))
        sizes = self._bind_sizes(used)
        used |= set(re.findall(r"\w+", "\n".join(sizes)))
        for s in self.symbols:
            name = self.names.user(s.name)
            if s.kind != "scalar" and (self.check_shapes or name in used):
                if self.check_shapes and s.kind == "vector":
                    lines.append(f"    if {d.ndim_of(name)} not in (1, 2) or ({d.ndim_of(name)} == 2 and "
                                 f"{name}.shape[1] != 1):")
                    lines.append(f"        raise ValueError(f\"{name} must be a vector (n,) or (n, 1), "
                                 f"not {{getattr({name}, 'shape', ())}}\")")
                lines.append(f"    {name} = {d.as_array(name, s.kind == 'vector')}")
            elif s.kind == "scalar" and d.as_scalar(name) and name in used:
                lines.append(f"    {name} = {d.as_scalar(name)}")
        lines += sizes
        lines += [f"    {line}" for line in self.program.lines]
        results = [self.codes[i] for i in roots]
        lines.append(f"    return {', '.join(results)}")
        return lines

    def _compile(self) -> None:
        if hasattr(self, "codes"):
            return
        self.names.collect([expression for _, expression, _ in self.pending])
        chosen = self.program.prepare([expression for _, expression, _ in self.pending])
        self.codes = []
        d = self.dialect
        arguments = set(self.arguments())
        for (kind, expression, extra), form in zip(self.pending, chosen):
            if kind == "tensor":
                code = self.program.tensor(form, *extra)
            else:
                code = self.program.code(form)
                if form.is_scalar:
                    code = d.scalar_result(code)
                elif code in arguments or code.endswith(".T"):
                    code = d.contiguous(code)    # a result of its own, in its own order: never a view of an input
            self.codes.append(code)
        if self.dialect.name in DIAGONAL_EMBED and any("_diagonal_embed(" in line for line in self.program.lines):
            self.program.helpers["_diagonal_embed"] = DIAGONAL_EMBED[self.dialect.name]

    def _bind_sizes(self, used: set) -> list:
        """Each dimension the code uses from the first argument that has it (one the code
        uses itself first); with check_shapes every dimension, and every other argument's
        size checked against it."""
        lines, bound = [], {}
        for s in sorted(self.symbols, key=lambda s: self.names.user(s.name) not in used):
            if s.kind == "scalar":
                continue
            name = self.names.user(s.name)
            axes = s.shape[:1] if s.kind == "vector" else s.shape
            if self.check_shapes and s.kind != "vector":
                lines.append(f"    if {name}.ndim != 2:")
                lines.append(f"        raise ValueError(f\"{name} must be a matrix, not of shape {{{name}.shape}}\")")
            for axis, dim in enumerate(axes):
                if not isinstance(dim, str) or "*" in dim:
                    if self.check_shapes and isinstance(dim, int):
                        lines.append(f"    if {name}.shape[{axis}] != {dim}:")
                        lines.append(f"        raise ValueError(f\"{name} must have {dim} "
                                     f"{'rows' if axis == 0 else 'columns'}, not {{{name}.shape[{axis}]}}\")")
                    continue
                code = self.names.dim_code(dim)
                if not self.check_shapes and code not in used:
                    continue
                if dim not in bound:
                    lines.append(f"    {code} = {name}.shape[{axis}]")
                    bound[dim] = name
                elif self.check_shapes:
                    lines.append(f"    if {name}.shape[{axis}] != {code}:")
                    lines.append(f"        raise ValueError(f\"{name} must have {code} = {{{code}}} "
                                 f"{'rows' if axis == 0 else 'columns'} (as {bound[dim]}), "
                                 f"not {{{name}.shape[{axis}]}}\")")
        return lines


def _shape_words(symbol) -> str:
    if symbol.kind == "scalar":
        return ""
    if symbol.kind == "vector":
        return f"[{symbol.shape[0]}]"
    return f"[{symbol.shape[0]}, {symbol.shape[1]}]"


def _scipy_forms(writer, first, value: bool, results: list, call: str) -> list:
    """fun(variable, *others) -> (value, gradient) and hess(variable, *others): the variable
    first and flat, as scipy.optimize.minimize(fun, x0, args=others, jac=True, hess=hess)
    calls them."""
    if first.variable.kind not in ("vector", "scalar"):
        raise MatcalcError("the SciPy forms are for a vector (or scalar) variable: SciPy optimises "
                           "over a flat vector")
    orders = [d.order for d in results]
    if not value or 1 not in orders:
        raise MatcalcError("the SciPy forms need the value and the gradient (--value --gradient)")
    variable = writer.names.user(first.variable.name)
    others = [a for a in writer.arguments() if a != variable]
    signature = ", ".join([variable] + others)
    at = 1
    lines = ["", "", f"def fun({signature}):",
             f'    """(value, gradient) for scipy.optimize.minimize(fun, {variable}0, '
             f'args=({", ".join(others)}{"," if len(others) == 1 else ""}), jac=True, ...)."""',
             "    import numpy",
             f"    out = evaluate({call})",
             f"    return float(out[0]), numpy.reshape(numpy.asarray(out[{at + orders.index(1)}], dtype=float), "
             f"numpy.shape({variable}))"]
    if 2 in orders:
        lines += ["", "", f"def hess({signature}):",
                  '    """The Hessian, for scipy.optimize.minimize(..., hess=hess)."""',
                  "    import numpy",
                  f"    return numpy.asarray(evaluate({call})[{at + orders.index(2)}], dtype=float)"]
    return lines


def _self_test(writer, first, value: bool, results: list, call: str) -> list:
    """A central finite-difference check of each derivative against the result before it
    (the gradient against the value, the Hessian against the gradient), at random data
    where every dimension is `size`."""
    names = writer.names
    var = names.user(first.variable.name)
    lines = ["", "", "def self_test(seed=0, size=4):",
             '    """Check the derivatives by central finite differences at random data (every',
             '    dimension `size`); raises AssertionError where one disagrees, returns True."""',
             "    import numpy",
             "    rng = numpy.random.default_rng(seed)"]
    for s in writer.symbols:
        name = names.user(s.name)
        if s.kind == "scalar":
            lines.append(f"    {name} = float(rng.uniform(0.5, 1.5))")
            continue
        dims = s.shape[:1] if s.kind == "vector" else s.shape
        shape = ", ".join(_size_word(d) for d in dims)
        lines.append(f"    {name} = rng.normal(size=({shape},))")
        if s.kind == "symmetric":
            lines.append(f"    {name} = {name} + {name}.T + 2 * size * numpy.eye(size)")
    keywords = "".join(f", {f}=size" for f in writer.free_sizes())
    moved = ", ".join("point" if a == var else a for a in writer.arguments())
    lines += [f"    out = evaluate({call}{keywords})",
              "    out = out if isinstance(out, tuple) else (out,)",
              f"    direction = rng.normal(size=numpy.shape({var}))",
              "",
              "    def mixed(array, dims, inverse):",
              "        return numpy.transpose(numpy.asarray(array, dtype=float).reshape(dims), inverse)",
              "",
              "    def at(point, k):",
              f"        result = evaluate({moved}{keywords})",
              "        return (result if isinstance(result, tuple) else (result,))[k]",
              "",
              f"    step = {FINITE_DIFFERENCE_STEP}"]
    slots = (["value"] if value else []) + [d.order for d in results]
    forms = {"value": ((), ())}
    for d in results:
        order = layout_order(len(d.f_axes), len(d.v_axes), d.layout)
        dims = tuple(_size_word((d.f_axes + d.v_axes)[k]) for k in order)
        forms[d.order] = (dims, tuple(order.index(k) for k in range(len(order))))
    for d in results:
        before = "value" if d.order == 1 else d.order - 1
        if before not in slots:
            continue
        b, p = slots.index(before), slots.index(d.order)
        b_dims, b_inverse = forms[before]
        p_dims, p_inverse = forms[d.order]
        v_dims = ", ".join(_size_word(x) for x in d.v_axes)
        what = {1: "gradient", 2: "Hessian"}.get(d.order, f"derivative {d.order}")
        lines += [f"    change = (at({var} + step * direction, {b}) - at({var} - step * direction, {b})) / (2 * step)",
                  f"    change = mixed(change, ({''.join(x + ', ' for x in b_dims)}), {b_inverse})",
                  f"    predicted = numpy.tensordot(mixed(out[{p}], ({''.join(x + ', ' for x in p_dims)}), "
                  f"{p_inverse}), numpy.reshape(direction, ({v_dims}{',' if v_dims else ''})), "
                  f"axes={len(d.v_axes)})",
                  f"    assert numpy.allclose(change, predicted, rtol=1e-4, atol=1e-6), "
                  f"('the {what} disagrees with finite differences', change, predicted)"]
    lines.append("    return True")
    return lines


def _size_word(d) -> str:
    return str(d) if isinstance(d, int) else "size"


class Namespace:
    """One Python identifier per user name, per dimension and per temporary, none equal to
    another or to a keyword, a builtin or a name the code uses for itself."""

    # identifiers generated modules define or import (the helpers' locals cannot clash)
    OWN = {"np", "sp", "jnp", "jax", "torch", "numpy", "derivative", "evaluate", "fun", "hess", "self_test",
           "commutation", "_diagonal_embed"} | {op.name for op in OPERATORS.values() if op.code_helper}

    def __init__(self, symbols: list):
        self.taken = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins)) | self.OWN
        self.users: dict = {}
        self.dims: dict = {}
        for s in symbols:
            self._user(s.name)
        self._dims_of(symbols)

    def collect(self, expressions: list) -> None:
        for e in expressions:
            for node in E.postorder(e):
                if node.op == "let":
                    self._user(node.value)
        for e in expressions:
            self._dims_of(E.postorder(e))

    def _dims_of(self, nodes) -> None:
        found = set()
        for node in nodes:
            sizes = list(node.shape) + ([node.value] if node.op == "dim" else []) + \
                (list(node.value) if node.op == "comm" else [])
            found |= {f for d in sizes if isinstance(d, str) for f in d.split("*") if not f.isdigit()}
        for d in sorted(found - set(self.dims)):
            self.dims[d] = self._fresh(_python_name(d), "_size")

    def _user(self, name: str) -> None:
        if name not in self.users:
            self.users[name] = self._fresh(_python_name(name), "_")

    def user(self, name: str) -> str:
        return self.users[name]

    def dim_code(self, d) -> str:
        """A dimension in code: a number, a name, or a product of them."""
        if isinstance(d, int):
            return str(d)
        return "*".join(p if p.isdigit() else self.dims[p] for p in d.split("*"))

    def temporary(self, hint: str) -> str:
        k = 1
        while f"{hint}{k}" in self.taken:
            k += 1
        name = f"{hint}{k}"
        self.taken.add(name)
        return name

    def _fresh(self, name: str, suffix: str) -> str:
        while name in self.taken:
            name += suffix
        self.taken.add(name)
        return name


def _python_name(name: str) -> str:
    """An ASCII identifier for a name (Python folds some Unicode letters together: ℌ is H)."""
    if name.isascii():
        return name
    return "".join(c if c.isascii() else f"_{ord(c):x}" for c in unicodedata.normalize("NFC", name))

