"""Replaying a rejected row after an analyst fixed its raw content (E2)."""

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from events.imports.services import CHANNEL_PREFIX as IMPORT_CHANNEL_PREFIX
from events.imports.services import replay_rejected_import
from events.models import RejectedRow

from . import ingest_rows
from .parse import BodyError, parse_csv


def rows_from_raw(rejected: RejectedRow) -> list[Any]:
    """The rows in a rejected record: a JSON object, a JSON array (a whole body that could
    not be read), a CSV body, or, failing those, the text itself (which will fail again)."""
    try:
        data = json.loads(rejected.raw)
    except (ValueError, RecursionError):  # not JSON, a 5,000-digit number, or nested too deeply
        if rejected.channel == "csv":
            try:
                return parse_csv(rejected.raw)
            except BodyError:
                pass
        return [rejected.raw]
    return data if isinstance(data, list) else [data]


def replay_rejected(rejected: RejectedRow, *, user=None) -> bool:
    """Run a rejected row through ingest_rows again. Returns True when nothing in it was
    rejected this time (stored, or a duplicate of what is stored): the row is then marked
    replayed. Otherwise its errors and reason are updated and it stays open."""
    if rejected.channel.startswith(IMPORT_CHANNEL_PREFIX):  # an import line goes back to its table
        return replay_rejected_import(rejected, user=user)
    rows = rows_from_raw(rejected)
    with transaction.atomic():
        result = ingest_rows(
            rows,
            channel=rejected.channel,
            ingest_key=rejected.ingest_key,
            source=rejected.source or None,  # the original sender scope, so event ids dedupe as before
            keep_rejected=False,
        )
        if not result.rejected:
            rejected.status = RejectedRow.Status.REPLAYED
            rejected.replayed_at = timezone.now()
            rejected.replayed_by = user
            rejected.save(update_fields=["status", "replayed_at", "replayed_by"])
            return True
        if len(rows) == 1:
            rejected.errors = result.rejected[0].errors
        else:
            rejected.errors = {
                f"row {error.index} {field}": why for error in result.rejected for field, why in error.errors.items()
            }
        rejected.reason = result.rejected[0].reason
        rejected.save(update_fields=["errors", "reason"])
        return False
