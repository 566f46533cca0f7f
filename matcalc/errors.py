"""Every error matcalc raises for bad input is a MatcalcError.

Errors that belong to a place in the user's text carry its line and column
(1-based) and the source, so that `describe()` can draw a caret under it.
"""
from __future__ import annotations


class MatcalcError(Exception):
    """Base of all errors raised for bad input."""

    def __init__(self, message: str, *, source: str | None = None,
                 line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.column = column

    def describe(self) -> str:
        """The one-line message, then the offending source line with a caret."""
        if self.source is None or self.line is None or self.column is None:
            return self.message
        lines = self.source.splitlines() or [""]
        text = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        shown, column = _window(text, self.column)
        return f"{self.message}\n  {shown}\n  {' ' * (column - 1)}^"


def _window(text: str, column: int, width: int = 100) -> tuple[str, int]:
    """A slice of a long line around the column, so a caret fits on a screen."""
    if len(text) <= width:
        return text, column
    start = max(0, column - width // 2)
    return text[start:start + width], column - start


class ParseError(MatcalcError):
    """The text is not in the expression language."""


class ShapeError(MatcalcError):
    """Operands whose shapes do not fit together."""


class UnknownNameError(MatcalcError):
    """A name the language does not know where a function or variable is expected."""


class NotDifferentiableError(MatcalcError):
    """An input the engine cannot differentiate (or not at that point)."""


class LimitError(MatcalcError):
    """Input too large or too deeply nested to process."""


class CheckError(MatcalcError):
    """A cross-check found the engine's result wrong."""
