"""CSV that Excel opens with Cyrillic intact and that cannot run formulas.

UTF-8 with a BOM is the one encoding Excel detects by itself; ``;`` is the
list separator a Russian-locale Excel expects (``--delimiter``). A text cell
starting with = + - @ (or a tab / carriage return) would be taken as a
formula, so it gets a leading apostrophe (the OWASP advice); numbers stay
numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from auditor.views.reports.columns import Column, call_list_columns, tabulate

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet; whole floats are written as integers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def to_csv(columns: Sequence[Column], rows: Sequence[Any], delimiter: str = ",",
           bom: bool = True) -> str:
    """The table as CSV text (with a leading BOM for Excel unless bom=False)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow([neutralise(c.header) for c in columns])
    for values in tabulate(columns, rows):
        w.writerow(["" if v is None else neutralise(v) for v in values])
    return (BOM if bom else "") + buf.getvalue()


def calls_csv(rows: Sequence[Any]) -> str:
    """The call list (:class:`auditor.views.calls.CallRow`) as CSV with a BOM: a review queue."""
    return to_csv(call_list_columns(), rows)
