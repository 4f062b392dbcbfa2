"""Follower unionid look-ups that come back empty are remembered and asked again after a
growing wait, not on every hourly run. WeChat is the fake user-info server of
tests/events/conftest.py (fake_userinfo), answering `user/info/batchget` in its documented shape: a follower of an
account not bound to an Open Platform account has an openid and no unionid."""

from datetime import timedelta

from django.utils import timezone

from events import identity
from events.ingest import ingest_rows
from events.models import UnionidLookup
from events.wechat.userinfo import link_followers, wait_after
from tests.events.test_identity import event


def test_the_wait_doubles_with_each_miss_up_to_a_month():
    assert [wait_after(n) for n in (1, 2, 3, 4)] == [
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(days=1),
        timedelta(days=2),
    ]
    assert wait_after(9) == wait_after(50) == timedelta(days=32)


def test_an_openid_without_a_unionid_is_asked_again_only_after_a_growing_wait(fake_userinfo, oa_with_secret):
    ingest_rows([event("follow", "oOA_unbound", app_id="wxoa", source="official_account")], channel="test")
    start = timezone.now()
    since = start - timedelta(hours=48)

    # Hourly runs for a day: asked at 0 h (miss 1, wait 6 h), 6 h (miss 2, wait 12 h), 18 h.
    for hour in range(24):
        link_followers(oa_with_secret, since=since, now=start + timedelta(hours=hour))

    assert len(fake_userinfo.batches) == 3
    lookup = UnionidLookup.objects.get(openid="oOA_unbound")
    assert (lookup.misses, lookup.next_ask_at) == (3, start + timedelta(hours=18) + timedelta(days=1))


def test_a_unionid_that_appears_later_is_linked_and_the_miss_forgotten(fake_userinfo, oa_with_secret):
    ingest_rows([event("follow", "oOA_1", app_id="wxoa", source="official_account")], channel="test")
    start = timezone.now()
    since = start - timedelta(hours=48)
    link_followers(oa_with_secret, since=since, now=start)
    fake_userinfo.unionids = {"oOA_1": "oUnion_1"}  # the account was bound to the Open Platform meanwhile

    early = link_followers(oa_with_secret, since=since, now=start + timedelta(hours=1))
    later = link_followers(oa_with_secret, since=since, now=start + timedelta(hours=7))

    assert (early.checked, later.linked) == (0, 1)
    assert identity.person_of("oOA_1") == "oUnion_1"
    assert not UnionidLookup.objects.exists()


def test_followers_with_a_unionid_are_not_remembered_as_misses(fake_userinfo, oa_with_secret):
    fake_userinfo.unionids = {"oOA_1": "oUnion_1"}
    ingest_rows(
        [event("follow", uid, app_id="wxoa", source="official_account") for uid in ("oOA_1", "oOA_2")],
        channel="test",
    )

    summary = link_followers(oa_with_secret, since=timezone.now() - timedelta(hours=48))

    assert (summary.checked, summary.linked) == (2, 1)
    assert list(UnionidLookup.objects.values_list("openid", "misses")) == [("oOA_2", 1)]
