"""Import one CSV file of one kind: read it as a stream, validate row by row, upsert good
rows on their natural key in chunks, keep bad rows as RejectedRow with their line number.

Re-importing a file replaces the rows it names and never doubles them. Each chunk is its own
transaction, so a very large file does not hold one long transaction open; if an import stops
half-way (a broken file, a restart), importing the file again finishes the job.
"""

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from events.models import RejectedRow
from wxanalytics.text import storable_text

from .csvstream import ImportFormatError, Record
from .documents import read_table
from .fields import EMPTY_MARKERS, Column, normalise_header
from .specs import SPECS, ImportSpec

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
CHANNEL_PREFIX = "import_"  # RejectedRow.channel of a bad import line: import_<kind>
# The summary lists this many bad lines; all of them are kept as RejectedRow regardless.
MAX_REPORTED_LINES = 200
MAX_REPORTED_UNMATCHED = 50


class UnknownImportKind(LookupError):
    pass


@dataclass(frozen=True)
class RejectedLine:
    line: int
    errors: dict[str, str]


@dataclass
class ImportSummary:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rejected_lines: list[RejectedLine] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    unmatched_label: str = ""

    @property
    def rejected_line_numbers(self) -> list[int]:
        return [item.line for item in self.rejected_lines]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
            "rejected_lines": [{"line": item.line, "errors": item.errors} for item in self.rejected_lines],
            "ignored_columns": self.ignored_columns,
            "unmatched": self.unmatched,
            "unmatched_label": self.unmatched_label,
        }

    def __str__(self) -> str:
        """The summary line in the active language (admin's message, the import command's
        output); the API serves `as_dict()`, whose fields do not change with the language."""
        text = gettext("%(kind)s: %(rows)d rows — %(created)d created, %(updated)d updated, %(rejected)d rejected") % {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
        }
        if self.rejected_lines:
            lines = ", ".join(str(n) for n in self.rejected_line_numbers[:20])
            more = " …" if self.rejected > 20 else ""
            text += gettext(" (lines %(lines)s)") % {"lines": lines + more}
        if self.unmatched:
            text += f"; {gettext(self.unmatched_label)}: {', '.join(self.unmatched)}"
        return text


def get_spec(kind: str) -> ImportSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise UnknownImportKind(f"Unknown import kind {kind!r}; one of: {', '.join(SPECS)}.") from None


@dataclass(frozen=True)
class _Layout:
    """Where each column is in this file (or the file-wide default it takes)."""

    positions: list[tuple[Column, int | None, str]]  # column, cell index or None, header as written
    width: int
    transforms: dict[str, Callable[[Any], Any]]  # column name → applied after parsing (cost_fen → yuan)
    written: dict[str, str]  # column name → header as written, for error messages


def _layout(spec: ImportSpec, header: list[str], defaults: dict[str, Any]) -> tuple[_Layout, list[str]]:
    by_header: dict[str, tuple[Column, str | None]] = {}
    for column in spec.columns:
        by_header[normalise_header(column.name)] = (column, None)
        for alias in column.aliases:
            by_header[normalise_header(alias)] = (column, None)
        for alias in column.alias_transforms:
            by_header[normalise_header(alias)] = (column, alias)

    present = {normalise_header(written) for written in header}
    columns = {column.name: column for column in spec.columns}
    roles = {
        normalise_header(role.header): (columns[role.column], None)
        for role in spec.header_roles
        if normalise_header(role.when_present) in present
    }

    found: dict[str, tuple[int, str]] = {}
    ignored = []
    for index, written in enumerate(header):
        name = normalise_header(written)
        match = roles.get(name) or by_header.get(name)
        if match is None:
            if written.strip():
                ignored.append(written.strip())
            continue
        column, _ = match
        if column.name in found:
            raise ImportFormatError(
                gettext_noop("Columns %(first)s and %(second)s both mean %(column)s; keep one.")
                % {
                    "first": repr(header[found[column.name][0]].strip()),
                    "second": repr(written.strip()),
                    "column": repr(column.name),
                }
            )
        found[column.name] = (index, written.strip())

    missing = [c.name for c in spec.columns if c.required and c.name not in found and c.name not in defaults]
    if missing:
        raise ImportFormatError(
            gettext_noop(
                "Missing required column(s): %(missing)s. The header line has: %(header)s. "
                "See docs/imports.md for the accepted names."
            )
            % {"missing": ", ".join(missing), "header": ", ".join(h.strip() for h in header)}
        )
    positions = []
    transforms = {}
    for column in spec.columns:
        index, written = found.get(column.name, (None, column.name))
        positions.append((column, index, written))
        transform = _transform_for(column, written)
        if transform is not None:
            transforms[column.name] = transform
    layout = _Layout(
        positions=positions,
        width=len(header),
        transforms=transforms,
        written={column.name: written for column, _, written in positions},
    )
    return layout, ignored


