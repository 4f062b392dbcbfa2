"""Batch ingest over HTTP through the real server stack vs a raw COPY of the same rows.

Runs scripts/serve.py (nginx + gunicorn gthread workers, the README's production command) with
production settings on an ephemeral port against a bench database,
posts 1,000-event JSON batches from a few concurrent clients, then COPYs the same rows
straight into events_event in the same run, and prints:

    bench ingest_batch_rate: value=<events/s over HTTP> baseline=<COPY events/s> ratio=<value/baseline>

Environment: BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_ingest),
BENCH_BATCHES (default 200: about 6 s of HTTP, long enough that worker start-up and the
first batches do not decide the figure), BENCH_CLIENTS (default 3), BENCH_WORKERS (default 3).
"""

import hashlib
import http.client
import io
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from harness import (
    PYTHON,
    ROOT,
    backend_pids,
    connect,
    cpu_seconds,
    migrated_database,
    server_env,
    start_server,
    stop_server,
    worker_pids,
)

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_ingest")
BATCHES = int(os.environ.get("BENCH_BATCHES", "200"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "3"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
BATCH_SIZE = 1_000
EVENT_NAMES = ["page_view", "add_to_cart", "start_checkout", "pay_success", "qr_scan", "article_open"]


def log(message: str) -> None:
    print(f"[bench ingest] {message}", file=sys.stderr, flush=True)


def prepare_database() -> None:
    migrated_database(DATABASE_URL)


def truncate() -> None:
    with connect(DATABASE_URL) as conn:
        conn.execute("TRUNCATE events_event, events_eventkey, events_rejectedrow")


def make_batches() -> list[list[dict]]:
    start = datetime(2025, 11, 1, tzinfo=UTC)
    batches = []
    for b in range(BATCHES):
        batch = []
        for i in range(BATCH_SIZE):
            n = b * BATCH_SIZE + i
            batch.append(
                {
                    "event_name": EVENT_NAMES[n % len(EVENT_NAMES)],
                    "user_id": f"o{n % 5000:05d}",
                    "session_id": f"s-{n // 7}",
                    "source": "mini_program",
                    "campaign": "23Q4-Sale" if n % 3 == 0 else "-",
                    "page": "PDP",
                    "value": f"{n % 500}.00" if n % 6 == 3 else "-",
                    "currency": "CNY" if n % 6 == 3 else "-",
                    "ts": (start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
                    "event_id": f"bench-{n}",
                    "properties": {"template": "PDP", "n": n},
                }
            )
        batches.append(batch)
    return batches


def create_key() -> str:
    out = subprocess.run(
        [PYTHON, "manage.py", "create_ingest_key", "bench", "--kind", "server"],
        cwd=ROOT,
        env=server_env(DATABASE_URL),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def post_all(port: int, key: str, bodies: list[bytes]) -> float:
    """Post the bodies from CLIENTS threads; returns seconds taken. Fails on any non-200."""
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                index, body = queue.pop()
            conn.request(
                "POST",
                "/api/v1/events",
                body=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            answer = response.read()
            if response.status != 200 or json.loads(answer)["accepted"] != BATCH_SIZE:
                failures.append(f"batch {index}: {response.status} {answer[:200]!r}")

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit("ingest failed: " + "; ".join(failures[:3]))
    return elapsed


def copy_rows(batches: list[list[dict]]) -> float:
    """COPY the same rows (already in column form) into events_event; returns seconds."""
    now = datetime.now(UTC)
    buffer = io.StringIO()
    for batch in batches:
        for row in batch:
            value = row["value"] if row["value"] != "-" else None
            currency = row["currency"] if row["currency"] != "-" else ""
            fields = [
                row["event_name"],
                row["user_id"],
                row["session_id"],
                row["source"],
                row["campaign"] if row["campaign"] != "-" else "",
                row["page"],
                value,
                currency,
                row["ts"],
                now.isoformat(),
                row["event_id"],
                hashlib.sha256(row["event_id"].encode()).hexdigest()[:32],  # 128-bit digests, as stored
                hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()[:32],
                json.dumps(row["properties"]),
                "",
            ]
            buffer.write("\t".join(r"\N" if f is None else str(f) for f in fields) + "\n")
    data = buffer.getvalue()
    columns = (
        "event_name, user_id, session_id, source, campaign_code, page, value, currency, ts, received_at, "
        "event_id, dedupe_key, content_hash, properties, app_id"
    )
    with connect(DATABASE_URL) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY events_event ({columns}) FROM STDIN") as copy:
            copy.write(data)
        return time.perf_counter() - started


def main() -> None:
    total = BATCHES * BATCH_SIZE
    log(f"database {DATABASE_URL}; {BATCHES} batches of {BATCH_SIZE:,}; {CLIENTS} clients; {WORKERS} workers")
    prepare_database()
    batches = make_batches()
    bodies = [json.dumps(batch).encode() for batch in batches]

    truncate()
    copy_seconds = copy_rows(batches)
    baseline = total / copy_seconds
    log(f"COPY: {total:,} rows in {copy_seconds:.2f} s")

    truncate()
    key = create_key()
    process, port = start_server(DATABASE_URL, workers=WORKERS)
    try:
        # One warm-up batch per worker (imports, connection, prepared statements).
        post_all(port, key, [json.dumps(make_warm_up(worker)).encode() for worker in range(WORKERS)])
        # Where the CPU goes: the app's workers vs the database's backends, per 1,000 events.
        with connect(DATABASE_URL) as monitor:
            app, db = worker_pids(process), backend_pids(monitor)
            app_before, db_before = cpu_seconds(app), cpu_seconds(db)
            http_seconds = post_all(port, key, bodies)
            app_ms = (cpu_seconds(app) - app_before) * 1000 / BATCHES
            db_ms = (cpu_seconds(db) - db_before) * 1000 / BATCHES
    finally:
        stop_server(process)
    value = total / http_seconds
    log(f"HTTP: {total:,} events in {http_seconds:.2f} s")
    with connect(DATABASE_URL) as conn:
        stored = conn.execute("SELECT count(*) FROM events_event WHERE event_id LIKE 'bench-%'").fetchone()[0]
    if stored != total:
        raise SystemExit(f"expected {total:,} stored events, found {stored:,}")
    log(
        f"CPU per 1,000 events: app {app_ms:.1f} ms, PostgreSQL {db_ms:.1f} ms (COPY: {copy_seconds * 1000 / BATCHES:.1f} ms wall)"
    )
    print(
        f"bench ingest_batch_rate: value={value:.0f} baseline={baseline:.0f} ratio={value / baseline:.3f} "
        f"app_cpu_ms_per_1k={app_ms:.1f} db_cpu_ms_per_1k={db_ms:.1f}"
    )


def make_warm_up(worker: int) -> list[dict]:
    return [
        {
            "event_name": "page_view",
            "user_id": f"warm{i}",
            "ts": "2025-11-01T00:00:00Z",
            "event_id": f"warm-{worker}-{i}",
        }
        for i in range(BATCH_SIZE)
    ]


if __name__ == "__main__":
    main()
