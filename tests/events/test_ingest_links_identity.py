import pytest

from events.ingest import ingest_rows
from events.models import Event, Identity, RejectedRow
from events.people import person_expression

pytestmark = pytest.mark.django_db


def test_a_unionid_sent_with_events_joins_two_openids_into_one_person():
    rows = [
        {"event_name": "follow", "user_id": "oa-openid", "ts": "2025-11-03T10:00:00+08:00",
         "properties": {"unionid": "u-1"}},
        {"event_name": "pay_success", "user_id": "mp-openid", "ts": "2025-11-03T11:00:00+08:00",
         "value": "10", "properties": {"unionid": "u-1"}},
    ]  # fmt: skip

    ingest_rows(rows, channel="api", source="server")

    people = Event.objects.annotate(person=person_expression()).values_list("person", flat=True).distinct()
    assert set(Identity.objects.values_list("person_id", flat=True)) == {"u-1"}
    assert list(people) == ["u-1"]


def test_a_fixed_import_line_replays_into_its_table_from_the_common_replay():
    from events.ingest.replay import replay_rejected
    from events.models import AdSpend

    line = RejectedRow.objects.create(
        channel="import_ad_spend",
        raw="date,campaign,ad_group,creative,spend,impressions,clicks,reach\n2025-11-03,X,g,c,12.50,100,5,80",
        errors={"spend": "was bad"},
    )

    replayed = replay_rejected(line)

    line.refresh_from_db()
    assert replayed and line.status == RejectedRow.Status.REPLAYED
    assert AdSpend.objects.get().spend == 12.5


def test_a_retried_batch_whose_events_are_all_duplicates_still_makes_the_unionid_links():
    # The first delivery stored the events and then died before linking (a killed worker:
    # tests/faults/test_killed_ingest_worker.py does it for real). Here the links are
    # simply missing; the client's retry finds only duplicates.
    rows = [
        {"event_name": "follow", "user_id": "oa-openid", "ts": "2025-11-03T10:00:00+08:00", "event_id": "e1",
         "properties": {"unionid": "u-9"}},
        {"event_name": "page_view", "user_id": "mp-openid", "ts": "2025-11-03T11:00:00+08:00", "event_id": "e2",
         "properties": {"unionid": "u-9"}},
    ]  # fmt: skip
    ingest_rows(rows, channel="api", source="server")
    Identity.objects.all().delete()

    retry = ingest_rows(rows, channel="api", source="server")

    assert (retry.accepted, retry.duplicates) == (0, 2)
    assert dict(Identity.objects.values_list("user_id", "person_id")) == {
        "oa-openid": "u-9",
        "mp-openid": "u-9",
        "u-9": "u-9",
    }


def test_a_conflicting_row_does_not_link_its_unionid():
    # Same event id, different content: not the stored event, so not a fact about its user.
    first = {"event_name": "follow", "user_id": "o-1", "ts": "2025-11-03T10:00:00+08:00", "event_id": "e1"}
    ingest_rows([first], channel="api", source="server")

    ingest_rows([{**first, "properties": {"unionid": "u-x"}}], channel="api", source="server")

    assert not Identity.objects.exists()