def _transform_for(column: Column, written: str):
    normalised = normalise_header(written)
    for alias, transform in column.alias_transforms.items():
        if normalise_header(alias) == normalised:
            return transform
    return None


def _parse_record(
    spec: ImportSpec, layout: _Layout, record: Record, defaults: dict[str, Any]
) -> tuple[models.Model | None, dict[str, str]]:
    if record.error:
        return None, {"line": record.error}
    cells = record.cells
    if len(cells) > layout.width and any(cell.strip() for cell in cells[layout.width :]):
        return None, {"line": f"{len(cells)} values but the header has {layout.width} columns."}
    if len(cells) < layout.width:
        return None, {"line": f"{len(cells)} values but the header has {layout.width} columns."}

    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column, index, written in layout.positions:
        text = cells[index].strip() if index is not None else ""
        if text.lower() in EMPTY_MARKERS:
            if column.name in defaults:
                values[column.name] = defaults[column.name]
            elif column.required:
                errors[written] = "is required."
            else:
                values[column.name] = column.default
            continue
        try:
            value = column.parse(text)
            if column.name in layout.transforms:
                value = layout.transforms[column.name](value)
        except ValueError as exc:
            errors[written] = str(exc)
            continue
        values[column.name] = value
    if errors:
        return None, errors
    if spec.check is not None:
        problems = spec.check(values)
        if problems:
            return None, {layout.written.get(name, name): why for name, why in problems.items()}
    return spec.model(**{spec.attr(column): values[column.name] for column, _, _ in layout.positions}), {}


class _Writer:
    """Collects one chunk of good and bad rows and writes it in one transaction."""

    def __init__(
        self,
        spec: ImportSpec,
        summary: ImportSummary,
        header_raw: str,
        *,
        channel: str,
        keep_rejected: bool,
        update_fields: list[str],
    ):
        self.spec = spec
        self.update_fields = update_fields
        self.keep_rejected = keep_rejected
        self.summary = summary
        self.header_raw = header_raw
        self.channel = channel
        self.good: dict[tuple, models.Model] = {}
        self.bad: list[RejectedRow] = []
        self.cache: dict = {}
        self.unmatched: set[str] = set()

    def __len__(self) -> int:
        return len(self.good) + len(self.bad)

    def add(self, obj: models.Model) -> None:
        key = self.spec.key_of(obj)
        if key in self.good:
            # The same natural key twice in one file: the later line wins, like a re-import.
            self.summary.updated += 1
        self.good[key] = obj

    def reject(self, record: Record, errors: dict[str, str]) -> None:
        self.summary.rejected += 1
        if len(self.summary.rejected_lines) < MAX_REPORTED_LINES:
            self.summary.rejected_lines.append(RejectedLine(line=record.line, errors=errors))
        if not self.keep_rejected:
            return
        self.bad.append(
            RejectedRow(
                channel=self.channel,
                raw=storable_text(self.header_raw + record.raw),
                errors=errors,
                row_index=record.line,
                received_at=timezone.now(),
            )
        )

    def flush(self) -> None:
        if not self:
            return
        objs = list(self.good.values())
        with transaction.atomic():
            if self.spec.resolve is not None and objs:
                self.unmatched |= self.spec.resolve(objs, self.cache)
            existing = self._existing_keys(objs)
            if objs:
                self.spec.model.objects.bulk_create(
                    objs,
                    update_conflicts=True,
                    unique_fields=list(self.spec.natural_key),
                    update_fields=self.update_fields,
                )
            if self.bad:
                RejectedRow.objects.keep(self.bad)
        updated = sum(1 for key in self.good if key in existing)
        self.summary.updated += updated
        self.summary.created += len(self.good) - updated
        self.good.clear()
        self.bad.clear()

    def _existing_keys(self, objs: list[models.Model]) -> set[tuple]:
        """Natural keys of this chunk already in the table, to tell created from updated.
        Filtering on the first two key fields keeps it one indexed query per chunk."""
        if not objs:
            return set()
        first, second = self.spec.natural_key[:2]
        query = Q(**{f"{first}__in": {getattr(o, first) for o in objs}}) & Q(
            **{f"{second}__in": {getattr(o, second) for o in objs}}
        )
        keys = set(self.spec.model.objects.filter(query).values_list(*self.spec.natural_key))
        return keys & self.good.keys()


