"""Large admin imports run as a task: the page shows a progress bar polling a small JSON
endpoint, then the result. The task is called directly here, and once through a real
Celery worker on Redis."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from events import tasks
from events.imports import runs
from events.models import AdSpend, ImportRun, RejectedRow
from tests.worker import purged_broker, solo_worker, wait_until

HEADER = "date,campaign,ad_group,creative,spend,impressions,clicks,reach\n"
GOOD = "2025-11-01,23Q4-Sale,Moments,Red poster,120.50,10000,150,8000\n"
BAD = "2025-11-03,23Q4-Sale,g,c,1,1,5,1\n"  # 5 clicks on 1 impression: rejected


def _spend_csv(days: int = 30) -> bytes:
    lines = [f"2025-11-{day:02d},23Q4-Sale,Moments,Red poster,{day}.00,10000,150,8000\n" for day in range(1, days + 1)]
    return (HEADER + "".join(lines) + BAD).encode()


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(runs, "BACKGROUND_IMPORT_BYTES", 100)


@pytest.mark.django_db
def test_the_task_imports_the_stored_file_records_the_summary_and_deletes_the_file(marketer, campaign):
    run = tasks.import_in_background(
        kind="ad_spend", upload=SimpleUploadedFile("spend.csv", _spend_csv()), defaults={}, user=marketer
    )
    stored = run.file.name
    assert default_storage.exists(stored) and run.status == ImportRun.Status.QUEUED

    tasks.run_import_task(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE and run.percent == 100
    assert (run.summary["rows"], run.summary["created"], run.summary["rejected"]) == (31, 30, 1)
    assert run.bytes_done == run.bytes_total == len(_spend_csv())
    assert AdSpend.objects.count() == 30 and RejectedRow.objects.filter(channel="import_ad_spend").count() == 1
    assert not default_storage.exists(stored) and not run.file


@pytest.mark.django_db
def test_a_finished_run_is_not_imported_again(marketer, campaign):
    run = tasks.import_in_background(kind="ad_spend", upload=SimpleUploadedFile("s.csv", _spend_csv(2)), defaults={})
    tasks.run_import_task(run.pk)
    AdSpend.objects.all().delete()

    tasks.run_import_task(run.pk)  # a duplicate delivery

    assert AdSpend.objects.count() == 0


@pytest.mark.django_db
def test_a_file_that_cannot_be_read_fails_with_a_readable_error(marketer):
    run = tasks.import_in_background(
        kind="ad_spend", upload=SimpleUploadedFile("s.csv", b"when,what\n1,2\n"), defaults={}
    )

    tasks.run_import_task(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and "Missing required column" in run.error


@pytest.mark.django_db
def test_the_task_returns_quietly_when_the_run_is_gone():
    assert tasks.run_import_task(987654) is None


@pytest.mark.django_db
def test_progress_is_written_as_bytes_read_and_shown_as_a_percentage(marketer, campaign, monkeypatch):
    monkeypatch.setattr(runs, "PROGRESS_EVERY_SECONDS", 0)
    seen = []
    original = runs.import_csv

    def spy(*args, progress, **kwargs):
        def recording(done):
            progress(done)
            seen.append(ImportRun.objects.get().bytes_done)

        return original(*args, progress=recording, **kwargs)

    monkeypatch.setattr(runs, "import_csv", spy)
    run = tasks.import_in_background(kind="ad_spend", upload=SimpleUploadedFile("s.csv", _spend_csv()), defaults={})

    tasks.run_import_task(run.pk)

    assert seen and seen[-1] == len(_spend_csv())  # the stored row followed the reader
    half = ImportRun(status=ImportRun.Status.RUNNING, bytes_total=200, bytes_done=50)
    assert half.percent == 25


@pytest.mark.django_db
def test_a_large_admin_upload_is_queued_and_its_page_polls_then_shows_the_result(
    client, marketer, campaign, small_threshold
):
    client.force_login(marketer)

    response = client.post("/admin/events/adspend/import/", {"file": SimpleUploadedFile("big.csv", _spend_csv())})

    run = ImportRun.objects.get()
    page_url = f"/admin/events/adspend/import/{run.pk}/"
    assert response.status_code == 302 and response["Location"] == page_url
    assert AdSpend.objects.count() == 0  # nothing imported in the request
    waiting = client.get(page_url).content.decode()
    assert '<progress id="import-progress" max="100" value="0">' in waiting
    assert f'data-status-url="{page_url}status.json"' in waiting and "events/import_progress.js" in waiting
    assert client.get(f"{page_url}status.json").json() == {
        "status": "queued",
        "status_display": "Queued",
        "percent": 0,
        "bytes_done": 0,
        "bytes_total": len(_spend_csv()),
        "finished": False,
        "error": "",
    }

    tasks.run_import_task(run.pk)

    done = client.get(page_url).content.decode()
    assert "<th>Created</th><td>30</td>" in done and "<th>Rejected</th><td>1</td>" in done
    assert "/admin/events/rejectedrow/?channel=import_ad_spend" in done and "<progress" not in done
    assert client.get(f"{page_url}status.json").json()["finished"] is True


@pytest.mark.django_db
def test_a_small_upload_is_still_imported_in_the_request(client, marketer, campaign):
    client.force_login(marketer)

    response = client.post("/admin/events/adspend/import/", {"file": SimpleUploadedFile("s.csv", _spend_csv(2))})

    assert response.status_code == 200 and AdSpend.objects.count() == 2 and not ImportRun.objects.exists()


@pytest.mark.django_db
def test_a_run_is_seen_only_by_people_who_may_import_its_table(client, analyst, make_user, campaign):
    run = tasks.import_in_background(kind="ad_spend", upload=SimpleUploadedFile("s.csv", _spend_csv(2)), defaults={})
    client.force_login(make_user("nogroup"))

    assert client.get(f"/admin/events/adspend/import/{run.pk}/status.json").status_code == 403
    # Under another table's URL the run does not exist.
    client.force_login(analyst)
    assert client.get(f"/admin/events/oausersummary/import/{run.pk}/status.json").status_code == 404


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_a_large_upload_while_the_page_polls(client, marketer, campaign, small_threshold):
    purged_broker()
    client.force_login(marketer)
    with solo_worker("ingest") as lines:
        response = client.post("/admin/events/adspend/import/", {"file": SimpleUploadedFile("big.csv", _spend_csv())})
        page_url = response["Location"]
        polled = []

        def finished():
            polled.append(client.get(f"{page_url}status.json").json())
            return polled[-1]["finished"]

        wait_until(finished, seconds=60, lines=lines)
    log = "".join(lines)

    assert polled[-1]["status"] == "done", f"the worker did not finish the import; its log:\n{log[-3000:]}"
    assert polled[0]["status"] in ("queued", "running", "done") and polled[-1]["percent"] == 100
    assert AdSpend.objects.count() == 30
    assert "<th>Created</th><td>30</td>" in client.get(page_url).content.decode()
    assert "run_import_task" in log
