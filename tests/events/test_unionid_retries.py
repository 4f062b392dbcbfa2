"""Follower unionid look-ups that come back empty are remembered and asked again after a
growing wait, not on every hourly run. WeChat is the fake user-info server of
test_identity, answering `user/info/batchget` in its documented shape: a follower of an
account not bound to an Open Platform account has an openid and no unionid."""

import threading
from datetime import timedelta
from http.server import ThreadingHTTPServer

import pytest
from django.utils import timezone

from campaigns.models import WeChatApp
from events import identity
from events.ingest import ingest_rows
from events.models import UnionidLookup
from events.wechat.userinfo import link_followers, wait_after
from tests.events.test_identity import FakeUserInfo, event


@pytest.fixture
def wechat(settings):
    FakeUserInfo.unionids, FakeUserInfo.batches = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeUserInfo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    yield FakeUserInfo
    server.shutdown()
    server.server_close()


@pytest.fixture
def oa(db):
    return WeChatApp.objects.create(appid="wxoa", name="Brand OA", token="tok", secret="s3cret")


def test_the_wait_doubles_with_each_miss_up_to_a_month():
    assert [wait_after(n) for n in (1, 2, 3, 4)] == [
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(days=1),
        timedelta(days=2),
    ]
    assert wait_after(9) == wait_after(50) == timedelta(days=32)


def test_an_openid_without_a_unionid_is_asked_again_only_after_a_growing_wait(wechat, oa):
    ingest_rows([event("follow", "oOA_unbound", app_id="wxoa", source="official_account")], channel="test")
    start = timezone.now()
    since = start - timedelta(hours=48)

    # Hourly runs for a day: asked at 0 h (miss 1, wait 6 h), 6 h (miss 2, wait 12 h), 18 h.
    for hour in range(24):
        link_followers(oa, since=since, now=start + timedelta(hours=hour))

    assert len(wechat.batches) == 3
    lookup = UnionidLookup.objects.get(openid="oOA_unbound")
    assert (lookup.misses, lookup.next_ask_at) == (3, start + timedelta(hours=18) + timedelta(days=1))


def test_a_unionid_that_appears_later_is_linked_and_the_miss_forgotten(wechat, oa):
    ingest_rows([event("follow", "oOA_1", app_id="wxoa", source="official_account")], channel="test")
    start = timezone.now()
    since = start - timedelta(hours=48)
    link_followers(oa, since=since, now=start)
    wechat.unionids = {"oOA_1": "oUnion_1"}  # the account was bound to the Open Platform meanwhile

    early = link_followers(oa, since=since, now=start + timedelta(hours=1))
    later = link_followers(oa, since=since, now=start + timedelta(hours=7))

    assert (early.checked, later.linked) == (0, 1)
    assert identity.person_of("oOA_1") == "oUnion_1"
    assert not UnionidLookup.objects.exists()


def test_followers_with_a_unionid_are_not_remembered_as_misses(wechat, oa):
    wechat.unionids = {"oOA_1": "oUnion_1"}
    ingest_rows(
        [event("follow", uid, app_id="wxoa", source="official_account") for uid in ("oOA_1", "oOA_2")],
        channel="test",
    )

    summary = link_followers(oa, since=timezone.now() - timedelta(hours=48))

    assert (summary.checked, summary.linked) == (2, 1)
    assert list(UnionidLookup.objects.values_list("openid", "misses")) == [("oOA_2", 1)]
