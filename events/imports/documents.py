"""Read the other shapes WeChat statistics arrive in as the same header + records the CSV
reader gives: the datacube APIs' JSON answers as they are, and the consoles' Excel (.xlsx)
downloads.

Both are whole documents (JSON cannot be parsed half-way; an xlsx file is a zip), so they
are read into memory up to MAX_DOCUMENT_BYTES — a datacube answer covers at most a week
(getVisitPage: one day, 200 pages), a console download a few thousand lines. Each record's
`raw` is the record written back as one CSV line under a CSV header line, so a rejected row
is a one-row CSV that can be fixed and replayed like any other.
"""

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from django.utils.translation import gettext_noop

from . import csvstream
from .csvstream import ImportFormatError, Record

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
# A compressed workbook can unpack to far more than its size: bound the sheet itself too.
MAX_SHEET_ROWS = 100_000
MAX_SHEET_COLUMNS = 200
XLSX_MAGIC = b"PK\x03\x04"
# getarticletotal nests one row per statistics day under each article.
NESTED_ROWS = "details"
# Fields of every datacube answer that are about the call, not the data.
ENVELOPE_FIELDS = frozenset({"errcode", "errmsg", "list", "is_delay"})


def sniff(first: bytes) -> str:
    """The shape of a file from its first bytes: "json", "xlsx" or "csv"."""
    if first.startswith(XLSX_MAGIC):
        return "xlsx"
    if first.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "json"
    return "csv"


def _read_all(first: bytes, rest: Iterator[bytes]) -> bytes:
    chunks, size = [first], len(first)
    for block in rest:
        size += len(block)
        if size > MAX_DOCUMENT_BYTES:
            raise ImportFormatError(
                gettext_noop(
                    "JSON and Excel files are read whole and may be at most %(megabytes)s MB; "
                    "split the file or save it as CSV."
                )
                % {"megabytes": MAX_DOCUMENT_BYTES // (1024 * 1024)}
            )
        chunks.append(block)
    return b"".join(chunks)


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _cell_text(value: Any) -> str:
    """A JSON or spreadsheet value as the text a CSV cell would hold."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _record(line: int, cells: list[str]) -> Record:
    return Record(line=line, cells=cells, raw=_csv_line(cells))


# --- JSON (datacube answers) ---------------------------------------------------------------


def _flat_rows(document: dict[str, Any]) -> list[Any]:
    """One flat dict per data row: the document's own fields (getVisitPage's `ref_date`)
    under each item of `list`, and each item's fields under each of its `details`
    (getarticletotal). The innermost value wins when a name repeats."""
    if "errcode" in document and document["errcode"] not in (0, "0"):
        raise ImportFormatError(
            gettext_noop(
                "This is an error answer from WeChat (errcode %(errcode)s: %(errmsg)s); it has no statistics to import."
            )
            % {"errcode": document["errcode"], "errmsg": document.get("errmsg", "")}
        )
    items = document.get("list")
    if not isinstance(items, list):
        raise ImportFormatError(
            gettext_noop('A JSON file must be a datacube answer as WeChat returns it: an object with a "list" array.')
        )
    file_fields = {k: v for k, v in document.items() if k not in ENVELOPE_FIELDS and not isinstance(v, dict | list)}
    rows = []
    for item in items:
        if not isinstance(item, dict):
            rows.append(item)  # rejected below with its position, not skipped
            continue
        fields = {**file_fields, **{k: v for k, v in item.items() if k != NESTED_ROWS}}
        nested = item.get(NESTED_ROWS)
        if isinstance(nested, list) and nested:
            rows.extend({**fields, **detail} if isinstance(detail, dict) else detail for detail in nested)
        else:
            rows.append(fields)
    return rows


def read_json(first: bytes, rest: Iterator[bytes]) -> tuple[list[str], str, Iterator[Record]]:
    """Header, header line and records of a datacube JSON answer. A record's `line` is its
    position among the data rows (1 = the first), counted after `details` are unfolded."""
    try:
        document = json.loads(_read_all(first, rest).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFormatError(
            gettext_noop("The file starts like JSON but is not valid JSON: %(problem)s.") % {"problem": exc}
        ) from None
    except RecursionError:
        raise ImportFormatError(gettext_noop("The file starts like JSON but is nested too deeply to read.")) from None
    if not isinstance(document, dict):
        raise ImportFormatError(gettext_noop('A JSON file must be an object with a "list" array.'))
    flat = _flat_rows(document)
    header: list[str] = []
    for row in flat:
        if isinstance(row, dict):
            header.extend(name for name in row if name not in header)
    if not header:
        raise ImportFormatError(
            gettext_noop(
                'The answer\'s "list" is empty: WeChat has no statistics for these dates, so nothing was imported.'
            )
        )
    records = []
    for position, row in enumerate(flat, start=1):
        if isinstance(row, dict):
            records.append(_record(position, [_cell_text(row.get(name)) for name in header]))
        else:
            raw = json.dumps(row, ensure_ascii=False)[:1000] + "\n"
            records.append(Record(line=position, cells=[], raw=raw, error="This row is not a JSON object."))
    return header, _csv_line(header), iter(records)


# --- Excel (console downloads) ---------------------------------------------------------------


def read_xlsx(first: bytes, rest: Iterator[bytes]) -> tuple[list[str], str, Iterator[Record]]:
    """Header, header line and records of the first sheet of an .xlsx workbook. The header
    is the first row with two or more filled cells (console downloads may start with a
    title row); `line` is the spreadsheet's row number."""
    from openpyxl import load_workbook  # imported here: only Excel uploads need it

    data = _read_all(first, rest)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFormatError(
            gettext_noop("Not a readable .xlsx workbook (%(problem)s). Save it as .xlsx or CSV.") % {"problem": exc}
        ) from None
    header: list[str] = []
    records: list[Record] = []
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_SHEET_COLUMNS), start=1):
            if number > MAX_SHEET_ROWS:
                raise ImportFormatError(
                    gettext_noop(
                        "The sheet has more than %(limit)s rows; split it or save it as CSV (streamed, no limit)."
                    )
                    % {"limit": f"{MAX_SHEET_ROWS:,}"}
                )
            cells = [_cell_text(value) for value in values]
            while cells and not cells[-1]:
                cells.pop()
            if header:
                if cells:
                    records.append(_record(number, cells + [""] * (len(header) - len(cells))))
            elif sum(1 for cell in cells if cell) >= 2:
                header = cells
    finally:
        workbook.close()
    if not header:
        raise ImportFormatError(gettext_noop("The first sheet has no header row naming the columns."))
    return header, _csv_line(header), iter(records)


def read_table(
    binary: BinaryIO, *, progress: Callable[[int], None] | None = None
) -> tuple[list[str], str, Iterator[Record]]:
    """Header, header line and records of an import file, whatever its shape: a datacube
    JSON answer, an .xlsx workbook, or CSV text (streamed)."""
    blocks = csvstream.read_blocks(binary, progress)
    first = next(blocks, b"")
    shape = sniff(first)
    if shape == "json":
        return read_json(first, blocks)
    if shape == "xlsx":
        return read_xlsx(first, blocks)
    return csvstream.read_csv_blocks(first, blocks)
