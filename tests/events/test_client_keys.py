"""Client keys ship inside the Mini Program, so everyone has them (issue 13): they may not
write money or server facts, and their identity links are claims."""

import importlib
import json
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from campaigns.models import EventDefinition, SourceAlias
from events import partitions
from events.identity import link, person_of
from events.ingest import ingest_rows
from events.ingest.replay import ReplayRefused, replay_rejected
from events.models import Event, IngestKey, RejectedRow
from tests.events.write_cost import write_statements

pytestmark = pytest.mark.django_db


def event(name="page_view", **fields):
    return {"event_name": name, "user_id": "oMP_1", "ts": "2025-11-03T10:00:00+08:00", **fields}


def post_json(post, rows):
    return post(json.dumps(rows)).json()


def test_a_client_key_cannot_store_pay_success(post_as_client, client_key):
    # The attack: the public key stores a huge payment "from WeChat Pay" for a campaign.
    answer = post_as_client(
        json.dumps(
            event("pay_success", value="999999999999.99", currency="CNY", source="wechat_pay", campaign="23Q4-Sale")
        )
    )

    assert answer.status_code == 200
    body = answer.json()
    assert (body["accepted"], body["rejected"][0]["index"], body["rejected"][0]["reason"]) == (0, 0, "forbidden")
    assert "server-only event" in body["rejected"][0]["errors"]["event_name"]
    assert "a client key cannot claim it" in body["rejected"][0]["errors"]["source"]
    assert not Event.objects.exists()
    kept = RejectedRow.objects.get()
    assert (kept.reason, kept.ingest_key, kept.status) == ("forbidden", client_key[0], "open")
    assert "999999999999.99" in kept.raw


def test_a_client_key_cannot_store_refund_outcomes_but_may_report_a_refund_request(post_as_client):
    rows = [
        event("refund_success", value="50.00", event_id="r1"),
        event("refund_closed", event_id="r2"),
        event("Refund_Abnormal", event_id="r3"),
        event("refund_request", value="50.00", event_id="r4"),
    ]

    body = post_json(post_as_client, rows)

    assert body["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (0, "forbidden"),
        (1, "forbidden"),
        (2, "forbidden"),
    ]
    assert list(Event.objects.values_list("event_name", flat=True)) == ["refund_request"]


def test_a_client_key_cannot_send_what_the_tracking_plan_marks_server_only(post_as_client):
    EventDefinition.objects.create(name="vip_upgrade", category="payment", server_only=True)

    body = post_json(post_as_client, [event("vip_upgrade", event_id="v1"), event("first_payment", event_id="v2")])

    assert body["accepted"] == 0
    assert [r["reason"] for r in body["rejected"]] == ["forbidden", "forbidden"]


def test_unmarking_a_plan_event_opens_it_to_client_keys_at_once(post_as_client):
    definition = EventDefinition.objects.create(name="vip_upgrade", category="payment", server_only=True)
    assert post_json(post_as_client, [event("vip_upgrade", event_id="v1")])["accepted"] == 0

    definition.server_only = False
    definition.save()

    assert post_json(post_as_client, [event("vip_upgrade", event_id="v1")])["accepted"] == 1


@pytest.mark.parametrize("source", ["wechat_pay", "official_account", "short_link", "import_ad_spend", "WeChat_Pay"])
def test_a_client_key_cannot_claim_a_server_source(post_as_client, source):
    body = post_json(post_as_client, [event("page_view", source=source)])

    assert body["accepted"] == 0
    assert body["rejected"][0]["reason"] == "forbidden"
    assert set(body["rejected"][0]["errors"]) == {"source"}


def test_a_client_key_may_send_traffic_sources(post_as_client):
    rows = [event("page_view", source=source, event_id=source) for source in ("wechat_ad", "important_kol", "")]

    body = post_json(post_as_client, rows)

    assert (body["accepted"], body["rejected"]) == (3, [])


def test_a_client_key_cannot_claim_a_server_source_through_an_alias(post_as_client):
    SourceAlias.objects.create(alias="wxpay", canonical="wechat_pay")

    body = post_json(post_as_client, [event("page_view", source="wxpay")])

    assert body["rejected"][0]["reason"] == "forbidden"
    assert not Event.objects.exists()


