"""Erase on unfollow (docs/privacy.md): an Official Account that opts in
(`WeChatApp.erase_unfollowed_after_days`) has a person erased that many days after they
unfollowed, unless they did anything since (any event of any of their ids, in any app).
"""

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from campaigns.models import WeChatApp
from events.models import ErasureRecord, Event, Identity

from .erase import erase_person
from .lookup import find_person

UNFOLLOW_EVENT = "unfollow"  # what events.wechat.push stores for an `unsubscribe` push
# People erased per account and run; the next run continues with the rest.
BATCH = 500


def due_unfollowers(app: WeChatApp, *, now: datetime, limit: int = BATCH) -> list[str]:
    """Ids that unfollowed `app` at least the configured days before `now` and have no
    event of their person since, oldest unfollow first."""
    if app.erase_unfollowed_after_days is None or app.kind != WeChatApp.Kind.OFFICIAL_ACCOUNT:
        return []
    events, identities = Event._meta.db_table, Identity._meta.db_table
    with connection.cursor() as cursor:
        # The unfollows come from event_name_ts; each "anything since?" check is an index
        # range on event_user_ts, for the id itself and for the other ids of its person.
        cursor.execute(
            f"SELECT u.user_id FROM (SELECT user_id, MAX(ts) AS left_at FROM {events} "  # noqa: S608 (ours)
            "WHERE event_name = %(unfollow)s AND app_id = %(app)s AND ts <= %(before)s GROUP BY user_id) AS u "
            f"LEFT JOIN {identities} AS me ON me.user_id = u.user_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM {events} AS later WHERE later.user_id = u.user_id "
            "AND later.ts > u.left_at) "
            f"AND NOT EXISTS (SELECT 1 FROM {identities} AS other JOIN {events} AS later "
            "ON later.user_id = other.user_id WHERE other.person_id = me.person_id AND later.ts > u.left_at) "
            "ORDER BY u.left_at, u.user_id LIMIT %(limit)s",
            {
                "unfollow": UNFOLLOW_EVENT,
                "app": app.appid,
                "before": now - timedelta(days=app.erase_unfollowed_after_days),
                "limit": limit,
            },
        )
        return [user_id for (user_id,) in cursor.fetchall()]


def erase_unfollowed(app: WeChatApp, *, now: datetime | None = None, limit: int = BATCH) -> list[ErasureRecord]:
    """Erase the due unfollowers of one account, one transaction per person."""
    now = now or timezone.now()
    records: list[ErasureRecord] = []
    erased: set[str] = set()
    for user_id in due_unfollowers(app, now=now, limit=limit):
        if user_id in erased:  # another id of a person erased a moment ago
            continue
        erased.update(find_person(user_id).ids)
        record = erase_person(
            user_id,
            trigger=ErasureRecord.Trigger.UNFOLLOW,
            requested_by_name=f"erase on unfollow: {app.appid}",
            now=now,
        )
        records.append(record)
    return records