def import_csv(
    kind: str,
    binary: BinaryIO | bytes,
    *,
    defaults: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    keep_rejected: bool = True,
) -> ImportSummary:
    """Import a file of `kind` (see specs.SPECS) and return what happened. The file is CSV
    text, a datacube JSON answer as WeChat returns it, or an .xlsx workbook (documents.py).

    Steps: read the header and map its names (aliases included) to columns; parse and
    check each record; upsert good rows every `chunk_size` rows on the natural key; store
    bad rows as RejectedRow (channel `import_<kind>`, row_index = line number).
    `defaults` gives a value for the whole file to columns the file may lack (app_id).
    `progress` is called with the number of bytes read, block by block.
    `keep_rejected=False` is for replays, which update their own RejectedRow.
    Raises ImportFormatError when the file as a whole is unusable: before any row is written
    for a bad header, or part-way for text that stops decoding (chunks before it are kept;
    importing the fixed file again replaces them).
    """
    spec = get_spec(kind)
    defaults = {name: value for name, value in (defaults or {}).items() if value not in (None, "")}
    unknown = set(defaults) - set(spec.file_defaults)
    if unknown:
        raise ImportFormatError(
            gettext_noop("%(columns)s cannot be given for the whole file for %(kind)s.")
            % {"columns": ", ".join(sorted(unknown)), "kind": kind}
        )
    for name, value in list(defaults.items()):
        column = next(c for c in spec.columns if c.name == name)
        try:
            defaults[name] = column.parse(str(value).strip())
        except ValueError as exc:
            raise ImportFormatError(f"{name}: {exc}") from None
    if isinstance(binary, bytes | bytearray):
        binary = io.BytesIO(binary)

    header, header_raw, records = read_table(binary, progress=progress)
    layout, ignored = _layout(spec, header, defaults)
    summary = ImportSummary(kind=kind, ignored_columns=ignored, unmatched_label=spec.unmatched_label)
    # A column the file does not have keeps its stored value on re-import: getusercumulate
    # (ref_date, cumulate_user) must not zero the follows getusersummary brought for that day.
    given = {column.name for column, index, _ in layout.positions if index is not None} | set(defaults)
    update_fields = [field for field in spec.update_fields if field not in spec.unchanged_unless(given)]
    writer = _Writer(
        spec,
        summary,
        header_raw,
        channel=CHANNEL_PREFIX + kind,
        keep_rejected=keep_rejected,
        update_fields=update_fields,
    )

    for record in records:
        summary.rows += 1
        obj, errors = _parse_record(spec, layout, record, defaults)
        if errors:
            writer.reject(record, errors)
        else:
            writer.add(obj)
        if len(writer) >= chunk_size:
            writer.flush()
    writer.flush()

    summary.unmatched = sorted(writer.unmatched)[:MAX_REPORTED_UNMATCHED]
    logger.info("import %s", summary)
    return summary


def replay_rejected_import(rejected: RejectedRow, *, user=None) -> bool:
    """Import a rejected import line again after someone fixed its raw text (the header
    line plus the data line). True when it went in: the record is marked replayed.
    Otherwise its errors are updated and it stays open."""
    kind = rejected.channel.removeprefix(CHANNEL_PREFIX)
    with transaction.atomic():
        try:
            summary = import_csv(kind, rejected.raw.encode(), keep_rejected=False)
        except ImportFormatError as exc:
            errors = {"file": str(exc)}
        else:
            if not summary.rejected and summary.rows:
                rejected.status = RejectedRow.Status.REPLAYED
                rejected.replayed_at = timezone.now()
                rejected.replayed_by = user
                rejected.save(update_fields=["status", "replayed_at", "replayed_by"])
                return True
            errors = (
                summary.rejected_lines[0].errors
                if summary.rejected_lines
                else {"file": gettext_noop("has no data line.")}
            )
        rejected.errors = errors
        rejected.save(update_fields=["errors"])
        return False