def test_the_rest_of_a_client_batch_is_stored(post_as_client):
    rows = [event("page_view", event_id="a"), event("pay_success", value="1.00", event_id="b"), event("share")]

    body = post_json(post_as_client, rows)

    assert (body["accepted"], [r["index"] for r in body["rejected"]]) == (2, [1])
    assert sorted(Event.objects.values_list("event_name", flat=True)) == ["page_view", "share"]


def test_a_server_key_may_store_payments_and_server_sources(post_events):
    body = post_json(post_events, [event("pay_success", value="199.00", source="wechat_pay", event_id="t1")])

    assert (body["accepted"], body["rejected"]) == (1, [])


def test_a_forbidden_row_stays_forbidden_when_replayed(post_as_client, analyst):
    post_as_client(json.dumps(event("pay_success", value="199.00")))
    kept = RejectedRow.objects.get()

    replayed = replay_rejected(kept, user=analyst)

    kept.refresh_from_db()
    assert replayed is False
    assert (kept.status, kept.reason) == ("open", "forbidden")
    assert not Event.objects.exists()


def test_a_forbidden_row_whose_client_key_was_deleted_cannot_be_replayed_as_trusted(post_as_client, analyst):
    post_as_client(json.dumps(event("pay_success", value="199.00")))
    kept = RejectedRow.objects.get()
    IngestKey.objects.all().delete()  # the row loses its key (SET_NULL)
    kept.refresh_from_db()
    assert kept.ingest_key_id is None

    with pytest.raises(ReplayRefused, match="client key that sent this refused row was deleted"):
        replay_rejected(kept, user=analyst)

    kept.refresh_from_db()
    assert (kept.status, kept.reason) == ("open", "forbidden")
    assert not Event.objects.exists()


def test_a_single_client_event_still_costs_one_statement(
    post_as_client, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(partitions, "_known", set(partitions._known))
    with django_capture_on_commit_callbacks(execute=True):
        post_as_client(json.dumps(event(event_id="warm-up")))

    # The key and what client keys may send are remembered: only the write.
    with django_assert_num_queries(write_statements()):
        answer = post_as_client(json.dumps(event(user_id="u2", event_id="second")))

    assert answer.json()["accepted"] == 1


def test_existing_mini_program_keys_become_client_keys_by_migration():
    migration = importlib.import_module("events.migrations.0013_ingest_key_kind")
    mini_program, _ = IngestKey.generate(name="MP", source="mini_program", kind="server")
    crm, _ = IngestKey.generate(name="CRM", source="crm", kind="server")

    migration.mini_program_keys_become_client_keys(apps, SimpleNamespace(connection=connection))

    mini_program.refresh_from_db()
    crm.refresh_from_db()
    assert (mini_program.kind, crm.kind) == ("client", "server")


def test_a_client_key_cannot_be_made_for_a_server_source():
    with pytest.raises(ValidationError):
        IngestKey(name="oops", source="wechat_pay", kind="client").clean()
    with pytest.raises(CommandError, match="client key cannot send as it"):
        call_command("create_ingest_key", "wechat_pay", stdout=StringIO(), stderr=StringIO())


def test_the_command_makes_client_keys_unless_a_server_key_is_asked_for():
    call_command("create_ingest_key", "mini_program", stdout=StringIO(), stderr=StringIO())
    call_command("create_ingest_key", "crm", "--kind", "server", stdout=StringIO(), stderr=StringIO())

    assert dict(IngestKey.objects.values_list("source", "kind")) == {"mini_program": "client", "crm": "server"}


# --- Identity: claims from client keys ---------------------------------------------------


def identify(client, raw_key, **body):
    return client.post(
        "/api/v1/identify", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}"
    )


