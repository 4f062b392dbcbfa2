import pytest

from events.identity import person_expression
from events.ingest import ingest_rows
from events.models import Event, Identity, RejectedRow

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
