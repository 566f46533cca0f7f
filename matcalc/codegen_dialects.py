"""The array libraries generated code is written for: NumPy, JAX (jax.numpy) and PyTorch.

Contract: a `Dialect` spells the handful of primitives the code generator composes
(products, broadcasts, reductions, einsum, writes into a diagonal, input conversion);
every operator's own template comes from the operator table (matcalc/ops.py), written
for NumPy, and `call` respells it for the dialect.  The generated code of every
dialect computes in float64, as `Derivative.evaluate` does.  Only NumPy code writes
into arrays in place (on temporaries the code itself made); JAX arrays are immutable
and PyTorch code stays free of in-place writes so that it can be differentiated again.
"""
from __future__ import annotations

import re


def paren(text: str) -> str:
    from .codegen_plan import paren as bracketed
    return bracketed(text)


class Dialect:
    name = "numpy"
    module = "np"
    imports = ("import numpy as np",)
    float_dtype = ""                        # what array constructors add to make float64 arrays
    axis_keywords = ("axis", "keepdims")    # the reductions' keywords
    optimized_einsum = True                 # einsum's optimize=True (contraction order) exists
    in_place = True                         # arrays can be added to in place

    def template(self, operator) -> str | None:
        """The operator table's code template for this dialect."""
        return operator.code

    def helper(self, operator) -> str | None:
        """The function a template needs the module to define, in this dialect: its own, or
        the NumPy one spelled in this dialect."""
        helpers = operator.code_helper or {}
        if self.name in helpers:
            return helpers[self.name]
        return self.call(helpers["numpy"]) if "numpy" in helpers else None

    def call(self, numpy_template: str) -> str:
        """NumPy code (a literal's spelling) in this dialect."""
        return numpy_template

    def matmul(self, a: str, b: str) -> str:
        return f"{a} @ {b}"

    def transpose(self, a: str) -> str:
        return f"{a}.T"

    def eye(self, n: str) -> str:
        return f"{self.module}.eye({n}{self.float_dtype})"

    def ones(self, rows: str, cols: str) -> str:
        return f"{self.module}.ones(({rows}, {cols}){self.float_dtype})"

    def zeros(self, shape: list) -> str:
        return f"{self.module}.zeros(({', '.join(shape)},){self.float_dtype})"

    def total(self, a: str, axis: int | None = None) -> str:
        if axis is None:
            return f"{self.module}.sum({a})"
        axis_word, keep_word = self.axis_keywords
        return f"{self.module}.sum({a}, {axis_word}={axis}, {keep_word}=True)"

    def squared_norm(self, a: str) -> str:
        return f"{self.module}.vdot({a}, {a})"

    def flat(self, a: str) -> str:
        """A vector as one axis."""
        return f"{a}.reshape(-1)"

    def einsum(self, spec: str, operands: list) -> str:
        optimize = ", optimize=True" if self.optimized_einsum and len(operands) > 2 else ""
        return f"{self.module}.einsum({spec!r}, {', '.join(operands)}{optimize})"

    def contiguous(self, a: str) -> str:
        return f"np.ascontiguousarray({a})"

    def diagflat(self, v: str) -> str:
        return f"{self.module}.diagflat({v})"

    def add_to_diagonal(self, target: str, vector: str, size: str, scalar: bool) -> str:
        """A statement adding a vector (or a scalar) to the diagonal of the square `target`,
        a temporary of the code's own."""
        value = self.scalar(vector) if scalar else self.flat(paren(vector))
        return f"np.einsum('ii->i', {target})[...] += {value}"

    def accumulate(self, target: str, spec: str | None, value: str) -> str:
        """A statement adding `value` to the tensor `target` (a temporary of the code's own),
        or to its diagonal part einsum `spec` (such as 'ijil->ijl') names; where arrays cannot
        change in place, a new array (the module defines _diagonal_embed)."""
        if not self.in_place:
            if spec is None:
                return f"{target} = {target} + {value}"
            return f"{target} = {target} + _diagonal_embed({spec!r}, {value}, {target}.shape)"
        if spec is None:
            return f"{target} += {value}"
        return f"np.einsum({spec!r}, {target})[...] += {value}"

    def scalar(self, code: str) -> str:
        """A scalar as a number: a 1 x 1 product (x^T y) has one entry."""
        if re.fullmatch(r"-?\(?[0-9]+( / [0-9]+)?\)?", code):
            return code
        return f"{self.module}.reshape({code}, ())"

    def block(self, grid: list) -> str:
        """A matrix of scalar entries (numbers or 1 x 1 arrays), as floats."""
        rows = ", ".join("[" + ", ".join(row) + "]" for row in grid)
        return f"{self.module}.block([{rows}]).astype(float)"

    def as_scalar(self, name: str) -> str | None:
        """A scalar argument's conversion, where the library needs one."""
        return None

    def as_array(self, name: str, vector: bool) -> str:
        shape = ".reshape(-1, 1)" if vector else ""
        return f"np.asarray({name}, dtype=float){shape}"

    def scalar_result(self, code: str) -> str:
        return f"float(np.asarray({code}).reshape(-1)[0])"

    def shape_of(self, name: str, axis: int) -> str:
        return f"{name}.shape[{axis}]"

    def ndim_of(self, name: str) -> str:
        return f"{self.module}.ndim({name})"


