"""Read a CSV file as a stream of records with their line numbers and raw text.

Files can be large (a year of ad spend per creative), so nothing here loads the whole file:
bytes are read in blocks, decoded incrementally and split into lines, and the csv module
turns lines into records. Each record keeps the exact text it came from, so a rejected row
is stored as it was sent.
"""

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext_noop

READ_SIZE = 64 * 1024
# Line ends: LF, CRLF, and CR alone (Excel's "CSV (Macintosh)" still writes those).
_LINE_END = re.compile(r"(\r\n|\r|\n)")
# The csv module's own limit on one cell (131,072 characters), named for the messages.
MAX_CELL_CHARS = csv.field_size_limit()
DELIMITERS = (",", "\t", ";")


class ImportFormatError(Exception):
    """The file as a whole cannot be read (encoding, header, columns): nothing row by row
    can be said about it."""


@dataclass(frozen=True)
class Record:
    line: int  # 1-based line where the record starts (the header is line 1)
    cells: list[str]
    raw: str
    error: str = ""  # set when the csv module could not parse the line


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) and UTF-16 by BOM; otherwise GB18030, the superset of
    GBK that Chinese Excel and the Tencent Ads console export."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A block boundary may cut a multi-byte character in half: that is still UTF-8.
        if exc.start < len(head) - 3:
            return "gb18030"
    return "utf-8"


def read_blocks(binary: BinaryIO, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    while True:
        data = binary.read(READ_SIZE)
        if not data:
            return
        if isinstance(data, str):
            data = data.encode()
        if progress is not None:
            progress(len(data))
        yield data


class _Lines:
    """Decoded lines (with their line ending) from blocks of bytes; remembers the lines the
    csv reader took for the record being read."""

    def __init__(self, blocks: Iterator[bytes], first: bytes, encoding: str):
        self.blocks = blocks
        self.first = first
        self.encoding = encoding
        self.count = 0
        self.taken: list[str] = []
        self._iter = self._generate()

    def _generate(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        pending = ""

        def decode(data: bytes, final: bool = False) -> str:
            try:
                return decoder.decode(data, final)
            except UnicodeDecodeError:
                raise ImportFormatError(
                    gettext_noop(
                        "The file is not valid %(encoding)s text after line %(line)s. "
                        "Save it as UTF-8 CSV and upload it again."
                    )
                    % {"encoding": self.encoding, "line": self.count}
                ) from None

        for data in self._all_blocks():
            text = decode(data)
            pending += text
            if "\n" not in text and "\r" not in text:
                continue
            # A CR at the very end may be the first half of a CRLF cut by the block: keep it.
            cut = len(pending) - 1 if pending.endswith("\r") else len(pending)
            parts = _LINE_END.split(pending[:cut])
            pending = parts.pop() + pending[cut:]
            for line, ending in zip(parts[::2], parts[1::2], strict=True):
                yield line + ending
        parts = _LINE_END.split(pending + decode(b"", final=True))
        last = parts.pop()
        for line, ending in zip(parts[::2], parts[1::2], strict=True):
            yield line + ending
        if last:
            yield last

    def _all_blocks(self) -> Iterator[bytes]:
        if self.first:
            yield self.first
        yield from self.blocks

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = next(self._iter)
        self.count += 1
        self.taken.append(line)
        return line

    def take(self) -> str:
        raw = "".join(self.taken)
        self.taken.clear()
        return raw


def read_csv(
    binary: BinaryIO, *, progress: Callable[[int], None] | None = None
) -> tuple[list[str], str, Iterator[Record]]:
    """Return the header cells, the header line as written, and an iterator over the data
    records.

    Blank lines are skipped. A line the csv module cannot parse comes back as a record with
    `error` set, so it is rejected with its line number instead of stopping the import.
    """
    stream = read_blocks(binary, progress)
    return read_csv_blocks(next(stream, b""), stream)


def read_csv_blocks(first: bytes, rest: Iterator[bytes]) -> tuple[list[str], str, Iterator[Record]]:
    """`read_csv` for a file whose first block was already read (to tell its shape)."""
    if not first.strip():
        raise ImportFormatError(gettext_noop("The file is empty: expected a header line and rows."))
    encoding = detect_encoding(first)
    lines = _Lines(rest, first, encoding)

    header_line = next(lines, "")
    delimiter = max(DELIMITERS, key=header_line.count)  # ties keep the comma (first)
    lines.take()
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    if not any(cell.strip() for cell in header):
        raise ImportFormatError(gettext_noop("The first line is empty: expected a header line naming the columns."))

    def records() -> Iterator[Record]:
        reader = csv.reader(lines, delimiter=delimiter)
        while True:
            start = lines.count + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                error = f"Not readable as CSV: {exc}."
                if "field larger than field limit" in str(exc):
                    error = f"A cell is larger than {MAX_CELL_CHARS // 1024} KB; at most {MAX_CELL_CHARS:,} characters."
                yield Record(line=start, cells=[], raw=lines.take(), error=error)
                continue
            raw = lines.take()
            if "\x00" in raw:
                yield Record(line=start, cells=[], raw=raw, error="The line contains a NUL byte (\\x00).")
                continue
            if not any(cell.strip() for cell in cells):
                continue
            yield Record(line=start, cells=cells, raw=raw)

    return header, header_line, records()
