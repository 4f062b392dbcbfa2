"""Personal-data rights (docs/privacy.md): export and erase a person, retries after an
erasure, retention pseudonymisation, erase on unfollow."""

import csv
import gzip
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import WeChatApp
from events.identity import IdentityError
from events.ingest import ingest_rows
from events.ingest.dedupe import ERASED
from events.models import ErasureRecord, Event, EventKey, Identity, RejectedRow, UnionidLookup
from events.privacy.erase import erase_person
from events.privacy.export import export_document
from events.privacy.hashing import id_hash, pseudonym
from events.privacy.lookup import find_person
from events.privacy.retention import apply_retention, retention_cutoff
from events.privacy.unfollow import due_unfollowers, erase_unfollowed
from events.tasks import erase_app_unfollowers, erase_unfollowed_people
from reports.export.archive import archive_month, drop_archived_month
from reports.export.tasks import pseudonymise_old_archives, remove_erased_from_archives_task
from reports.models import Archive, Snapshot
from reports.snapshots import build

pytestmark = pytest.mark.django_db

OA_APP, MP_APP = "wxoa0000000000001", "wxmp0000000000001"
# Li Lei: an Official Account follower (openid oa-lilei) who also buys in the Mini Program
# (openid mp-lilei); both openids carry the unionid union-lilei, which joins them.
OA_ID, MP_ID, UNIONID = "oa-lilei", "mp-lilei", "union-lilei"
AFTER_NOVEMBER = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)


def row(name: str, user_id: str, ts: str, **fields) -> dict:
    return {"event_name": name, "user_id": user_id, "ts": ts, "source": "wechat", **fields}


def partitions_of(*user_ids: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tableoid::regclass::text FROM events_event WHERE user_id = ANY(%s)", [list(user_ids)]
        )
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def li_lei_and_han_mei():
    """Li Lei: follows in October, pays 100 in October and 50 in November (two partitions),
    sends one broken row (rejected, kept). Han Mei (hm) pays 30 in October and 80 in
    November and sends a broken row too: none of hers may be touched."""
    result = ingest_rows(
        [
            row("follow", OA_ID, "2025-10-02T02:00:00Z", app_id=OA_APP, properties={"unionid": UNIONID}),
            row(
                "pay_success",
                MP_ID,
                "2025-10-20T04:00:00Z",
                app_id=MP_APP,
                value="100.00",
                event_id="t-1",
                properties={"unionid": UNIONID},
            ),
            row("pay_success", MP_ID, "2025-11-05T04:00:00Z", app_id=MP_APP, value="50.00", event_id="t-2"),
            row("pay_success", "hm", "2025-10-21T04:00:00Z", value="30.00", event_id="t-3"),
            row("pay_success", "hm", "2025-11-06T04:00:00Z", value="80.00", event_id="t-4"),
            row("page_view", OA_ID, "yesterday"),  # rejected: mentions Li Lei
            row("page_view", "hm", "yesterday"),  # rejected: Han Mei's
        ],
        channel="api",
        source="wechat",
    )
    assert (result.accepted, len(result.rejected)) == (5, 2)
    # WeChat once returned no unionid for his Official Account openid.
    now = timezone.now()
    UnionidLookup.objects.create(app_id=OA_APP, openid=OA_ID, last_asked_at=now, next_ask_at=now)
    UnionidLookup.objects.create(app_id=OA_APP, openid="hm", last_asked_at=now, next_ask_at=now)
    return result


def build_months() -> dict[str, Snapshot]:
    return {
        label: build.build_snapshot("monthly", label, now=AFTER_NOVEMBER) for label in ("2025-09", "2025-10", "2025-11")
    }


# --- look-up and export --------------------------------------------------------------


def test_any_id_of_a_person_finds_all_their_ids(li_lei_and_han_mei):
    expected = (MP_ID, OA_ID, UNIONID)

    found = {value: find_person(value).ids for value in (OA_ID, MP_ID, UNIONID)}

    assert found == {OA_ID: expected, MP_ID: expected, UNIONID: expected}
    assert find_person("hm").ids == ("hm",)  # never linked: a person of their own


