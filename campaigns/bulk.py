"""Placements in bulk from a CSV file, all or nothing, in three steps:

1. `parse_placements_csv` reads the text into rows, or refuses it with errors by line (no
   database: a pure function of the text);
2. `placements_from_rows` checks every row against the database (campaigns, apps,
   names already taken) and refuses the file with errors by line, or returns unsaved
   placements;
3. `create_placements` saves them in one transaction with freshly issued scenes and queues
   one WeChat code request per placement that needs one, to run after the commit
   (wechat_queue.queue_wechat_qr): the upload never waits on WeChat.
"""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from campaigns import services, wechat_queue
from campaigns.models import Campaign, Placement, WeChatApp

COLUMNS = (
    "campaign",
    "name",
    "kind",
    "qr_kind",
    "wechat_app",
    "target_url",
    "utm_source",
    "utm_medium",
    "utm_content",
    "mp_page",
    "mp_env_version",
)
REQUIRED = ("name",)
MAX_ROWS = 5000
# Columns copied onto the placement as they are (campaign and wechat_app are looked up).
_PLAIN = tuple(name for name in COLUMNS if name not in {"campaign", "wechat_app"})


@dataclass
class LineError:
    """What is wrong with one line of a bulk placement CSV (the header is line 1); event
    rows refused at ingest are events.ingest.RowError."""

    line: int
    errors: dict[str, list[str]]


