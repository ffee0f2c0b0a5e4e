"""Mail header hygiene: a line break in a header would let a value add headers of its own,
and Django refuses to send such a message (BadHeaderError)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

LINE_BREAK_MESSAGE = "Keep this on one line: remove the line breaks."
_LINE_BREAKS = ("\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def has_line_break(value: str) -> bool:
    return any(mark in value for mark in _LINE_BREAKS)


def refuse_line_breaks(value: str) -> None:
    """Form validator for a value that becomes a mail header (a subject)."""
    if has_line_break(value):
        raise ValidationError(LINE_BREAK_MESSAGE, code="line_break")


def one_line(value: str) -> str:
    """A header value built from stored data (a record's name): line breaks become spaces."""
    return " ".join(value.split())
