"""Admin changelists of the two big tables (events, rejected rows) on 1M+ rows: server time
per page, with and without their filters, and no full-table COUNT(*).

Runs Django in-process (the test client, production-like settings: DEBUG off) against the
1M-event bench database of bench/snapshots.py; adds 1M rejected rows to it once
(generate_series, about a minute). Each page is fetched once to warm up, then BENCH_REPEAT
times; the page's figure is the median. Every query is captured: a COUNT without a LIMIT
inside it (a full count of the table or of a filtered slice) fails the run. Prints:

    bench admin_events_changelist_ms: value=<slowest page's median ms> baseline=300 ratio=<v/300> pages=<n>
    bench admin_rejected_changelist_ms: value=<ms> baseline=300 ratio=<v/300> pages=<n>

(lower is better; the baseline is the 300 ms target). Environment: BENCH_DATABASE_URL
(default postgres://root@127.0.0.1:5432/wxa_bench_1m), BENCH_REJECTED (default 1000000),
BENCH_REPEAT (default 5).
"""

import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_1m")
REJECTED = int(os.environ.get("BENCH_REJECTED", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
TARGET_MS = 300
FULL_COUNT = re.compile(r"COUNT\(", re.IGNORECASE)

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    DJANGO_SETTINGS_MODULE="wxanalytics.settings",
    DEBUG="0",
    SECRET_KEY="bench-only-" + "x" * 50,
    ALLOWED_HOSTS="testserver",
    SECURE_SSL_REDIRECT="0",
    LOG_LEVEL="WARNING",
    PYTHONWARNINGS="ignore::UserWarning",
)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# The same 1M-event database as bench/snapshots.py: created and seeded there if missing
# (make bench runs this script first, alphabetically).
from snapshots import prepare  # noqa: E402

prepare(DATABASE_URL)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Pages render in-process without collectstatic: plain static URLs instead of the manifest.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from events.models import Event  # noqa: E402


def log(message: str) -> None:
    print(f"[bench admin] {message}", file=sys.stderr, flush=True)


def ensure_rejected_rows() -> int:
    """Top the rejected rows up to REJECTED with a realistic mix of channels, reasons and
    statuses, spread over 60 days."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM events_rejectedrow")
        (have,) = cursor.fetchone()
        missing = REJECTED - have
        if missing > 0:
            log(f"adding {missing:,} rejected rows …")
            started = time.monotonic()
            cursor.execute(
                """
                INSERT INTO events_rejectedrow (channel, source, raw, errors, reason, status, row_index, received_at)
                SELECT (ARRAY['api', 'csv', 'wechat_push', 'wechat_pay', 'import_ad_spend'])[1 + (n / 7) %% 5],
                       (ARRAY['mini_program', 'official_account', 'store'])[1 + n %% 3],
                       '{"event_name": "Bad Name", "user_id": "u' || n || '"}',
                       '{"event_name": ["not snake_case"]}'::jsonb,
                       CASE WHEN n %% 5 = 3 THEN 'conflict' ELSE 'invalid' END,
                       CASE WHEN n %% 10 = 0 THEN 'open' WHEN n %% 10 < 8 THEN 'replayed' ELSE 'dismissed' END,
                       n %% 1000,
                       now() - (n %% 86400 * 60) * interval '1 second'
                FROM generate_series(1, %s) AS n
                """,
                [missing],
            )
            cursor.execute("ANALYZE events_rejectedrow")
            log(f"added in {time.monotonic() - started:.0f} s")
        cursor.execute("SELECT COUNT(*) FROM events_rejectedrow")
        return cursor.fetchone()[0]


def admin_client() -> Client:
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def time_page(client: Client, url: str) -> tuple[float, list[str]]:
    """(median ms over REPEAT fetches, the queries of one fetch that count without a LIMIT)."""
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code}")
    timings = []
    full_counts: list[str] = []
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        full_counts = [q["sql"] for q in queries if FULL_COUNT.search(q["sql"]) and "LIMIT" not in q["sql"].upper()]
    return statistics.median(timings), full_counts


def main() -> None:
    events = Event.objects.count()
    rejected = ensure_rejected_rows()
    log(f"{DATABASE_URL}: {events:,} events, {rejected:,} rejected rows; median of {REPEAT}")
    client = admin_client()
    campaign_id = Event.objects.exclude(campaign_id=None).values_list("campaign_id", flat=True).first()
    pages = {
        "events": [
            "/admin/events/event/",
            "/admin/events/event/?event_name=pay_success",
            "/admin/events/event/?source=wechat_ad",
            f"/admin/events/event/?campaign__id__exact={campaign_id}",
            "/admin/events/event/?received_at__gte=2026-01-01&received_at__lt=2099-01-01",
            "/admin/events/event/?event_name=pay_success&p=3",
            "/admin/events/event/?q=o0000000000000000000000000000",
        ],
        "rejected": [
            "/admin/events/rejectedrow/",
            "/admin/events/rejectedrow/?status__exact=open",
            "/admin/events/rejectedrow/?reason__exact=conflict",
            "/admin/events/rejectedrow/?channel=csv",
            "/admin/events/rejectedrow/?status__exact=open&channel=api&p=2",
        ],
    }
    failures = []
    for name, urls in pages.items():
        slowest = 0.0
        for url in urls:
            ms, full_counts = time_page(client, url)
            slowest = max(slowest, ms)
            log(f"{ms:7.1f} ms  {url}" + (f"  FULL COUNT: {full_counts[0][:160]}" if full_counts else ""))
            if full_counts:
                failures.append(url)
        rows = events if name == "events" else rejected
        print(
            f"bench admin_{name}_changelist_ms: value={slowest:.0f} baseline={TARGET_MS} "
            f"ratio={slowest / TARGET_MS:.2f} pages={len(urls)} rows={rows}",
            flush=True,
        )
    if failures:
        raise SystemExit("full-table COUNT on: " + ", ".join(failures))


if __name__ == "__main__":
    main()