@dataclass
class BulkPlacementError(Exception):
    """The upload was refused as a whole; `errors` says which lines and why."""

    errors: list[LineError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(
            f"line {e.line}: " + ", ".join(f"{k}: {' '.join(v)}" for k, v in e.errors.items()) for e in self.errors
        )


@dataclass(frozen=True)
class Row:
    line: int  # in the file; the header is line 1
    values: dict[str, str]


def _refuse(line: int, errors: dict[str, list[str]]) -> BulkPlacementError:
    return BulkPlacementError([LineError(line=line, errors=errors)])


def _file_error(message: str) -> BulkPlacementError:
    return _refuse(1, {"file": [message]})


def placements_bulk_create(csv_text: str, *, campaign: Campaign | None = None) -> list[Placement]:
    """Create one placement per CSV row, all or nothing.

    Columns (header row required, any order): name, and optionally campaign (its code;
    required unless `campaign` is given), kind, qr_kind, wechat_app (appid), target_url,
    utm_source, utm_medium, utm_content, mp_page, mp_env_version. Every row is validated
    before anything is written; any error refuses the whole file (BulkPlacementError, with
    errors by line number).
    """
    rows = parse_placements_csv(csv_text, campaign_given=campaign is not None)
    return create_placements(placements_from_rows(rows, campaign=campaign))


def parse_placements_csv(csv_text: str, *, campaign_given: bool = False) -> list[Row]:
    """The file's non-empty rows with stripped values, or BulkPlacementError for a file that
    is not a readable placements CSV (header, NUL bytes, too many values, too many rows)."""
    if "\x00" in csv_text:
        line = csv_text.count("\n", 0, csv_text.index("\x00")) + 1
        raise _refuse(line, {"row": ["The line contains a NUL byte (\\x00)."]})
    # newline=None reads LF, CRLF and CR alone (Excel's "CSV (Macintosh)") as line ends.
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"), newline=None))
    try:
        return _rows(reader, campaign_given=campaign_given)
    except csv.Error as exc:
        message = f"Not readable as CSV: {exc}."
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            message = f"A cell is larger than {limit // 1024} KB; at most {limit:,} characters."
        raise _refuse(reader.line_num, {"row": [message]}) from None


def _rows(reader: csv.DictReader, *, campaign_given: bool) -> list[Row]:
    header = [(name or "").strip() for name in (reader.fieldnames or [])]
    if not header:
        raise _file_error("The file is empty: expected a header row, e.g. campaign,name,kind.")
    reader.fieldnames = header
    unknown = sorted(set(header) - set(COLUMNS))
    missing = [c for c in REQUIRED if c not in header]
    if not campaign_given and "campaign" not in header:
        missing.append("campaign")
    if unknown or missing:
        errors = {}
        if unknown:
            errors["header"] = [f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(COLUMNS)}."]
        if missing:
            errors.setdefault("header", []).append(f"Missing column(s): {', '.join(missing)}.")
        raise _refuse(1, errors)

    rows: list[Row] = []
    for values in reader:
        if None in values:
            raise _refuse(reader.line_num, {"row": ["More values than columns."]})
        stripped = {k: (v or "").strip() for k, v in values.items()}
        if any(stripped.values()):
            rows.append(Row(line=reader.line_num, values=stripped))
        if len(rows) > MAX_ROWS:
            raise _file_error(f"At most {MAX_ROWS} placements per upload.")
    if not rows:
        raise _file_error("No placements in the file: add one row per placement under the header.")
    return rows


def placements_from_rows(rows: list[Row], *, campaign: Campaign | None) -> list[Placement]:
    """Unsaved placements, one per row, or BulkPlacementError with every row's errors."""
    # Campaign codes match ignoring case, as everywhere (unique ignoring case).
    codes = {row.values.get("campaign", "").lower() for row in rows} - {""}
    campaigns = {c.code.lower(): c for c in Campaign.objects.annotate(key=Lower("code")).filter(key__in=codes)}
    appids = {row.values.get("wechat_app", "") for row in rows} - {""}
    apps = {a.appid: a for a in WeChatApp.objects.filter(appid__in=appids)}

    errors: list[LineError] = []
    valid: list[tuple[int, Placement]] = []
    seen: dict[tuple[int, str], int] = {}
    for row in rows:
        values = row.values
        row_errors: dict[str, list[str]] = {}
        row_campaign = campaign
        if values.get("campaign"):
            row_campaign = campaigns.get(values["campaign"].lower())
            if row_campaign is None:
                row_errors["campaign"] = [f"No campaign with code {values['campaign']!r}."]
            elif campaign is not None and row_campaign != campaign:
                row_errors["campaign"] = [f"This upload is for campaign {campaign.code}."]
        elif campaign is None:
            row_errors["campaign"] = ["This field is required."]
        app = None
        if values.get("wechat_app"):
            app = apps.get(values["wechat_app"])
            if app is None:
                row_errors["wechat_app"] = [f"No WeChat app with appid {values['wechat_app']!r}."]
        placement = Placement(wechat_app=app, **{name: values[name] for name in _PLAIN if values.get(name)})
        if row_campaign is not None:
            placement.campaign = row_campaign
        try:
            placement.full_clean(exclude=["campaign", "scene", "wechat_app"], validate_unique=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                row_errors.setdefault(name, []).extend(messages)
        if row_campaign is not None and placement.name:
            key = (row_campaign.pk, placement.name)
            if key in seen:
                row_errors.setdefault("name", []).append(f"Same campaign and name as line {seen[key]}.")
            seen.setdefault(key, row.line)
        if row_errors:
            errors.append(LineError(line=row.line, errors=row_errors))
        else:
            valid.append((row.line, placement))

    line_of = {(p.campaign_id, p.name): line for line, p in valid}
    existing = Placement.objects.filter(
        campaign_id__in={p.campaign_id for _, p in valid}, name__in={p.name for _, p in valid}
    ).values_list("campaign_id", "name")
    for key in existing:
        if key in line_of:
            errors.append(LineError(line=line_of[key], errors={"name": ["A placement with this name already exists."]}))
    if errors:
        raise BulkPlacementError(sorted(errors, key=lambda e: e.line))
    return [p for _, p in valid]


def create_placements(placements: list[Placement]) -> list[Placement]:
    """Save validated placements in one transaction, each with a freshly issued scene; the
    WeChat code requests go to the queue when it commits."""
    with transaction.atomic():
        for placement, scene in zip(placements, services.allocate_scenes(len(placements)), strict=True):
            placement.scene = scene
            services.check_scene(placement)
        Placement.objects.bulk_create(placements)
        wechat_queue.queue_wechat_qr(placements)
    return placements
