"""Dedupe keys. The one place that decides when two rows are "the same event".

- With an `event_id`: sha256 of (scope, event_id). The scope is the sender's source (an
  ingest key's source, or the server-side channel's), so two senders' ids never collide.
- Without: sha256 of the row's normalised content, so re-sending a batch or re-uploading
  a CSV changes nothing.

`content_hash` is always the normalised content's hash: an existing dedupe key with a
different content hash is a conflict (same id, different payload), kept for review.

What is stored and compared is `digest()` of both (their first 128 bits, as a uuid), on the
events and in `events_eventkey`; the hex forms are only hashed from. An erased
person's keys stay, with `ERASED` as their content hash (events.privacy.erase): a client's
retry of an erased event is then a duplicate, whatever it carries, and is not stored again.
"""

import hashlib
import json
import uuid

from django.conf import settings

from .validate import MEASUREMENT_EVENTS, CleanRow

_SEP = "\x1f"


# Built once (json.dumps with options builds an encoder per call). The output must never
# change: stored content hashes are compared with new ones.
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode


def content_hash(row: CleanRow) -> str:
    """sha256 of everything that describes the event (not when or how we received it)."""
    canonical = _CANONICAL_JSON(
        [
            row.event_name,
            row.user_id,
            row.session_id,
            row.source,
            row.campaign_code,
            row.page,
            None if row.value is None else str(row.value),
            _hashed_currency(row),
            row.ts.isoformat(timespec="microseconds"),
            row.app_id,
            row.scene,
            row.properties,
        ]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hashed_currency(row: CleanRow) -> str:
    """The currency as hashed. Measurement events (page_load_time) got DEFAULT_CURRENCY
    before issue 12 and are now stored without one; they hash as before, so a retry sent
    across that change stays a duplicate, not a new event or a conflict."""
    if not row.currency and row.value is not None and row.event_name in MEASUREMENT_EVENTS:
        return settings.DEFAULT_CURRENCY
    return row.currency


def dedupe_key(row: CleanRow, *, scope: str, content: str) -> str:
    material = _SEP.join(("id", scope, row.event_id)) if row.event_id else _SEP.join(("content", content))
    return hashlib.sha256(material.encode()).hexdigest()


ERASED = uuid.UUID(int=0)  # no sha256 starts with 128 zero bits


def digest(hex_sha256: str) -> uuid.UUID:
    """The 128-bit form of a key or hash, as stored (its first 32 hex digits)."""
    return uuid.UUID(hex_sha256[:32])
