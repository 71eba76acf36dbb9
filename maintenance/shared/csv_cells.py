"""CSV cells safe to open in a spreadsheet, for every export (work orders, the asset register).

A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula to Excel
and LibreOffice (CSV injection, OWASP): a requester could type ``=HYPERLINK(...)`` as a title.
Such cells get a leading apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["neutralise"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell's text, with formulas defused."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
