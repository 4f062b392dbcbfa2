"""Ingest key checks for the event API: `Authorization: Bearer <key>`."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from events.models import IngestKey

# last_used_at is for people ("is this key still in use?"); a write per request would
# make every batch contend on one row.
TOUCH_EVERY = timedelta(minutes=1)


class KeyRejected(Exception):
    """The request carries no usable ingest key (answer 401 with the message)."""


def authenticate(authorization: str | None) -> IngestKey:
    if not authorization:
        raise KeyRejected("Missing Authorization header; send 'Authorization: Bearer <ingest key>'.")
    scheme, _, raw_key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not raw_key.strip():
        raise KeyRejected("The Authorization header must be 'Bearer <ingest key>'.")
    # Looked up by hash: the raw key is never compared, so no timing side channel.
    key = IngestKey.objects.filter(key_hash=IngestKey.hash_key(raw_key.strip())).first()
    if key is None:
        raise KeyRejected("Unknown ingest key.")
    if not key.is_active:
        raise KeyRejected(f"This ingest key ({key.prefix}…) was revoked on {key.revoked_at:%Y-%m-%d}.")
    return key


def mark_used(key: IngestKey) -> None:
    """Record use at most once a minute per key (a conditional UPDATE, no read first)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return
    IngestKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    ).update(last_used_at=now)
