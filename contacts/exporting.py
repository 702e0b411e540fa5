"""Spreadsheet-safe CSV output.

A cell that starts with = + - @ (or a tab / carriage return) is run as a formula by Excel and
LibreOffice. Every CSV Relance writes from user data goes through `escape_formula`, which
prefixes such a cell with a single quote, as OWASP recommends.
"""

import csv
from collections.abc import Iterable
from typing import Any, TextIO

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def write_safe_csv(out: TextIO, header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    """Write `header` and `rows` as CSV with every cell escaped; returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow([escape_formula(cell) for cell in header])
    count = 0
    for row in rows:
        writer.writerow([escape_formula(cell) for cell in row])
        count += 1
    return count
