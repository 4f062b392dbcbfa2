"""Request limits for the anonymous-facing paths: the event API, `/api/v1/identify` and
short links. Fixed one-minute windows counted in the shared cache (Redis in production,
so all web processes count together).

The budget fits the key (issue 13):
- a *server* key is one sender: limited per key (INGEST_RATE_LIMIT_PER_MINUTE);
- a *client* key is shared by every phone running the Mini Program, so a per-key limit
  would either throttle a busy app as a whole or let one device flood. It is limited per
  device (the SDK's `X-Wxa-Device` header, INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE) and per
  address (INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE). A device id is the client's word, so
  the address limit is what bounds someone who invents a new one per request.

All counters of a request go to Redis in one pipelined round trip (Django's RedisCache
needs three per counter: SET NX, EXISTS, INCR).
"""

import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

WINDOW_SECONDS = 60
# Translated when a limit is hit, not for every request that spends a budget.
THIS_INGEST_KEY = gettext_lazy("this ingest key")
THIS_ADDRESS = gettext_lazy("this address")
THIS_DEVICE = gettext_lazy("this device")
DEVICE_HEADER = "HTTP_X_WXA_DEVICE"
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Budget:
    """One counter: `what` names it in the answer ("this ingest key", "this address")."""

    counter: str
    limit: int
    what: str


@dataclass(frozen=True)
class RateLimited(Exception):
    retry_after: int
    limit: int
    what: str = "this ingest key"

    def __str__(self) -> str:
        return _(
            "%(what)s sent more than %(limit)s requests in a minute; retry after %(retry)s s "
            "(batch events: up to 1,000 per request)."
        ) % {"what": self.what[:1].upper() + self.what[1:], "limit": f"{self.limit:,}", "retry": self.retry_after}


def device_of(meta: dict) -> str:
    """The SDK's device id (its anonymous id), or "" when absent or malformed."""
    device = meta.get(DEVICE_HEADER, "")
    return device if _DEVICE_ID.match(device) else ""


def ingest_budgets(key, *, device: str, address: str) -> list[Budget]:
    """The counters one request of this key spends (the event API and identify share them)."""
    if not key.is_client:
        return [Budget(f"ingest-rate:{key.pk}", settings.INGEST_RATE_LIMIT_PER_MINUTE, THIS_INGEST_KEY)]
    budgets = [Budget(f"ingest-addr:{address}", settings.INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE, THIS_ADDRESS)]
    if device:
        budgets.append(
            Budget(f"ingest-dev:{key.pk}:{device}", settings.INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE, THIS_DEVICE)
        )
    return budgets


def check_ingest_rate(key, *, device: str, address: str, now: float | None = None) -> None:
    check_rate(ingest_budgets(key, device=device, address=address), now=now)


def check_rate(budgets: list[Budget], *, now: float | None = None) -> None:
    """Count one request on each budget (a limit of 0 = no limit); raise RateLimited for
    the first one past its limit."""
    budgets = [budget for budget in budgets if budget.limit]
    if not budgets:
        return
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    counts = _count([f"{budget.counter}:{window}" for budget in budgets])
    for budget, count in zip(budgets, counts, strict=True):
        if count > budget.limit:
            retry_after = max(1, (window + 1) * WINDOW_SECONDS - int(now))
            raise RateLimited(retry_after=retry_after, limit=budget.limit, what=str(budget.what))


def _count(counters: list[str]) -> list[int]:
    """Add one to each counter (created with an expiry); their new values."""
    timeout = WINDOW_SECONDS * 2
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(counter) for counter in counters]
        # Django's RedisCache has no pipelined increment; its client is the redis-py one.
        pipeline = backend._cache.get_client(keys[0], write=True).pipeline(transaction=False)
        for key in keys:
            pipeline.set(key, 0, ex=timeout, nx=True)  # starts the window's counter with its expiry
            pipeline.incr(key)
        return pipeline.execute()[1::2]
    counts = []
    for counter in counters:
        backend.add(counter, 0, timeout=timeout)
        try:
            counts.append(backend.incr(counter))
        except ValueError:  # expired between add and incr: this request starts the window
            backend.set(counter, 1, timeout=timeout)
            counts.append(1)
    return counts
