"""The one entry point for events: every channel (API, CSV, WeChat push and Pay, short
links, imports, replays) calls `ingest_rows`.

Steps (a lean path, PostHog-capture style): validate each row with plain functions →
compute dedupe keys → believe a short link's signed hand-over only if it verifies
(events.ingest.handover) → one bulk INSERT … ON CONFLICT DO NOTHING that also resolves campaign
codes, placement scenes and source aliases (events.ingest.write) → classify the rows not
inserted as duplicates (same content, or an erased event's key) or conflicts (same id,
different content) → store every rejected row in bulk. When this returns, the rows are
durable; a single event with nothing to reject costs one statement.

Row fields: event_name, user_id, session_id, source, campaign, page, value, currency, ts,
event_id, properties, plus optional app_id and placement_scene. Unknown fields are kept
as properties. `ts` is an ISO 8601 string with a zone or an aware datetime.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from events.identity import link_unionids_from_rows
from events.models import RejectedRow
from wxanalytics.text import storable_text

from .dedupe import ERASED, content_hash, dedupe_key, digest
from .handover import apply_handover
from .trust import client_policy, client_refusal
from .validate import CleanRow, validate_row
from .write import existing_hashes, insert_events

CONFLICT_MESSAGE = gettext_noop("was already used for a different payload; kept for review, not stored.")


@dataclass
class RowError:
    index: int
    errors: dict[str, str]
    reason: str = "invalid"  # or "conflict", "forbidden" (RejectedRow.Reason)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: list[RowError] = field(default_factory=list)
    # Ids of the RejectedRow records that hold this batch's rejected rows, new or kept
    # before by an earlier copy of the batch (empty with keep_rejected=False).
    rejected_row_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected": [{"index": e.index, "reason": e.reason, "errors": e.errors} for e in self.rejected],
        }


def ingest_rows(
    rows: Sequence[Any],
    *,
    channel: str,
    ingest_key=None,
    source: str | None = None,
    keep_rejected: bool = True,
) -> IngestResult:
    """Validate, dedupe and store a batch of event rows.

    `source` is the sender: it scopes `event_id`s (defaults to the ingest key's source,
    then to `channel`) and fills a row's empty `source`. `keep_rejected=False` is for
    replays, which update their own RejectedRow instead of writing a new one.
    Raises django.db.DatabaseError when the database is unavailable (nothing is stored).
    """
    scope = source or (ingest_key.source if ingest_key is not None else "") or channel
    now = timezone.now()
    result = IngestResult()
    rejected: list[tuple[int, Any, dict[str, str], str]] = []

    # A client key is public (it ships inside the Mini Program): what it may write is
    # checked row by row (events.ingest.trust).
    from_client = ingest_key is not None and ingest_key.is_client
    policy = client_policy() if from_client else None
    clean: list[tuple[int, CleanRow]] = []
    for index, row in enumerate(rows):
        row_clean, errors = validate_row(row, now=now)
        if errors:
            rejected.append((index, row, errors, RejectedRow.Reason.INVALID))
            continue
        row_clean.source = row_clean.source or scope
        refusal = client_refusal(row_clean, policy) if policy is not None else None
        if refusal:
            rejected.append((index, row, refusal, RejectedRow.Reason.FORBIDDEN))
        else:
            clean.append((index, row_clean))

    ingest_key_id = ingest_key.pk if ingest_key is not None else None
    by_key: dict[uuid.UUID, tuple[int, CleanRow]] = {}
    for index, row in clean:
        # Hash the row as sent, before look-ups that depend on what is in the database.
        # Stored and compared as digests (their first 128 bits), on events and their keys.
        content_hex = content_hash(row)
        key, content = digest(dedupe_key(row, scope=scope, content=content_hex)), digest(content_hex)
        if key in by_key:
            if by_key[key][1].content_hash == content:
                result.duplicates += 1
            else:
                rejected.append((index, rows[index], {"event_id": CONFLICT_MESSAGE}, RejectedRow.Reason.CONFLICT))
            continue
        row.dedupe_key, row.content_hash, row.ingest_key_id = key, content, ingest_key_id
        # After hashing: the verdict depends on when it is made, and a retry after the
        # hand-over expired must stay a duplicate of what was stored.
        apply_handover(row, now=now.timestamp())
        by_key[key] = (index, row)

    # No transaction around the steps: the insert is one statement (atomic by itself), and
    # what follows (identity links, rejected rows) is redone when the client retries after
    # an error or a killed worker: the retried events come back as duplicates, and
    # duplicates are linked like new events (links and rejected rows are idempotent).
    # Keys in sorted order: two writers with overlapping batches then lock rows in the
    # same order and wait for each other instead of deadlocking. Compared as numbers: the
    # UUIDs' own order, without a Python-level comparison per pair (0.45 ms per 1,000 rows).
    events = sorted((event for _, event in by_key.values()), key=lambda event: event.dedupe_key.int)
    inserted = insert_events(events, received_at=now)
    result.accepted = len(inserted)
    stored_events = [event for event in events if event.dedupe_key in inserted]
    if len(inserted) < len(by_key):
        stored = existing_hashes(key for key in by_key if key not in inserted)
        for key, (index, event) in by_key.items():
            if key in inserted:
                continue
            stored_hash = stored.get(key)
            if stored_hash == event.content_hash:
                result.duplicates += 1
                stored_events.append(event)
            elif stored_hash == ERASED:
                # An erased event's key answers every retry as a duplicate (dedupe.ERASED), and
                # nothing of it comes back: no event and no identity link.
                result.duplicates += 1
            else:
                rejected.append((index, rows[index], {"event_id": CONFLICT_MESSAGE}, RejectedRow.Reason.CONFLICT))
    # A unionid sent with an event joins that id to its person (E6) as it arrives, from a
    # client key only as a claim (events.identity.claim); links already known cost one read,
    # so re-linking duplicates is cheap.
    link_unionids_from_rows(
        ({"user_id": event.user_id, "properties": event.properties} for event in stored_events),
        authoritative=not from_client,
    )

    rejected.sort(key=lambda item: item[0])
    result.rejected = [RowError(index, errors, str(reason)) for index, _, errors, reason in rejected]
    result.conflicts = sum(1 for item in rejected if item[3] == RejectedRow.Reason.CONFLICT)
    if keep_rejected and rejected:
        result.rejected_row_ids = RejectedRow.objects.keep(
            [
                RejectedRow(
                    channel=channel,
                    source=scope,
                    raw=raw_text(raw),
                    errors=errors,
                    reason=reason,
                    ingest_key=ingest_key,
                    row_index=index,
                    received_at=now,
                )
                for index, raw, errors, reason in rejected
            ]
        )
    return result


def raw_text(raw: Any) -> str:
    """The row as received: strings as they are, anything else as JSON. Characters a
    PostgreSQL text column cannot hold (NUL, lone surrogates) are kept as escapes."""
    try:
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):  # nested too deep to encode, or an int too long to print
        text = f"(a {type(raw).__name__} that cannot be written as JSON: nested too deeply or a huge number)"
    return storable_text(text)


__all__ = ["IngestResult", "RowError", "ingest_rows"]
