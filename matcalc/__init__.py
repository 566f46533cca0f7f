"""matcalc: symbolic matrix calculus that shows its work.

    >>> import matcalc
    >>> str(matcalc.diff("x^T A x", "x"))
    '(A + A^T) x'
"""
__version__ = "0.1.0"

from .derivative import Derivative, diff  # noqa: E402
from .errors import MatcalcError  # noqa: E402


def parse(text: str, scalars=(), symmetric=(), declare=()):
    """The expression of `text` (its last statement), canonical and well-shaped."""
    from .deep import call_deep
    from .derivative import _names
    from .shapes import parse as analyse_text
    return call_deep(lambda: analyse_text(text, scalars=_names(scalars), symmetric=_names(symmetric),
                                          declare=_names(declare, split=False)).body)


__all__ = ["diff", "parse", "Derivative", "MatcalcError", "__version__"]
