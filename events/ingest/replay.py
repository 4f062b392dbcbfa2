"""Replaying a rejected row after an analyst fixed its raw content (E2)."""

import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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


class ReplayRefused(ValueError):
    """The row is no longer open: someone replayed or dismissed it meanwhile."""


def lock_open(rejected: RejectedRow) -> None:
    """Lock the row until the transaction ends; ReplayRefused unless it is still open.
    Two replays of one row (two admin tabs, two people) queue on the lock, and the second
    finds it replayed instead of storing its version of the event again."""
    current = RejectedRow.objects.select_for_update(of=("self",)).filter(pk=rejected.pk).first()
    if current is None:
        raise ReplayRefused(_("Not replayed: this rejected row no longer exists."))
    if current.status == RejectedRow.Status.DISMISSED:
        raise ReplayRefused(_("Not replayed: this row was dismissed; nothing was stored."))
    if current.status != RejectedRow.Status.OPEN:
        when = timezone.localtime(current.replayed_at).strftime("%Y-%m-%d %H:%M %Z") if current.replayed_at else "?"
        raise ReplayRefused(
            _("Not replayed: %(user)s already replayed this row at %(when)s; nothing was stored again.")
            % {"user": current.replayed_by or _("someone"), "when": when}
        )


def replay_rejected(rejected: RejectedRow, *, user=None) -> bool:
    """Run an open rejected row through ingest_rows again, under a lock on the row (raises
    ReplayRefused when it is not open). Returns True when nothing in it was rejected this
    time (stored, or a duplicate of what is stored): the row is then marked replayed.
    Otherwise its errors and reason are updated and it stays open."""
    with transaction.atomic():
        lock_open(rejected)
        if rejected.channel.startswith(IMPORT_CHANNEL_PREFIX):  # an import line goes back to its table
            return replay_rejected_import(rejected, user=user)
        if rejected.reason == RejectedRow.Reason.FORBIDDEN and rejected.ingest_key_id is None:
            # Its client key was deleted: replayed without a key the row would be taken as a
            # trusted sender's, and a refused payment would be stored.
            raise ReplayRefused(
                _("Not replayed: the client key that sent this refused row was deleted; nothing was stored.")
            )
        rows = rows_from_raw(rejected)
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
