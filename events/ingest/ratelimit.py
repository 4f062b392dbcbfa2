"""Per-key request limit for the event API: a fixed one-minute window counted in the shared
cache (Redis in production, so all web processes count together)."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimited(Exception):
    retry_after: int
    limit: int

    def __str__(self) -> str:
        return (
            f"This ingest key sent more than {self.limit:,} requests in a minute; "
            f"retry after {self.retry_after} s (batch events: up to 1,000 per request)."
        )


def check_rate(key_id: int, *, now: float | None = None) -> None:
    """Count one request for the key; raise RateLimited past the limit (0 = no limit)."""
    limit = settings.INGEST_RATE_LIMIT_PER_MINUTE
    if not limit:
        return
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    counter = f"ingest-rate:{key_id}:{window}"
    cache.add(counter, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr: this request starts the window
        cache.set(counter, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count > limit:
        raise RateLimited(retry_after=max(1, (window + 1) * WINDOW_SECONDS - int(now)), limit=limit)
