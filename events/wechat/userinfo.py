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
from datetime import datetime

from campaigns.models import WeChatApp
from campaigns.wechat_api import WeChatClient
from events import identity
from events.models import Event, Identity

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # batchget's documented maximum
OA_SOURCE = "official_account"


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


def unlinked_followers(app: WeChatApp, *, since: datetime, limit: int) -> list[str]:
    """OA openids seen in events received since `since` that have no identity yet."""
    return list(
        Event.objects.filter(received_at__gte=since, app_id=app.appid, source=OA_SOURCE)
        .exclude(user_id__in=Identity.objects.values("user_id"))
        .values_list("user_id", flat=True)
        .distinct()[:limit]
    )


def link_followers(app: WeChatApp, *, since: datetime, limit: int = 10_000) -> UnionidSummary:
    """Ask WeChat for the unionids of recent unlinked followers and link them."""
    openids = unlinked_followers(app, since=since, limit=limit)
    if not openids:
        return UnionidSummary(checked=0, linked=0)
    found = fetch_unionids(app, openids)
    for openid, unionid in found.items():
        identity.link(openid, unionid=unionid, app_id=app.appid)
    logger.info("wechat: %s unionids linked for %s (%s openids checked)", len(found), app.appid, len(openids))
    return UnionidSummary(checked=len(openids), linked=len(found))
