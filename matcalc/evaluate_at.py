"""Values at a point: user arrays -> the 2-D arrays and sizes the NumPy emitter takes.

Contract: `bind(symbols, values)` accepts vectors as (n,) or (n, 1), matrices as
2-D arrays and scalars as numbers, checks them against the kinds and the
symbolic sizes, and returns (env, dims); a wrong or missing value is a
MatcalcError naming the variable.
"""
from __future__ import annotations

import numpy as np

from .layout import layout_order
from .evaluate_numpy import size_of, evaluate, nonsmooth_points
from .errors import MatcalcError


def bind(symbols: dict, values: dict) -> tuple[dict, dict]:
    env: dict = {}
    dims: dict = {}
    for name, symbol in symbols.items():
        if name not in values:
            raise MatcalcError(f"no value given for {name}")
        try:
            given = np.asarray(values[name])
            if np.iscomplexobj(given):
                raise MatcalcError(f"the value of {name} is complex; matcalc's variables are real")
            array = given.astype(float)
        except (TypeError, ValueError, OverflowError):
            raise MatcalcError(f"the value of {name} is not an array of floating-point numbers") from None
        if not np.all(np.isfinite(array)):
            raise MatcalcError(f"the value of {name} has entries that are not finite (NaN or infinity)")
        kind = symbol.kind
        if kind == "scalar":
            if array.size != 1:
                raise MatcalcError(f"{name} is a scalar, but its value has shape {array.shape}")
            array = array.reshape(1, 1)
        elif kind == "vector":
            if array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1):
                array = array.reshape(-1, 1)
            else:
                raise MatcalcError(f"{name} is a vector, but its value has shape {array.shape}")
        elif array.ndim != 2:
            raise MatcalcError(f"{name} is a matrix, but its value has shape {array.shape}")
        for d, actual in zip(symbol.shape, array.shape):
            if isinstance(d, int):
                if d != actual:
                    raise MatcalcError(f"{name} should have {d} in place of {actual} in its shape")
            elif dims.setdefault(d, actual) != actual:
                raise MatcalcError(f"{name} has size {actual} where {d} = {dims[d]} elsewhere")
        if kind == "symmetric" and not np.allclose(array, array.T):
            raise MatcalcError(f"{name} is declared symmetric, but its value is not")
        env[name] = array
    return env, dims


def evaluate_at(derivative, values: dict):
    env, dims = bind(derivative.analysis.symbols, values)
    nonsmooth_points(derivative.function, env, dims, derivative.variable.name)
    if derivative.is_tensor:
        return tensor_from_vec_form(evaluate(derivative.vec_expression(), env, dims), derivative, dims)
    result = evaluate(derivative.expr, env, dims)
    if derivative.expr.is_scalar:
        return float(result[0, 0])
    return result


def evaluate_expression(derivative, e, values: dict) -> np.ndarray:
    """Another expression of the derivative's symbols (its vec form) at a point."""
    env, dims = bind(derivative.analysis.symbols, values)
    nonsmooth_points(derivative.function, env, dims, derivative.variable.name)
    return evaluate(e, env, dims)


def tensor_from_vec_form(jacobian, derivative, dims: dict):
    """The tensor T[f axes..., variable axes...] from J = d vec F / d (vec X)^T, whose row
    and column indices stack those axes column-major, then in the layout's axis order.
    Works on NumPy arrays and on object arrays of SymPy entries alike."""
    f_sizes = [size_of(d, dims) for d in derivative.f_axes]
    v_sizes = [size_of(d, dims) for d in derivative.v_axes]
    tensor = np.asarray(jacobian).reshape(f_sizes + v_sizes, order="F")
    return np.transpose(tensor, layout_order(len(f_sizes), len(v_sizes), derivative.layout))
