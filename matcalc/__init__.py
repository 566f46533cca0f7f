"""matcalc: symbolic matrix calculus that shows its work.

    >>> import matcalc
    >>> str(matcalc.diff("x^T A x", "x"))
    '(A + A^T) x'

The public API is `diff`, `parse`, `Derivative` (with its `VecForm`), and the error
classes, every one a `MatcalcError`.  The engine is imported on first use, so that
`import matcalc` and `matcalc --version` stay cheap.
"""
from __future__ import annotations

from .errors import (CheckError, LimitError, MatcalcError, NotDifferentiableError, ParseError, ShapeError,
                     UnknownNameError)
from .version import __version__

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing (16 ms) on every start
if TYPE_CHECKING:
    from .api import Derivative, VecForm, diff, parse

_ENGINE = {"diff": "api", "parse": "api", "Derivative": "api", "VecForm": "api"}


def __getattr__(name: str):
    """The engine's names, imported when first asked for (PEP 562)."""
    if name not in _ENGINE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".{_ENGINE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ENGINE))


def load_ipython_extension(ipython) -> None:
    """`%load_ext matcalc`: the `%matcalc` line magic and `%%matcalc` cell magic (matcalc/jupyter.py)."""
    from .jupyter import register
    register(ipython)


__all__ = ["diff", "parse", "Derivative", "VecForm", "MatcalcError", "ParseError", "ShapeError",
           "UnknownNameError", "NotDifferentiableError", "LimitError", "CheckError", "__version__"]