def test_an_empty_or_over_long_id_is_refused():
    with pytest.raises(IdentityError):
        find_person("  ")
    with pytest.raises(IdentityError):
        find_person("x" * 129)


def test_the_export_holds_every_event_link_and_rejected_row_of_the_person_and_nothing_else(li_lei_and_han_mei):
    document = json.loads("".join(export_document(find_person(OA_ID))))

    assert document["format"] == "wxanalytics.person-export.v1"
    assert document["ids"] == [MP_ID, OA_ID, UNIONID]
    assert [(e["event_name"], e["user_id"], e["value"]) for e in document["events"]] == [
        ("follow", OA_ID, None),
        ("pay_success", MP_ID, "100.00"),
        ("pay_success", MP_ID, "50.00"),
    ]
    assert {(i["user_id"], i["person_id"]) for i in document["identities"]} == {
        (OA_ID, UNIONID),
        (MP_ID, UNIONID),
        (UNIONID, UNIONID),
    }
    assert len(document["rejected_rows"]) == 1 and OA_ID in document["rejected_rows"][0]["raw"]
    assert [lookup["openid"] for lookup in document["unionid_lookups"]] == [OA_ID]
    assert document["counts"] == {"identities": 3, "events": 3, "rejected_rows": 1, "unionid_lookups": 1}


def test_a_rejected_row_mentions_an_id_only_as_a_whole_id(db):
    ingest_rows([row("x", "oa-lilei-2", "bad"), row("x", "xoa-lilei", "bad")], channel="api", source="s")

    document = json.loads("".join(export_document(find_person(OA_ID))))

    assert document["rejected_rows"] == []


def test_the_export_command_writes_the_document_to_a_file(li_lei_and_han_mei, tmp_path):
    output = tmp_path / "lilei.json"

    call_command("export_person", UNIONID, "--output", str(output))

    assert json.loads(output.read_text())["counts"] == {
        "identities": 3,
        "events": 3,
        "rejected_rows": 1,
        "unionid_lookups": 1,
    }


# --- erasure -------------------------------------------------------------------------


@pytest.mark.postgres  # monthly partitions and the key table the erased keys stay in
def test_erasing_a_person_removes_everything_of_theirs_records_counts_and_stales_their_snapshots(
    li_lei_and_han_mei, analyst
):
    assert partitions_of(OA_ID, MP_ID) == {"events_event_y2025m10", "events_event_y2025m11"}
    before = build_months()
    # October: Li Lei 100 + Han Mei 30 from two paying people; November: 50 + 80.
    assert [before[m].data["headline"]["paying_people"] for m in ("2025-10", "2025-11")] == [2, 2]
    assert Decimal(before["2025-10"].data["headline"]["revenue"]) == Decimal("130.00")
    keys_before = EventKey.objects.count()

    record = erase_person(MP_ID, requested_by=analyst, note="ticket 42")

    assert not Event.objects.filter(user_id__in=[OA_ID, MP_ID, UNIONID]).exists()
    assert not Identity.objects.exists()
    assert [r.raw for r in RejectedRow.objects.all()] == [json.dumps(row("page_view", "hm", "yesterday"))]
    # The keys stay (no id in them), marked erased, so a retry remains a duplicate.
    assert EventKey.objects.count() == keys_before == 5
    assert EventKey.objects.filter(content_hash=ERASED).count() == 3
    assert Event.objects.filter(user_id="hm").count() == 2
    assert (record.events, record.event_keys, record.identities, record.rejected_rows) == (3, 3, 3, 1)
    assert record.unionid_lookups == 1 and list(UnionidLookup.objects.values_list("openid", flat=True)) == ["hm"]
    assert (record.requested_by, record.requested_by_name, record.note) == (analyst, analyst.username, "ticket 42")
    assert record.id_hashes == sorted(id_hash(value) for value in (OA_ID, MP_ID, UNIONID))
    stored = json.dumps(list(ErasureRecord.objects.values()), default=str)
    assert not any(value in stored for value in (OA_ID, MP_ID, UNIONID))
    stale = dict(Snapshot.objects.values_list("period_label", "stale"))
    assert stale == {"2025-09": False, "2025-10": True, "2025-11": True}
    assert record.stale_snapshots == 2

    after = {label: build.build_snapshot("monthly", label, now=AFTER_NOVEMBER) for label in ("2025-10", "2025-11")}

    # Only Han Mei is left: one paying person each month, 30 and 80 yuan.
    assert [after[m].data["headline"]["paying_people"] for m in ("2025-10", "2025-11")] == [1, 1]
    assert Decimal(after["2025-10"].data["headline"]["revenue"]) == Decimal("30.00")
    assert Decimal(after["2025-11"].data["headline"]["revenue"]) == Decimal("80.00")
    assert not any(snapshot.stale for snapshot in after.values())