class JaxDialect(Dialect):
    name = "jax"
    module = "jnp"
    imports = ("import jax", "import jax.numpy as jnp", 'jax.config.update("jax_enable_x64", True)')
    optimized_einsum = False
    in_place = False

    def template(self, operator) -> str | None:
        if operator.code_jax is not None:
            return operator.code_jax
        return None if operator.code is None else self.call(operator.code)

    def call(self, numpy_template: str) -> str:
        return re.sub(r"\bnp\.", "jnp.", numpy_template)

    def contiguous(self, a: str) -> str:
        return a

    def add_to_diagonal(self, target: str, vector: str, size: str, scalar: bool) -> str:
        value = self.scalar(vector) if scalar else self.flat(paren(vector))
        return f"{target} = {target}.at[jnp.arange({size}), jnp.arange({size})].add({value})"

    def as_array(self, name: str, vector: bool) -> str:
        shape = ".reshape(-1, 1)" if vector else ""
        return f"jnp.asarray({name}, dtype=jnp.float64){shape}"

    def scalar_result(self, code: str) -> str:
        return f"jnp.reshape({code}, ())"


class TorchDialect(Dialect):
    name = "torch"
    module = "torch"
    imports = ("import torch",)
    float_dtype = ", dtype=torch.float64"
    axis_keywords = ("dim", "keepdim")
    optimized_einsum = False
    in_place = False

    def template(self, operator) -> str | None:
        return operator.code_torch

    def call(self, numpy_template: str) -> str:
        """NumPy code in torch: np.f -> torch.f, and a number among a torch function's
        arguments a float64 tensor (torch functions take no Python numbers there)."""
        text = re.sub(r"\bnp\.", "torch.", numpy_template)
        out, at = [], 0
        for call in re.finditer(r"torch\.[\w.]+\(", text):
            if call.start() < at:
                continue
            end = _closing(text, call.end() - 1)
            arguments = _split_arguments(text[call.end():end - 1])
            converted = [f"torch.tensor({a.strip()}.0, dtype=torch.float64)"
                         if re.fullmatch(r"\s*-?\d+\s*", a) else a for a in arguments]
            out.append(text[at:call.end()] + ",".join(converted) + ")")
            at = end
        return "".join(out) + text[at:]

    def block(self, grid: list) -> str:
        rows = ", ".join("torch.stack([" + ", ".join(f"torch.as_tensor({v}, dtype=torch.float64).reshape(())"
                                                      for v in row) + "])" for row in grid)
        return f"torch.stack([{rows}])"

    def as_scalar(self, name: str) -> str | None:
        return f"torch.as_tensor({name}, dtype=torch.float64)"

    def squared_norm(self, a: str) -> str:
        return f"torch.sum({paren(a)} * {paren(a)})"

    def contiguous(self, a: str) -> str:
        return f"({a}).contiguous()"

    def add_to_diagonal(self, target: str, vector: str, size: str, scalar: bool) -> str:
        value = self.scalar(vector) if scalar else self.flat(paren(vector))
        return f"{target} = {target} + torch.diag_embed(torch.broadcast_to(torch.as_tensor({value}, " \
               f"dtype=torch.float64), ({size},)))"

    def as_array(self, name: str, vector: bool) -> str:
        shape = ".reshape(-1, 1)" if vector else ""
        return f"torch.as_tensor({name}, dtype=torch.float64){shape}"

    def scalar_result(self, code: str) -> str:
        return f"torch.reshape(torch.as_tensor({code}), ())"

    def ndim_of(self, name: str) -> str:
        return f"torch.as_tensor({name}).ndim"


def _closing(text: str, opening: int) -> int:
    depth = 0
    for i in range(opening, len(text)):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return len(text)


def _split_arguments(text: str) -> list:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(c, 0)
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


DIALECTS = {d.name: d for d in (Dialect(), JaxDialect(), TorchDialect())}

# Writing into a diagonal part of a tensor without in-place updates: the value times the
# Kronecker deltas that tie the repeated indices, by einsum on identity matrices.
DIAGONAL_EMBED = {
    "jax": (
        "def _diagonal_embed(spec, value, shape):\n"
        '    """The tensor of `shape` that is `value` on the diagonal part einsum `spec` reads."""\n'
        "    full, part = spec.split('->')\n"
        "    value = jnp.broadcast_to(value, tuple(shape[full.index(c)] for c in part))\n"
        "    firsts = {c: full.index(c) for c in part}\n"
        "    deltas = [jnp.eye(shape[i]) for i, c in enumerate(full) if firsts[c] != i]\n"
        "    pairs = [c + chr(ord('A') + i) for i, c in enumerate(full) if firsts[c] != i]\n"
        "    out = ''.join(c if firsts[c] == i else chr(ord('A') + i) for i, c in enumerate(full))\n"
        "    return jnp.einsum(','.join([part] + pairs) + '->' + out, value, *deltas)\n"),
    "torch": (
        "def _diagonal_embed(spec, value, shape):\n"
        '    """The tensor of `shape` that is `value` on the diagonal part einsum `spec` reads."""\n'
        "    full, part = spec.split('->')\n"
        "    value = torch.broadcast_to(torch.as_tensor(value, dtype=torch.float64),\n"
        "                               tuple(shape[full.index(c)] for c in part))\n"
        "    firsts = {c: full.index(c) for c in part}\n"
        "    deltas = [torch.eye(shape[i], dtype=torch.float64) for i, c in enumerate(full) if firsts[c] != i]\n"
        "    pairs = [c + chr(ord('A') + i) for i, c in enumerate(full) if firsts[c] != i]\n"
        "    out = ''.join(c if firsts[c] == i else chr(ord('A') + i) for i, c in enumerate(full))\n"
        "    return torch.einsum(','.join([part] + pairs) + '->' + out, value, *deltas)\n"),
}

