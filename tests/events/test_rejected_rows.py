"""Rejected rows are side effects of ingest: kept once however often a sender repeats
them, and replayed once however many people (or admin tabs) press "Save and replay"."""

import json
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from events.ingest import ingest_rows
from events.ingest.replay import ReplayRefused, replay_rejected
from events.models import Event, IngestKey, RejectedRow

GOOD = {"event_name": "page_view", "user_id": "u1", "ts": "2025-11-01T10:00:00Z"}
BAD = {**GOOD, "ts": "2025-11-01 10:00"}  # no zone: rejected


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.mark.django_db
def test_resending_a_batch_does_not_add_another_copy_of_its_rejected_rows():
    key, _ = IngestKey.generate(name="server", source="crm", kind=IngestKey.Kind.SERVER)
    batch = [GOOD, BAD, {**BAD, "user_id": "u2"}]

    answers = [ingest_rows(batch, channel="api", ingest_key=key) for _ in range(3)]

    # Every answer still reports the two bad rows; they are kept once.
    assert [len(answer.rejected) for answer in answers] == [2, 2, 2]
    assert RejectedRow.objects.count() == 2
    assert answers[0].rejected_row_ids == answers[2].rejected_row_ids
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_the_same_bad_row_from_two_keys_is_kept_for_each_key():
    # "By key and content": another sender's identical row is another row to look at.
    first, _ = IngestKey.generate(name="one", source="crm", kind=IngestKey.Kind.SERVER)
    second, _ = IngestKey.generate(name="two", source="crm", kind=IngestKey.Kind.SERVER)

    ingest_rows([BAD], channel="api", ingest_key=first)
    ingest_rows([BAD], channel="api", ingest_key=second)

    assert sorted(RejectedRow.objects.values_list("ingest_key__name", flat=True)) == ["one", "two"]


@pytest.mark.django_db
def test_a_rejected_row_kept_before_is_not_kept_again_after_it_was_dismissed():
    ingest_rows([BAD], channel="api", source="crm")
    RejectedRow.objects.update(status=RejectedRow.Status.DISMISSED)

    ingest_rows([BAD], channel="api", source="crm")

    assert list(RejectedRow.objects.values_list("status", flat=True)) == [RejectedRow.Status.DISMISSED]


@pytest.mark.django_db
def test_an_unreadable_body_sent_twice_is_kept_once(client):
    key, raw_key = IngestKey.generate(name="server", source="crm", kind=IngestKey.Kind.SERVER)

    for _ in range(2):
        response = client.post(
            "/api/v1/events",
            data=b'[{"event_name": ',
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw_key}",
        )
        assert response.status_code == 400

    assert RejectedRow.objects.filter(ingest_key=key).count() == 1


@pytest.mark.django_db
def test_a_pay_notification_wechat_retries_is_kept_once():
    from events.wechat import pay

    body = b'{"id": "EV-1", "resource": {"ciphertext": "not ours"}}'
    error = pay.PayNotificationError("Cannot decrypt the resource.", keep=True)

    ids = {pay.keep_rejected_notification(body=body, error=error, mchid="1900000001") for _ in range(3)}

    assert len(ids) == 1
    assert RejectedRow.objects.filter(channel="wechat_pay").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_fingerprint_migration_keeps_one_of_each_duplicate_and_prefers_a_handled_copy():
    executor = MigrationExecutor(connection)
    executor.migrate([("events", "0013_ingest_key_kind")])
    old_apps = executor.loader.project_state([("events", "0013_ingest_key_kind")]).apps
    OldRow = old_apps.get_model("events", "RejectedRow")
    key = old_apps.get_model("events", "IngestKey").objects.create(name="k", source="crm", prefix="wxa_", key_hash="h")
    # Three copies of one resent row (the second already replayed), two of another, one
    # single, and the same text from a key (another sender: kept apart).
    copies = [("a", "open"), ("a", "replayed"), ("a", "open"), ("关注 b", "open"), ("关注 b", "open"), ("c", "open")]
    ids = [OldRow.objects.create(channel="api", source="crm", raw=raw, status=status).pk for raw, status in copies]
    keyed = OldRow.objects.create(channel="api", source="crm", raw="a", ingest_key_id=key.pk).pk

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert sorted(RejectedRow.objects.values_list("pk", flat=True)) == sorted([ids[1], ids[3], ids[5], keyed])
    # The fingerprints the migration wrote are the ones new rows get, so a resend now dedupes.
    for row in RejectedRow.objects.all():
        assert row.fingerprint == RejectedRow.fingerprint_of(
            channel=row.channel, source=row.source, ingest_key_id=row.ingest_key_id, raw=row.raw
        )