def test_the_erase_command_erases_and_reports_the_counts(li_lei_and_han_mei, capsys):
    call_command("erase_person", UNIONID, "--requested-by", "dpo@example.com", "--yes")

    record = ErasureRecord.objects.get()
    assert record.requested_by_name == "dpo@example.com" and record.events == 3
    assert "3 events, 3 identity links, 1 rejected rows, 1 unionid look-ups removed" in capsys.readouterr().out


@pytest.mark.postgres  # SQLite has no key table: a retry is stored again (docs/privacy.md)
def test_a_retry_of_an_erased_event_is_answered_as_a_duplicate_and_not_stored(li_lei_and_han_mei):
    erase_person(OA_ID)
    retry = row("pay_success", MP_ID, "2025-11-05T04:00:00Z", app_id=MP_APP, value="50.00", event_id="t-2")
    changed_retry = {**retry, "page": "checkout"}  # same event_id, the SDK added a field
    content_retry = row("follow", OA_ID, "2025-10-02T02:00:00Z", app_id=OA_APP, properties={"unionid": UNIONID})

    first = ingest_rows([retry, content_retry], channel="api", source="wechat")
    second = ingest_rows([changed_retry], channel="api", source="wechat")

    assert (first.accepted, first.duplicates, first.conflicts) == (0, 2, 0)
    assert (second.accepted, second.duplicates, second.conflicts) == (0, 1, 0)
    assert not Event.objects.filter(user_id__in=[OA_ID, MP_ID]).exists()
    assert not Identity.objects.exists()  # the retried unionid did not link them again
    assert RejectedRow.objects.filter(raw__contains=MP_ID).count() == 0  # not kept as a conflict either


def test_an_erased_person_who_comes_back_with_a_new_event_is_counted_again(li_lei_and_han_mei):
    erase_person(OA_ID)

    result = ingest_rows([row("follow", OA_ID, timezone.now().isoformat())], channel="api", source="wechat")

    assert result.accepted == 1


# --- retention -----------------------------------------------------------------------


def test_the_retention_cutoff_is_the_start_of_a_reporting_time_zone_month():
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

    assert retention_cutoff(now=now, months=25) == datetime(2024, 9, 30, 16, 0, tzinfo=UTC)  # 2024-10-01 00:00 +08
    assert retention_cutoff(now=now, months=0) is None


