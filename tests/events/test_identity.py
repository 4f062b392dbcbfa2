"""Identity (E6): ids of one person are joined so reports count people, not ids."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from events import identity
from events.ingest import ingest_rows
from events.models import Event, Identity, IngestKey
from events.people import person_expression, rewrite_pending_people

TS = datetime(2024, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture
def ingest_key(db):
    _, raw_key = IngestKey.generate(name="CRM sync", source="crm", kind="server")
    return raw_key


def identify(client, key: str, **body):
    return client.post("/api/v1/identify", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def person_ids() -> dict[str, str]:
    return dict(Identity.objects.values_list("user_id", "person_id"))


def count_people() -> int:
    return Event.objects.aggregate(people=Count(person_expression(), distinct=True))["people"]


def event(name: str, user_id: str, **extra) -> dict:
    return {"event_name": name, "user_id": user_id, "ts": TS, **extra}


# The endpoint


def test_identify_needs_an_ingest_key(client, db):
    response = identify(client, "wxa_not-a-key", user_id="a", alias="b")

    assert response.status_code == 401
    assert not Identity.objects.exists()


def test_identify_with_an_alias_joins_the_two_ids(client, ingest_key):
    response = identify(client, ingest_key, user_id="crm-42", alias="oMP_1")

    assert response.status_code == 200
    assert response.json() == {"user_id": "crm-42", "person_id": "crm-42", "moved": 0, "created": 2}
    assert person_ids() == {"crm-42": "crm-42", "oMP_1": "crm-42"}


def test_identify_with_a_unionid_makes_the_unionid_the_person(client, ingest_key):
    response = identify(client, ingest_key, user_id="oOA_1", unionid="oUnion_1", app_id="wxoa")

    assert response.json()["person_id"] == "oUnion_1"
    assert Identity.objects.get(user_id="oOA_1").app_id == "wxoa"
    assert person_ids() == {"oOA_1": "oUnion_1", "oUnion_1": "oUnion_1"}


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "a"},
        {"user_id": "a", "alias": "b", "unionid": "u"},
        {"user_id": "a", "alias": "a"},
        {"user_id": "", "alias": "b"},
        {"user_id": "a" * 129, "alias": "b"},
        {"user_id": "a\u0000b", "alias": "b"},
        {"user_id": "a", "unionid": "\ud800"},
    ],
)
def test_identify_refuses_bodies_that_do_not_name_exactly_two_ids(client, ingest_key, body):
    response = identify(client, ingest_key, **body)

    assert response.status_code == 400
    assert not Identity.objects.exists()


def test_identify_merges_two_known_people_into_one(client, ingest_key):
    identify(client, ingest_key, user_id="a", alias="b")
    identify(client, ingest_key, user_id="c", alias="d")

    response = identify(client, ingest_key, user_id="b", alias="c")

    assert response.json()["moved"] == 2
    assert set(person_ids().values()) == {"a"}


# Merge rules


def test_a_unionid_link_moves_the_whole_group_to_the_unionid(db):
    identity.link("oOA_1", alias="crm-7")

    result = identity.link("crm-7", unionid="oUnion_1")

    assert result.person_id == "oUnion_1"
    assert set(person_ids().values()) == {"oUnion_1"}


def test_an_alias_merge_keeps_the_unionid_of_either_side(db):
    identity.link("oMP_1", unionid="oUnion_1")
    identity.link("crm-7", alias="crm-8")

    result = identity.link("crm-7", alias="oMP_1")

    assert result.person_id == "oUnion_1"
    assert person_ids()["crm-8"] == "oUnion_1"


def test_linking_a_known_pair_again_changes_nothing(db, django_assert_num_queries):
    identity.link("oOA_1", unionid="oUnion_1")

    with django_assert_num_queries(1):
        result = identity.link("oOA_1", unionid="oUnion_1")

    assert (result.moved, result.created) == (0, 0)


# Unionids carried by events


def test_rows_carrying_a_unionid_link_their_user(db):
    rows = [
        event("page_view", "oMP_1", properties={"unionid": "oUnion_1"}),
        event("page_view", "oMP_2", unionid="oUnion_2"),
        event("page_view", "oMP_3"),
    ]

    linked = identity.link_unionids_from_rows(rows)

    assert linked == 2
    assert identity.person_of("oMP_1") == "oUnion_1"
    assert identity.person_of("oMP_2") == "oUnion_2"
    assert identity.person_of("oMP_3") == "oMP_3"


def test_a_batch_from_already_linked_users_costs_one_query(db, django_assert_num_queries):
    rows = [event("page_view", f"oMP_{i}", properties={"unionid": f"oUnion_{i}"}) for i in range(20)]
    identity.link_unionids_from_rows(rows)

    with django_assert_num_queries(1):
        assert identity.link_unionids_from_rows(rows) == 0


# Reports count people


@pytest.fixture
def one_person_on_two_apps(db):
    """An OA follow (OA openid) and an MP purchase (MP openid) by one person."""
    ingest_rows(
        [
            event("follow", "oOA_1", app_id="wxoa", source="official_account"),
            event("pay_success", "oMP_1", app_id="wxmp", value="199.00", properties={"unionid": "oUnion_1"}),
            event("follow", "oOA_stranger", app_id="wxoa"),
        ],
        channel="test",
    )
    identity.link("oOA_1", unionid="oUnion_1")
    identity.link("oMP_1", unionid="oUnion_1")


def test_an_oa_openid_and_an_mp_openid_sharing_a_unionid_count_as_one_person(one_person_on_two_apps):
    assert Event.objects.values("user_id").distinct().count() == 3
    assert count_people() == 2


def test_the_raw_sql_helper_counts_people_too(one_person_on_two_apps):
    # The helper reads the person stored on the event, which the rewrite after a link puts there.
    rewrite_pending_people()
    sql = identity.person_sql("e")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT {sql.expression}) FROM events_event AS e {sql.join}")  # noqa: S608
        (people,) = cursor.fetchone()

    assert people == 2


def test_the_sql_helper_refuses_anything_but_an_identifier():
    with pytest.raises(ValueError, match="identifier"):
        identity.person_sql("e; DROP TABLE events_event")


def test_an_id_never_linked_is_its_own_person(db):
    assert identity.person_of("oOA_9") == "oOA_9"


# Unionids fetched from WeChat's user-info API (against a fake WeChat on localhost)


def test_recent_followers_get_their_unionid_from_wechat(fake_userinfo, oa_with_secret):
    fake_userinfo.unionids = {f"oOA_{i}": f"oUnion_{i}" for i in range(0, 150, 2)}
    ingest_rows(
        [event("follow", f"oOA_{i}", app_id="wxoa", source="official_account") for i in range(150)], channel="test"
    )
    out = StringIO()

    call_command("link_wechat_unionids", "--appid", "wxoa", stdout=out)

    assert [len(batch) for batch in fake_userinfo.batches] == [100, 50]
    assert identity.person_of("oOA_4") == "oUnion_4"
    assert identity.person_of("oOA_5") == "oOA_5"
    assert "150 openids checked, 75 unionids linked" in out.getvalue()


def test_followers_already_linked_are_not_asked_about_again(fake_userinfo, oa_with_secret):
    fake_userinfo.unionids = {"oOA_1": "oUnion_1"}
    ingest_rows([event("follow", "oOA_1", app_id="wxoa", source="official_account")], channel="test")
    call_command("link_wechat_unionids", stdout=StringIO())

    call_command("link_wechat_unionids", stdout=StringIO())

    assert fake_userinfo.batches == [["oOA_1"]]


def test_a_batch_of_new_users_with_unionids_is_linked_in_a_few_queries(db, django_assert_max_num_queries):
    rows = [event("page_view", f"oMP_{i}", properties={"unionid": f"oUnion_{i}"}) for i in range(200)]

    with django_assert_max_num_queries(8):
        linked = identity.link_unionids_from_rows(rows)

    assert linked == 200
    assert identity.person_of("oMP_199") == "oUnion_199"
    assert Identity.objects.filter(user_id="oUnion_199", person_id="oUnion_199").exists()


def test_a_batch_merges_a_user_already_aliased_to_someone_else(db):
    identity.link("crm-7", alias="oMP_1")
    rows = [
        event("page_view", "oMP_1", properties={"unionid": "oUnion_1"}),
        event("page_view", "oMP_2", properties={"unionid": "oUnion_1"}),
    ]

    identity.link_unionids_from_rows(rows)

    assert {identity.person_of(uid) for uid in ("crm-7", "oMP_1", "oMP_2", "oUnion_1")} == {"oUnion_1"}


def test_the_command_also_links_unionids_carried_by_recent_events(db):
    ingest_rows([event("page_view", "oMP_1", properties={"unionid": "oUnion_1"})], channel="test")
    Identity.objects.all().delete()  # as if the event had arrived before its link was kept
    out = StringIO()

    call_command("link_wechat_unionids", stdout=out)

    assert identity.person_of("oMP_1") == "oUnion_1"
    assert "1 unionid links carried by events" in out.getvalue()


def test_events_carrying_a_unionid_are_linked_as_they_arrive(db):
    ingest_rows([event("page_view", "oMP_9", properties={"unionid": "oUnion_9"})], channel="test")

    assert identity.person_of("oMP_9") == "oUnion_9"
