"""Turn an HTTP body into a list of rows, or a precise whole-request error.

Size limits are checked before parsing: the declared Content-Length first, then the bytes
actually read (a chunked body has no length to declare).
"""

import csv
import io
import json
from typing import Any

from django.utils.translation import gettext_noop

MAX_EVENTS = 1_000
MAX_BYTES = 5 * 1024 * 1024
# Keys and array items are what make a body expensive to parse and check, not its bytes: 5 MB
# of one row with 380,000 keys cost 10-15x a normal 5 MB batch. Every key or item but the
# last of its object needs a comma, so counting commas (a few ms in C) bounds them before
# anything is parsed: 100 per event on average, where a normal event has about 15.
MAX_SEPARATORS = 100 * MAX_EVENTS
# Messages are stored in English with their values and translated when shown
# (wxanalytics.localize); LIMITS goes into other messages as a value and is translated too.
LIMITS = gettext_noop("at most %(events)s events and %(megabytes)s MB per request") % {
    "events": f"{MAX_EVENTS:,}",
    "megabytes": MAX_BYTES // (1024 * 1024),
}

JSON_TYPES = {"application/json"}
CSV_TYPES = {"text/csv", "application/csv"}
# CSV header names accepted for the seed's schema (§9), in its order.
SEED_COLUMNS = ("event_name", "user_id", "session_id", "source", "campaign", "page", "value", "currency", "ts")


class BodyError(Exception):
    """The request as a whole cannot be read; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, *, keep: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.keep = keep or status in {400, 415}  # unreadable or refused: kept for replay


def check_declared_length(content_length: str | None) -> None:
    if not content_length:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise BodyError(
            400, gettext_noop("Content-Length %(value)s is not a number.") % {"value": repr(content_length)}
        ) from None
    if declared > MAX_BYTES:
        raise BodyError(
            413,
            gettext_noop("The body is %(size)s bytes; %(limits)s. Split it into smaller batches.")
            % {"size": f"{declared:,}", "limits": LIMITS},
        )


def media_type(content_type: str | None) -> tuple[str, str]:
    """('application/json', 'utf-8') from 'application/json; charset=UTF-8'."""
    if not content_type:
        return "", ""
    kind, _, rest = content_type.partition(";")
    charset = ""
    for param in rest.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


def parse_body(body: bytes, content_type: str | None) -> tuple[str, list[Any]]:
    """Returns (channel, rows): channel is "api" for JSON, "csv" for CSV."""
    if len(body) > MAX_BYTES:
        raise BodyError(
            413,
            gettext_noop("The body is larger than %(size)s bytes; %(limits)s. Split it into smaller batches.")
            % {"size": f"{MAX_BYTES:,}", "limits": LIMITS},
        )
    kind, charset = media_type(content_type)
    is_json = kind in JSON_TYPES or kind.endswith("+json")
    if not is_json and kind not in CSV_TYPES:
        shown = kind or "none"
        raise BodyError(
            415,
            gettext_noop("Content-Type %(type)s is not supported; send application/json or text/csv.")
            % {"type": repr(shown)},
        )
    if charset and charset not in {"utf-8", "utf8"}:
        raise BodyError(
            415, gettext_noop("charset %(charset)s is not supported; send UTF-8.") % {"charset": repr(charset)}
        )
    separators = body.count(b",")
    if separators > MAX_SEPARATORS:
        raise BodyError(
            413,
            gettext_noop(
                "The body has %(commas)s commas, so more than %(limit)s keys, items or cells; "
                "at most %(per_event)s per event on average. Send fewer fields or split the batch."
            )
            % {"commas": f"{separators:,}", "limit": f"{MAX_SEPARATORS:,}", "per_event": MAX_SEPARATORS // MAX_EVENTS},
            keep=True,
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(
            400, gettext_noop("The body is not valid UTF-8 (bad byte at offset %(offset)s).") % {"offset": exc.start}
        ) from None
    if not text.strip():
        raise BodyError(400, gettext_noop("The body is empty; send one event object, an array of events, or CSV."))
    rows = parse_json(text) if is_json else parse_csv(text)
    if len(rows) > MAX_EVENTS:
        raise BodyError(
            413,
            gettext_noop("The body has %(count)s events; %(limits)s. Split it into smaller batches.")
            % {"count": f"{len(rows):,}", "limits": LIMITS},
        )
    return ("api" if is_json else "csv"), rows


def parse_json(text: str) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError(
            400,
            gettext_noop("Invalid JSON: %(problem)s at line %(line)s, column %(column)s.")
            % {"problem": exc.msg, "line": exc.lineno, "column": exc.colno},
        ) from None
    except RecursionError:
        raise BodyError(400, gettext_noop("Invalid JSON: nested too deeply.")) from None
    except ValueError:
        # Python refuses to turn more than 4,300 digits into an int (a CPU-exhaustion guard).
        raise BodyError(400, gettext_noop("Invalid JSON: a number has more than 4,300 digits.")) from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise BodyError(
        400,
        gettext_noop("The JSON body must be an event object or an array of events, not %(type)s.")
        % {"type": type(data).__name__},
    )


def parse_csv(text: str) -> list[dict[str, Any]]:
    """A header row, then one event per row. Spaces after commas are tolerated (the seed
    prints them); extra columns become properties; a row longer than the header keeps its
    surplus cells under `extra_cells`."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
        header = next(reader, None)
        if not header:
            raise BodyError(400, gettext_noop("The CSV has no header row."))
        names = [name.strip().lower() for name in header]
        missing = [name for name in ("event_name", "user_id", "ts") if name not in names]
        if missing:
            raise BodyError(
                400,
                gettext_noop("The CSV header lacks %(missing)s; expected the columns %(columns)s.")
                % {"missing": ", ".join(missing), "columns": ", ".join(SEED_COLUMNS)},
            )
        if len(set(names)) != len(names):
            raise BodyError(400, gettext_noop("The CSV header names a column twice."))
        rows = []
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(rows) == MAX_EVENTS:
                raise BodyError(
                    413,
                    gettext_noop("The CSV has more than %(count)s events; %(limits)s. Split it into smaller batches.")
                    % {"count": f"{MAX_EVENTS:,}", "limits": LIMITS},
                )
            row: dict[str, Any] = {name: cell.strip() for name, cell in zip(names, cells, strict=False)}
            if len(cells) > len(names):
                row["extra_cells"] = [cell.strip() for cell in cells[len(names) :]]
            rows.append(row)
        return rows
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            raise BodyError(
                400,
                gettext_noop("A CSV cell is larger than %(kilobytes)s KB (%(limit)s characters).")
                % {"kilobytes": limit // 1024, "limit": f"{limit:,}"},
            ) from None
        raise BodyError(400, gettext_noop("The CSV cannot be read: %(problem)s.") % {"problem": exc}) from None