def test_retention_pseudonymises_events_before_the_month_boundary_and_keeps_the_rest(settings):
    settings.PRIVACY_RETENTION_MONTHS = 25
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    ingest_rows(
        [
            # 2024-09-30 23:59:59 in Shanghai: September, past retention.
            row(
                "page_view",
                OA_ID,
                "2024-09-30T15:59:59Z",
                session_id="s-old",
                properties={"unionid": UNIONID, "page_no": 2},
            ),
            row("pay_success", MP_ID, "2024-09-12T04:00:00Z", value="20.00", session_id="s-mp"),
            # 2024-10-01 00:00:00 in Shanghai: October, still kept with ids.
            row("page_view", OA_ID, "2024-09-30T16:00:00Z", session_id="s-new"),
        ],
        channel="api",
        source="wechat",
    )
    Identity.objects.update_or_create(user_id=MP_ID, defaults={"person_id": UNIONID, "linked_by": "unionid"})
    RejectedRow.objects.create(
        channel="api", raw=f'{{"user_id": "{OA_ID}"}}', received_at=datetime(2024, 9, 1, tzinfo=UTC)
    )
    RejectedRow.objects.create(
        channel="api", raw=f'{{"user_id": "{OA_ID}"}}', received_at=datetime(2024, 10, 2, tzinfo=UTC)
    )
    september = build.build_snapshot("monthly", "2024-09", now=timezone.now())

    result = apply_retention(now=now)
    again = apply_retention(now=now)

    by_page = {e.ts: e for e in Event.objects.all()}
    old, paid, kept = (
        by_page[datetime(2024, 9, 30, 15, 59, 59, tzinfo=UTC)],
        by_page[datetime(2024, 9, 12, 4, tzinfo=UTC)],
        by_page[datetime(2024, 9, 30, 16, tzinfo=UTC)],
    )
    # Both of Li Lei's openids become the pseudonym of his unionid: one person before and after.
    assert old.user_id == paid.user_id == pseudonym(UNIONID)
    assert (old.session_id, paid.session_id) == (pseudonym("s-old"), pseudonym("s-mp"))
    assert old.properties == {"page_no": 2}
    assert (kept.user_id, kept.session_id) == (OA_ID, "s-new")
    assert (result.events, result.people, result.rejected_rows) == (2, 2, 1)
    assert RejectedRow.objects.count() == 1
    assert (again.events, again.rejected_rows) == (0, 0)
    september.refresh_from_db()
    assert september.stale is False  # reports of closed periods stay as built
    assert build.mark_stale_snapshots() == 0  # nor will the stale check mark them


# --- erase on unfollow ---------------------------------------------------------------


@pytest.fixture
def official_account(db):
    return WeChatApp.objects.create(appid=OA_APP, kind=WeChatApp.Kind.OFFICIAL_ACCOUNT, erase_unfollowed_after_days=30)


def unfollow_story():
    """Li Lei unfollows on 1 October and does nothing since. Han Mei (hm-oa, with her
    Mini Program id hm-mp joined by a unionid) unfollows on 1 October but pays in the Mini
    Program on 10 October. Wang Wu unfollows on 20 October: not 30 days yet on 5 November."""
    ingest_rows(
        [
            row("follow", OA_ID, "2025-09-01T02:00:00Z", app_id=OA_APP),
            row("unfollow", OA_ID, "2025-10-01T02:00:00Z", app_id=OA_APP),
            row("unfollow", "hm-oa", "2025-10-01T02:00:00Z", app_id=OA_APP, properties={"unionid": "union-hm"}),
            row(
                "pay_success",
                "hm-mp",
                "2025-10-10T02:00:00Z",
                app_id=MP_APP,
                value="9.90",
                properties={"unionid": "union-hm"},
            ),
            row("unfollow", "ww", "2025-10-20T02:00:00Z", app_id=OA_APP),
        ],
        channel="wechat_push",
        source="wechat",
    )


def test_someone_who_unfollowed_and_did_nothing_since_is_erased_after_the_delay(official_account):
    unfollow_story()
    now = datetime(2025, 11, 5, 9, 0, tzinfo=UTC)

    records = erase_unfollowed(official_account, now=now)

    assert [r.trigger for r in records] == [ErasureRecord.Trigger.UNFOLLOW]
    assert records[0].events == 2 and records[0].requested_by_name == f"erase on unfollow: {OA_APP}"
    assert set(Event.objects.values_list("user_id", flat=True)) == {"hm-oa", "hm-mp", "ww"}


