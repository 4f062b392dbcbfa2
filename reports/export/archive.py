"""The monthly archive (R4): the month's events, ad spend and snapshots as gzip CSV files in
the default storage, for year-on-year comparison.

Rows are streamed from a server-side cursor (`iterator(chunk_size)`) into a temporary gzip
file, so memory stays flat however big the month is. Each run writes the same file names
(archive/YYYY/YYYY-MM/<name>.csv.gz), deleting the old file first: re-running replaces,
never duplicates.
"""

import csv
import gzip
import io
import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext

from events.models import AdSpend, Event, Identity
from events.partitions import DroppedMonth, drop_month
from events.privacy.hashing import PSEUDONYM_PREFIX, id_hash, pseudonym
from events.privacy.retention import PERSONAL_PROPERTIES
from reports.export import spreadsheet
from reports.models import Archive, Snapshot
from reports.periods import Period, parse_label

CHUNK_SIZE = 5000

EVENT_COLUMNS = list(Event.RECORD_FIELDS)
SPEND_COLUMNS = [
    "date",
    "campaign_code",
    "campaign_id",
    "ad_group",
    "creative_name",
    "spend",
    "impressions",
    "clicks",
    "reach",
]
SNAPSHOT_COLUMNS = ["kind", "period_label", "built_at", "stale", "section", "row", "column", "value"]


class ArchiveError(Exception):
    pass


def archive_path(period: Period, name: str) -> str:
    return f"archive/{period.first_day:%Y}/{period.label}/{name}.csv.gz"


