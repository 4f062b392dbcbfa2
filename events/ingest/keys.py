"""Ingest key checks for the event API: `Authorization: Bearer <key>`."""

from datetime import timedelta

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_noop

from events.models import IngestKey
from wxanalytics.process_cache import ProcessCache

# last_used_at is for people ("is this key still in use?"); a write per request would
# make every batch contend on one row.
TOUCH_EVERY = timedelta(minutes=1)


class KeyRejected(Exception):
    """The request carries no usable ingest key (answer 401 with the message)."""


def authenticate(authorization: str | None) -> IngestKey:
    if not authorization:
        raise KeyRejected(gettext_noop("Missing Authorization header; send 'Authorization: Bearer <ingest key>'."))
    scheme, _, raw_key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not raw_key.strip():
        raise KeyRejected(gettext_noop("The Authorization header must be 'Bearer <ingest key>'."))
    # Looked up by hash: the raw key is never compared, so no timing side channel.
    key_hash = IngestKey.hash_key(raw_key.strip())
    key = _recent_keys.get(key_hash)
    if key is None:
        key = IngestKey.objects.filter(key_hash=key_hash).first()
        if key is None:
            raise KeyRejected(gettext_noop("Unknown ingest key."))
        _recent_keys.put(key_hash, key)
    if not key.is_active:
        raise KeyRejected(
            gettext_noop("This ingest key (%(prefix)s…) was revoked on %(date)s.")
            % {"prefix": key.prefix, "date": f"{key.revoked_at:%Y-%m-%d}"}
        )
    return key


def mark_used(key: IngestKey) -> None:
    """Record use at most once a minute per key (a conditional UPDATE, no read first)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return
    IngestKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    ).update(last_used_at=now)
    key.last_used_at = now


# Keys this process looked up recently, by hash: a Mini Program sending one event per
# request would otherwise pay a query per event for the same key. A key revoked in another
# process stops working here within INGEST_KEY_CACHE_SECONDS; in this process, at once.
_recent_keys: ProcessCache[IngestKey] = ProcessCache("INGEST_KEY_CACHE_SECONDS")
forget_keys = _recent_keys.clear
post_save.connect(forget_keys, sender=IngestKey, dispatch_uid="forget-ingest-keys-on-save")
post_delete.connect(forget_keys, sender=IngestKey, dispatch_uid="forget-ingest-keys-on-delete")