def test_later_activity_in_another_app_or_a_short_absence_keeps_a_person(official_account):
    unfollow_story()

    due = due_unfollowers(official_account, now=datetime(2025, 11, 5, 9, 0, tzinfo=UTC))
    due_later = due_unfollowers(official_account, now=datetime(2025, 11, 20, 9, 0, tzinfo=UTC))

    assert due == [OA_ID]
    assert due_later == [OA_ID, "ww"]  # Han Mei paid after unfollowing: never due


def test_erase_on_unfollow_is_off_unless_the_account_opts_in(official_account):
    unfollow_story()
    official_account.erase_unfollowed_after_days = None
    official_account.save()

    assert erase_unfollowed_people() == 0
    assert erase_app_unfollowers(official_account.pk) == 0
    assert Event.objects.filter(user_id=OA_ID).count() == 2


def test_the_task_erases_the_due_unfollowers_of_an_opted_in_account(official_account):
    unfollow_story()

    erased = erase_app_unfollowers(official_account.pk)

    # Today is long after October: Li Lei and Wang Wu are due, Han Mei came back.
    assert erased == 2
    assert set(Event.objects.values_list("user_id", flat=True)) == {"hm-oa", "hm-mp"}


# --- API and permissions -------------------------------------------------------------


def test_an_analyst_exports_a_person_through_the_api(client, analyst, li_lei_and_han_mei):
    client.force_login(analyst)

    response = client.post("/api/v1/people/export", {"id": UNIONID}, content_type="application/json")

    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert json.loads(b"".join(response.streaming_content))["counts"]["events"] == 3


def test_a_marketer_can_neither_export_nor_erase(client, marketer, li_lei_and_han_mei):
    client.force_login(marketer)

    export = client.post("/api/v1/people/export", {"id": UNIONID}, content_type="application/json")
    erase = client.post("/api/v1/people/erase", {"id": UNIONID}, content_type="application/json")

    assert (export.status_code, erase.status_code) == (403, 403)
    assert Event.objects.count() == 5


def test_an_analyst_erases_a_person_through_the_api_and_gets_the_counts(client, analyst, li_lei_and_han_mei):
    client.force_login(analyst)

    response = client.post("/api/v1/people/erase", {"id": OA_ID, "note": "ticket 7"}, content_type="application/json")

    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("events", "event_keys", "identities", "rejected_rows")} == {
        "events": 3,
        # The SQLite demo keeps no key table: its keys go with the events (docs/privacy.md).
        "event_keys": 3 if connection.vendor == "postgresql" else 0,
        "identities": 3,
        "rejected_rows": 1,
    }


def test_an_over_long_id_gets_a_400_with_the_reason(client, analyst):
    client.force_login(analyst)

    response = client.post("/api/v1/people/erase", {"id": "x" * 200}, content_type="application/json")

    assert response.status_code == 400 and "id" in response.json()


# --- admin ---------------------------------------------------------------------------


def test_the_admin_person_page_exports_and_erases_with_confirmation(client, analyst, li_lei_and_han_mei):
    client.force_login(analyst)
    url = "/admin/events/erasurerecord/person/"

    page = client.get(url)
    export = json.loads(b"".join(client.post(url, {"person_id": OA_ID, "action": "export"}).streaming_content))
    unconfirmed = client.post(url, {"person_id": OA_ID, "action": "erase"})
    still_there = Event.objects.filter(user_id=OA_ID).count()
    erased = client.post(url, {"person_id": OA_ID, "action": "erase", "confirm": "on", "note": "ticket 9"})

    assert page.status_code == 200
    assert export["counts"]["events"] == 3
    assert unconfirmed.status_code == 200 and "Tick this box to erase." in unconfirmed.content.decode()
    assert still_there == 1
    assert erased.status_code == 302
    assert ErasureRecord.objects.get().note == "ticket 9"
    assert not Event.objects.filter(user_id__in=[OA_ID, MP_ID]).exists()