def test_a_client_key_cannot_join_two_strangers_into_one_person(client, client_key):
    link("oMP_alice", alias="anon-alice")
    link("oMP_bob", alias="anon-bob")

    answer = identify(client, client_key[1], user_id="oMP_alice", alias="oMP_bob")

    assert answer.status_code == 422
    assert "two known people" in answer.json()["error"]
    assert person_of("oMP_alice") != person_of("oMP_bob")
    assert person_of("anon-bob") == person_of("oMP_bob")


def test_a_client_key_cannot_move_an_id_that_has_a_unionid(client, client_key):
    link("oMP_1", unionid="oUnion_real")

    answer = identify(client, client_key[1], user_id="oMP_1", unionid="oUnion_attacker")

    assert answer.status_code == 422
    assert person_of("oMP_1") == "oUnion_real"


def test_a_client_key_cannot_merge_people_through_a_unionid_that_is_someone_elses_alias(client, client_key):
    link("crm-7", alias="oUnion_x")  # a unionid used as a plain alias of another person

    answer = identify(client, client_key[1], user_id="oMP_9", unionid="oUnion_x")

    assert answer.status_code == 422
    assert person_of("crm-7") == person_of("oUnion_x") == "crm-7"


def test_a_client_key_may_attach_a_unionid_to_an_openid_that_has_none(client, client_key):
    link("oOA_1", unionid="oUnion_1")  # WeChat's user-info answer for the follower

    answer = identify(client, client_key[1], user_id="oMP_1", unionid="oUnion_1", app_id="wxmp")

    assert answer.status_code == 200
    assert person_of("oMP_1") == person_of("oOA_1") == "oUnion_1"


def test_a_client_key_may_add_a_new_id_to_a_known_person_without_moving_anyone(client, client_key):
    link("oMP_1", unionid="oUnion_1")

    answer = identify(client, client_key[1], user_id="oMP_1", alias="anon-123")

    assert answer.status_code == 200
    assert answer.json()["moved"] == 0
    assert person_of("anon-123") == person_of("oMP_1") == "oUnion_1"


def test_the_sdk_sequence_alias_then_unionid_is_accepted_from_a_client_key(client, client_key):
    link("oOA_1", unionid="oUnion_1")

    first = identify(client, client_key[1], user_id="oMP_1", alias="anon-1")
    second = identify(client, client_key[1], user_id="oMP_1", unionid="oUnion_1")

    assert (first.status_code, second.status_code) == (200, 200)
    assert person_of("anon-1") == person_of("oMP_1") == person_of("oOA_1") == "oUnion_1"


def test_a_server_key_can_still_merge_two_known_people(client, ingest_key):
    link("oMP_alice", alias="anon-alice")
    link("oMP_bob", alias="anon-bob")

    answer = identify(client, ingest_key[1], user_id="oMP_alice", alias="oMP_bob")

    assert answer.status_code == 200
    assert person_of("anon-alice") == person_of("anon-bob")


def test_a_unionid_on_a_client_event_cannot_move_an_id_but_the_event_is_stored(client_key):
    link("oMP_1", unionid="oUnion_real")

    result = ingest_rows(
        [event("page_view", properties={"unionid": "oUnion_attacker"})], channel="api", ingest_key=client_key[0]
    )

    assert result.accepted == 1
    assert person_of("oMP_1") == "oUnion_real"


def test_a_unionid_on_a_client_event_attaches_to_an_openid_that_has_none(client_key):
    link("oOA_1", unionid="oUnion_1")
    link("oMP_2", alias="anon-2")  # known, but without a unionid

    ingest_rows(
        [
            event("page_view", user_id="oMP_1", properties={"unionid": "oUnion_1"}),
            event("page_view", user_id="oMP_2", properties={"unionid": "oUnion_2"}),
        ],
        channel="api",
        ingest_key=client_key[0],
    )

    assert person_of("oMP_1") == "oUnion_1"
    assert person_of("oMP_2") == person_of("anon-2") == "oUnion_2"


def test_wechat_and_server_events_stay_authoritative(ingest_key):
    link("oMP_1", unionid="oUnion_old")

    ingest_rows([event("page_view", properties={"unionid": "oUnion_new"})], channel="api", ingest_key=ingest_key[0])

    assert person_of("oMP_1") == "oUnion_new"