# Replay


def change_url(row: RejectedRow) -> str:
    return f"/admin/events/rejectedrow/{row.pk}/change/"


@pytest.mark.django_db
def test_save_and_replay_from_a_second_stale_admin_tab_does_not_store_the_event_twice(client, superuser):
    ingest_rows([BAD], channel="api", source="crm")
    row = RejectedRow.objects.get()
    client.force_login(superuser)
    # Both tabs show the open row; each fixes the zone its own way (so the two versions
    # would be two different events).
    first_fix = json.dumps({**GOOD, "ts": "2025-11-01T10:00:00+08:00"})
    stale_fix = json.dumps({**GOOD, "ts": "2025-11-01T10:00:00+00:00"})

    client.post(change_url(row), {"raw": first_fix, "_replay": "1"})
    stale = client.post(change_url(row), {"raw": stale_fix, "_replay": "1"}, follow=True)

    shown = [str(message) for message in get_messages(stale.wsgi_request)]
    assert any("already replayed this row" in message and "root" in message for message in shown), shown
    assert Event.objects.count() == 1
    row.refresh_from_db()
    assert row.raw == first_fix  # the stale tab's edit did not overwrite the replayed content
    assert row.status == RejectedRow.Status.REPLAYED


@pytest.mark.postgres  # SQLite takes no row locks: writers fail instead of queueing
@pytest.mark.django_db(transaction=True)
def test_two_admins_pressing_save_and_replay_at_the_same_moment_store_the_event_once(django_user_model):
    from django.test import Client

    ingest_rows([BAD], channel="api", source="crm")
    row = RejectedRow.objects.get()
    admins = [django_user_model.objects.create_superuser(f"admin{i}", f"a{i}@example.com", "pw") for i in range(2)]
    fixes = [json.dumps({**GOOD, "ts": f"2025-11-01T10:00:00+0{i}:00"}) for i in range(2)]
    barrier = threading.Barrier(2)
    messages: list[str] = []

    def tab(admin, fix):
        client = Client()
        client.force_login(admin)
        barrier.wait()
        response = client.post(change_url(row), {"raw": fix, "_replay": "1"}, follow=True)
        messages.extend(str(message) for message in get_messages(response.wsgi_request))
        connection.close()

    threads = [threading.Thread(target=tab, args=pair) for pair in zip(admins, fixes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Event.objects.count() == 1
    assert sum("stored now" in message for message in messages) == 1
    assert sum("already replayed this row" in message for message in messages) == 1


@pytest.mark.django_db
def test_replaying_a_row_that_is_not_open_is_refused_with_a_message():
    ingest_rows([BAD], channel="api", source="crm")
    row = RejectedRow.objects.get()
    RejectedRow.objects.update(status=RejectedRow.Status.DISMISSED)
    row.raw = json.dumps(GOOD)

    with pytest.raises(ReplayRefused, match="dismissed"):
        replay_rejected(row)

    assert not Event.objects.exists()


@pytest.mark.django_db
def test_the_replay_action_skips_rows_another_admin_replayed_meanwhile(client, superuser):
    rows = [RejectedRow.objects.create(channel="api", raw=json.dumps({**GOOD, "user_id": u})) for u in ("u1", "u2")]
    replay_rejected(rows[0])
    client.force_login(superuser)

    response = client.post(
        "/admin/events/rejectedrow/", {"action": "replay", "_selected_action": [r.pk for r in rows]}, follow=True
    )

    shown = " ".join(str(message) for message in get_messages(response.wsgi_request))
    assert "Replayed 1 row(s)" in shown
    assert Event.objects.count() == 2
