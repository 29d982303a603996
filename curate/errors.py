"""Errors that the CLI turns into a one-line message (never a traceback, never a data value)."""

from __future__ import annotations


class CurateError(Exception):
    """A problem the user can fix; the message says what to do."""


class MissingColumnError(CurateError):
    """A column the step needs is absent from the input."""

    def __init__(self, column: str, path: str, available: list[str], option: str | None):
        hint = f"; pass {option} NAME to use another column" if option else ""
        shown = ", ".join(available[:20]) + (" …" if len(available) > 20 else "")
        super().__init__(f"column '{column}' not found in {path} (columns: {shown}){hint}")
        self.column = column


class BadRowError(CurateError):
    """Raised under ``--strict`` for the first bad row. Carries no row content."""

    def __init__(self, path: str, line: int, reason: str, detail: str = ""):
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{path}:{line}: bad row: {reason}{extra}; drop --strict to reject and continue"
        )
        self.path, self.line, self.reason = path, line, reason
