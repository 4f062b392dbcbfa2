"""Fetch unionids for Official Account followers from WeChat's user-info API (WECHAT.md §8).

Follow events carry only the OA openid; `POST /cgi-bin/user/info/batchget` returns the
unionid (up to 100 openids per call) once the account is bound to an Open Platform
account. Each unionid found is linked with `events.identity.link`, so the follower's OA
openid and their Mini Program / payment openids count as one person.

WeChat is never called inside a transaction: the calls come first, the links after.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.models import WeChatApp
from campaigns.wechat_api import WeChatClient
from events import identity
from events.models import Event, Identity, UnionidLookup

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # batchget's documented maximum
OA_SOURCE = "official_account"
# After the n-th miss an openid is asked about again after FIRST_RETRY × 2^(n-1), at most
# LONGEST_WAIT: 6 h, 12 h, 1 d, 2 d, … 32 d. A bound account gets its unionids within a
# day; an unbound one costs a handful of calls per follower a month instead of 24 a day.
FIRST_RETRY = timedelta(hours=6)
LONGEST_WAIT = timedelta(days=32)


@dataclass(frozen=True)
class UnionidSummary:
    checked: int  # openids asked about
    linked: int  # of which WeChat returned a unionid


def fetch_unionids(app: WeChatApp, openids: Sequence[str]) -> dict[str, str]:
    """{openid: unionid} for the openids WeChat knows a unionid for. Raises WeChatAPIError."""
    client = WeChatClient(app)
    found: dict[str, str] = {}
    for start in range(0, len(openids), BATCH_SIZE):
        chunk = list(openids[start : start + BATCH_SIZE])
        data = client.call(
            "/cgi-bin/user/info/batchget", {"user_list": [{"openid": openid, "lang": "zh_CN"} for openid in chunk]}
        )
        asked = set(chunk)
        for info in data.get("user_info_list") or []:
            if not isinstance(info, dict):
                continue
            openid, unionid = info.get("openid"), info.get("unionid")
            if openid in asked and isinstance(unionid, str) and unionid:
                found[openid] = unionid
    return found


def unlinked_followers(app: WeChatApp, *, since: datetime, limit: int, now: datetime | None = None) -> list[str]:
    """OA openids seen in events received since `since` that have no identity yet and are
    not waiting for their next look-up after a miss."""
    waiting = UnionidLookup.objects.filter(app_id=app.appid, next_ask_at__gt=now or timezone.now())
    return list(
        Event.objects.filter(received_at__gte=since, app_id=app.appid, source=OA_SOURCE)
        .exclude(user_id__in=Identity.objects.values("user_id"))
        .exclude(user_id__in=waiting.values("openid"))
        .values_list("user_id", flat=True)
        .distinct()[:limit]
    )


def wait_after(misses: int) -> timedelta:
    """How long to wait before asking again about an openid that has had `misses` misses."""
    return min(FIRST_RETRY * 2 ** min(misses - 1, 16), LONGEST_WAIT)


def remember_misses(app: WeChatApp, openids: Sequence[str], *, now: datetime) -> None:
    """Count one more miss for each openid and set when to ask next (two queries)."""
    if not openids:
        return
    earlier = dict(UnionidLookup.objects.filter(app_id=app.appid, openid__in=openids).values_list("openid", "misses"))
    rows = []
    for openid in openids:
        misses = earlier.get(openid, 0) + 1
        rows.append(
            UnionidLookup(
                app_id=app.appid, openid=openid, misses=misses, last_asked_at=now, next_ask_at=now + wait_after(misses)
            )
        )
    UnionidLookup.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["app_id", "openid"],
        update_fields=["misses", "last_asked_at", "next_ask_at"],
    )


def link_followers(
    app: WeChatApp, *, since: datetime, limit: int = 10_000, now: datetime | None = None
) -> UnionidSummary:
    """Ask WeChat for the unionids of recent unlinked followers and link them; remember the
    openids that came back without one so they wait before being asked again."""
    now = now or timezone.now()
    openids = unlinked_followers(app, since=since, limit=limit, now=now)
    if not openids:
        return UnionidSummary(checked=0, linked=0)
    found = fetch_unionids(app, openids)
    for openid, unionid in found.items():
        identity.link(openid, unionid=unionid, app_id=app.appid)
    remember_misses(app, [openid for openid in openids if openid not in found], now=now)
    if found:
        UnionidLookup.objects.filter(app_id=app.appid, openid__in=list(found)).delete()
    logger.info("wechat: %s unionids linked for %s (%s openids checked)", len(found), app.appid, len(openids))
    return UnionidSummary(checked=len(openids), linked=len(found))
