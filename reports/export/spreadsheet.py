"""CSV for people: every CSV we write for someone to open (section CSVs in admin and mail,
the monthly archive) goes through `writer`, so no cell runs as a formula.

Spreadsheets (Excel, WPS, LibreOffice, Numbers) run a cell that starts with `=`, `+`, `-`
or `@` as a formula, and tab or CR in front of one are skipped; a page path, campaign
name or article title is whatever a client or a colleague typed, so `=HYPERLINK("http://…",
"Click")` sent as an event's page would become a live link in the weekly CSV. Such a text
cell gets a leading `'`, the spreadsheet's own "this is text" mark (OWASP's advice on CSV
injection). The price: such a cell shows the quote in front of its text, and a program
reading the file gets it too.

Numbers stay numbers: an int, float or Decimal, or a text cell that is exactly a plain
decimal number (`-12.5`, `+3`, `1E-7`; snapshot cells keep Decimals as such text), is
written unchanged. A spreadsheet reads those as the number they show and nothing else, so
a negative amount keeps its sign and its sums. Rule and tests: docs/reliability.md.
"""

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from reports.localize import localize_section

FORMULA_STARTS = frozenset("=+-@\t\r")
# First character of a CSV for people: tells Excel the file is UTF-8 (docs/i18n.md).
BOM = "\ufeff"
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should show it: a text cell that would start a formula
    gets a leading `'`; numbers, plain number text, None and other text are unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer with `safe_cell` on every cell, None written as an empty cell."""

    def __init__(self, file, **options: Any):
        self._writer = csv.writer(file, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(["" if value is None else safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file, **options: Any) -> SafeWriter:
    """The one CSV writer for files people open (options as for csv.writer)."""
    return SafeWriter(file, **options)


__all__ = ["BOM", "safe_cell", "section_csv", "writer"]


def section_csv(section: dict) -> str:
    """One stored snapshot section (reports.snapshots.sections.Section.as_dict) as CSV text
    for a person to open, in admin downloads and mail: a UTF-8 byte order mark first (Excel
    on a Chinese Windows reads a file without one as GBK and garbles every Chinese cell),
    then the header row and rows in the active language (numbers untouched)."""
    shown = localize_section(section)
    out = io.StringIO()
    out.write(BOM)
    csv_out = writer(out)
    csv_out.writerow(shown["columns"])
    csv_out.writerows(shown["rows"])
    return out.getvalue()