def _event_rows(period: Period) -> Iterator[tuple]:
    queryset = Event.objects.filter(ts__gte=period.start, ts__lt=period.end).order_by("id")
    for row in queryset.values_list(*EVENT_COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        yield (*row[:-1], json.dumps(row[-1], ensure_ascii=False, sort_keys=True))


def _spend_rows(period: Period) -> Iterator[tuple]:
    queryset = AdSpend.objects.filter(date__gte=period.first_day, date__lte=period.last_day).order_by("date", "id")
    yield from queryset.values_list(*SPEND_COLUMNS).iterator(chunk_size=CHUNK_SIZE)


def _snapshot_rows(period: Period) -> Iterator[tuple]:
    """Every table cell of every snapshot that starts in the month, in long form
    (kind, period, section, row, column, value) so years line up whatever the layout."""
    queryset = Snapshot.objects.filter(
        period_start__gte=period.start, period_start__lt=period.end, built_at__isnull=False
    )
    for snapshot in queryset.order_by("kind", "period_start").iterator(chunk_size=50):
        for section in snapshot.sections:
            columns = section.get("columns", [])
            for r, row in enumerate(section.get("rows", [])):
                for column, value in zip(columns, row, strict=False):
                    yield (
                        snapshot.kind,
                        snapshot.period_label,
                        snapshot.built_at,
                        snapshot.stale,
                        section.get("key"),
                        r,
                        column,
                        value,
                    )


def _write_gzip_csv(path: str, header: list[str], rows: Iterable[tuple]) -> dict:
    """Stream rows into a temporary gzip file, then store it under `path` (replacing)."""
    count = 0
    with tempfile.TemporaryFile() as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as gz, io.TextIOWrapper(gz, encoding="utf-8", newline="") as text:
            writer = spreadsheet.writer(text)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        size = raw.tell()
        raw.seek(0)
        if default_storage.exists(path):
            default_storage.delete(path)
        stored = default_storage.save(path, File(raw, name=path))
    return {"path": stored, "rows": count, "bytes": size}


def archive_month(label: str, *, progress=None) -> Archive:
    """Write events, ad spend and snapshots of one closed month (YYYY-MM)."""
    try:
        period = parse_label("monthly", label)
    except ValueError as exc:
        raise ArchiveError(str(exc)) from None
    if not period.is_closed():
        raise ArchiveError(f"{period.label} has not ended yet; archive a closed month.")
    started, clock = timezone.now(), time.monotonic()
    archive, _ = Archive.objects.update_or_create(
        month=period.first_day, defaults={"started_at": started, "finished_at": None, "error": ""}
    )
    files = {}
    try:
        for name, header, rows in (
            ("events", EVENT_COLUMNS, _event_rows(period)),
            ("ad_spend", SPEND_COLUMNS, _spend_rows(period)),
            ("snapshots", SNAPSHOT_COLUMNS, _snapshot_rows(period)),
        ):
            files[name] = _write_gzip_csv(archive_path(period, name), header, rows)
            if progress:
                progress(
                    gettext("%(name)s: %(rows)d rows → %(path)s")
                    % {"name": name, "rows": files[name]["rows"], "path": files[name]["path"]}
                )
    except Exception as exc:
        Archive.objects.filter(pk=archive.pk).update(error=f"{type(exc).__name__}: {exc}")
        raise
    Archive.objects.filter(pk=archive.pk).update(
        files=files, finished_at=timezone.now(), duration_ms=int((time.monotonic() - clock) * 1000)
    )
    archive.refresh_from_db()
    return archive


def drop_archived_month(label: str) -> DroppedMonth:
    """Remove a month's events from the database once its archive is complete.

    Refuses unless `archive_month` finished for that month without error, its events file
    is in storage, and it holds as many events as the month has now (events that arrived
    late, after the archive, would otherwise be lost: re-run export_archive first).
    """
    try:
        period = parse_label("monthly", label)
    except ValueError as exc:
        raise ArchiveError(str(exc)) from None
    archive = Archive.objects.filter(month=period.first_day).first()
    if archive is None or archive.finished_at is None or archive.error:
        raise ArchiveError(f"{period.label} has no finished archive; run export_archive {period.label} first.")
    events_file = archive.files.get("events") or {}
    if not events_file.get("path") or not default_storage.exists(events_file["path"]):
        raise ArchiveError(f"The events file of the {period.label} archive is missing; run export_archive again.")
    stored = Event.objects.filter(ts__gte=period.start, ts__lt=period.end).count()
    if stored != events_file.get("rows"):
        raise ArchiveError(
            f"{period.label} has {stored} events but its archive holds {events_file.get('rows')}; "
            "run export_archive again before dropping it."
        )
    return drop_month(period.first_day)


# --- Personal data in archives (docs/privacy.md) ---------------------------------------


def remove_erased_from_archive(month: date, *, id_hashes: Iterable[str]) -> int:
    """Rewrite one month's archived events file without the rows of erased ids (matched by
    their keyed hash, the only form the erasure record keeps); returns the rows removed.
    A file without such rows is read, not rewritten."""
    erased = set(id_hashes)
    hashes: dict[str, str] = {}  # one HMAC per distinct user_id of the file

    def erased_row(row: list[str], user: int) -> bool:
        value = row[user]
        if value not in hashes:
            hashes[value] = id_hash(value)
        return hashes[value] in erased

    if not any(erased_row(row, column["user_id"]) for row, column in _events_file_rows(month)):
        return 0

    def keep(rows: list[list[str]], column: dict[str, int]) -> list[list[str]]:
        return [row for row in rows if not erased_row(row, column["user_id"])]

    return _rewrite_events_file(month, keep)


def pseudonymise_archive(month: date) -> int:
    """Give one archived month's events the pseudonyms the database gives them after the
    retention period (events.privacy.retention); returns the rows changed. Done once: the
    file's entry in Archive.files remembers it."""
    _, entry = _events_file(month)
    if not entry or entry.get("pseudonymised"):
        return 0
    changed = 0

    def replace(rows: list[list[str]], column: dict[str, int]) -> list[list[str]]:
        nonlocal changed
        user, session, properties = column["user_id"], column["session_id"], column["properties"]
        fresh = {row[user] for row in rows if not row[user].startswith(PSEUDONYM_PREFIX)}
        persons = dict(Identity.objects.filter(user_id__in=fresh).values_list("user_id", "person_id"))
        for row in rows:
            if row[user].startswith(PSEUDONYM_PREFIX):
                continue
            changed += 1
            row[user] = pseudonym(persons.get(row[user], row[user]))
            if row[session]:
                row[session] = pseudonym(row[session])
            if row[properties]:
                kept = {k: v for k, v in json.loads(row[properties]).items() if k not in PERSONAL_PROPERTIES}
                row[properties] = json.dumps(kept, ensure_ascii=False, sort_keys=True)
        return rows

    _rewrite_events_file(month, replace, mark={"pseudonymised": True})
    return changed


def _events_file(month: date) -> tuple[Archive | None, dict]:
    archive = Archive.objects.filter(month=month).first()
    entry = (archive.files.get("events") or {}) if archive else {}
    if not entry.get("path") or not default_storage.exists(entry["path"]):
        return None, {}
    return archive, entry


def _events_file_rows(month: date) -> Iterator[tuple[list[str], dict[str, int]]]:
    """(row, column index by name) for every row of the month's archived events file."""
    _, entry = _events_file(month)
    if not entry:
        return
    with (
        default_storage.open(entry["path"], "rb") as stored,
        gzip.open(stored, "rt", encoding="utf-8", newline="") as text,
    ):
        reader = csv.reader(text)
        column = {name: index for index, name in enumerate(next(reader))}
        for row in reader:
            yield row, column


def _rewrite_events_file(
    month: date, change: Callable[[list[list[str]], dict[str, int]], list[list[str]]], *, mark: dict | None = None
) -> int:
    """Stream the month's events file through `change` (chunks of CHUNK_SIZE rows) into a
    new file at the same path; returns how many rows fewer it has."""
    archive, entry = _events_file(month)
    if archive is None:
        return 0
    with (
        default_storage.open(entry["path"], "rb") as stored,
        gzip.open(stored, "rt", encoding="utf-8", newline="") as text,
    ):
        header = next(csv.reader(text))

    def rows() -> Iterator[list[str]]:
        chunk: list[list[str]] = []
        column: dict[str, int] = {}
        for row, column in _events_file_rows(month):
            chunk.append(row)
            if len(chunk) >= CHUNK_SIZE:
                yield from change(chunk, column)
                chunk = []
        if chunk:
            yield from change(chunk, column)

    written = _write_gzip_csv(entry["path"], header, rows())
    # Only the events entry changes: ad spend and snapshot files stay as they are.
    Archive.objects.filter(pk=archive.pk).update(
        files={**archive.files, "events": {**entry, **written, **(mark or {})}}
    )
    return entry.get("rows", written["rows"]) - written["rows"]