def test_the_events_list_action_exports_the_person_of_the_selected_events(client, analyst, li_lei_and_han_mei):
    client.force_login(analyst)
    ids = list(Event.objects.filter(user_id__in=[OA_ID, MP_ID]).values_list("pk", flat=True))

    response = client.post("/admin/events/event/", {"action": "export_person", "_selected_action": ids})

    assert response.status_code == 200
    assert json.loads(b"".join(response.streaming_content))["ids"] == [MP_ID, OA_ID, UNIONID]


def test_selecting_two_people_asks_for_one(client, analyst, li_lei_and_han_mei):
    client.force_login(analyst)
    ids = list(Event.objects.values_list("pk", flat=True))

    response = client.post("/admin/events/event/", {"action": "export_person", "_selected_action": ids}, follow=True)

    assert "exactly one person" in response.content.decode()


# --- archives ------------------------------------------------------------------------


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path


def archived_user_ids(label: str) -> list[str]:
    archive = Archive.objects.get(month=date.fromisoformat(f"{label}-01"))
    path = archive.files["events"]["path"]
    with default_storage.open(path, "rb") as stored, gzip.open(stored, "rt", encoding="utf-8", newline="") as text:
        return sorted(row["user_id"] for row in csv.DictReader(text))


def test_an_erasure_rewrites_the_archived_months_without_the_person(
    li_lei_and_han_mei, storage, django_capture_on_commit_callbacks
):
    archive_month("2025-10")
    drop_archived_month("2025-10")  # October now lives only in its archive
    assert archived_user_ids("2025-10") == ["hm", MP_ID, OA_ID]

    with django_capture_on_commit_callbacks() as callbacks:
        record = erase_person(OA_ID)
    removed = remove_erased_from_archives_task(record.pk, ["2025-10-01"])

    assert len(callbacks) == 1  # the same task, queued once the erasure committed
    assert record.events == 1  # only November's payment was still in the database
    assert removed == 2
    assert archived_user_ids("2025-10") == ["hm"]
    assert Archive.objects.get(month=date(2025, 10, 1)).files["events"]["rows"] == 1
    assert remove_erased_from_archives_task(record.pk, ["2025-10-01"]) == 0


def test_archives_past_retention_get_the_same_pseudonyms_as_the_database(settings, storage):
    settings.PRIVACY_RETENTION_MONTHS = 1
    ingest_rows(
        [
            row("page_view", OA_ID, "2025-09-10T02:00:00Z", session_id="s-1", properties={"unionid": UNIONID, "n": 1}),
            row("page_view", "hm", "2025-09-11T02:00:00Z"),
        ],
        channel="api",
        source="wechat",
    )
    archive_month("2025-09")
    drop_archived_month("2025-09")

    changed = pseudonymise_old_archives()
    again = pseudonymise_old_archives()

    # OA_ID is linked to UNIONID by the unionid it carried: it becomes the person's pseudonym.
    assert archived_user_ids("2025-09") == sorted([pseudonym(UNIONID), pseudonym("hm")])
    assert (changed, again) == (2, 0)


def test_an_erasure_costs_the_same_queries_for_one_event_or_two_hundred():
    def person_with(user_id: str, events: int) -> None:
        rows = [
            row("page_view", user_id, f"2025-10-{1 + i % 28:02d}T0{i % 10}:00:00Z", event_id=f"{user_id}-{i}")
            for i in range(events)
        ]
        ingest_rows(rows, channel="api", source="wechat")

    person_with("one", 1)
    person_with("many", 200)

    with CaptureQueriesContext(connection) as one:
        erase_person("one")
    with CaptureQueriesContext(connection) as many:
        record = erase_person("many")

    assert record.events == 200
    assert len(many.captured_queries) == len(one.captured_queries)
