"""Request-level figures of the real server stack: single events and short-link redirects.

Runs gunicorn with production settings (DEBUG=0, sync workers) on an ephemeral port against
a bench database and measures, in the same run:

- single events: 32 concurrent clients each posting ONE event per request to
  /api/v1/events (key auth, validation, dedupe, insert) for a fixed time, vs the same
  clients on /healthz (the server's cheapest Django view: 204, no database);
- short-link redirects: GET /r/<scene> paced open-loop at 200 requests/s (each request has
  a scheduled start; latency counts from that start, so a stalled server cannot hide its
  queue), p50 and p99.

Prints:

    bench single_event_rate: value=<events/s> baseline=<healthz req/s> ratio=<v/b> p99_ms=<ms> clients=32
    bench single_event_p99_ms: value=<ms> baseline=<healthz p99 ms> ratio=<v/b> (lower is better)
    bench shortlink_redirect_p50_ms: value=<ms> baseline=20 ratio=<v/20> rate=200 (lower is better)
    bench shortlink_redirect_p99_ms: value=<ms> baseline=20 ratio=<v/20> rate=200 (lower is better)

The load clients run on the same machine as the server (Python threads in a few processes),
so on a small box they take CPU from gunicorn; both sides of each ratio pay the same cost.

Environment: BENCH_WEB_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_web),
BENCH_WORKERS (gunicorn workers, default 2 × cores + 1), BENCH_SECONDS (per phase, default 10),
BENCH_CLIENTS (default 32), BENCH_REDIRECT_RATE (default 200).
"""

import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

from harness import (
    PYTHON,
    ROOT,
    backend_pids,
    connect,
    cpu_seconds,
    migrated_database,
    server_env,
    start_gunicorn,
    worker_pids,
)

DATABASE_URL = os.environ.get("BENCH_WEB_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_web")
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
REDIRECT_RATE = float(os.environ.get("BENCH_REDIRECT_RATE", "200"))
PROCESSES = 4  # client processes; CLIENTS threads are spread over them
TARGET_REDIRECT_P99_MS = 20


def log(message: str) -> None:
    print(f"[bench web] {message}", file=sys.stderr, flush=True)


def prepare() -> tuple[str, str]:
    """Create and migrate the database, seed the demo campaigns; (ingest key, a scene code)."""
    migrated_database(DATABASE_URL)
    run = {"cwd": ROOT, "env": server_env(DATABASE_URL), "check": True, "capture_output": True, "text": True}
    subprocess.run(
        [
            PYTHON,
            "-c",
            "import django; django.setup(); from campaigns.demo import seed_definitions; seed_definitions()",
        ],
        **run,
    )
    # A Mini Program's key is a client key: single events pay its row checks (events.ingest.trust).
    create = [PYTHON, "manage.py", "create_ingest_key", "mini_program", "--name", "bench-web", "--kind", "client"]
    key = subprocess.run(create, **run).stdout.strip()
    with connect(DATABASE_URL) as conn:
        conn.execute("TRUNCATE events_event, events_eventkey, events_rejectedrow")
        row = conn.execute(
            "SELECT scene FROM campaigns_placement WHERE scene <> '' AND target_url LIKE 'https://%%' ORDER BY id LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("no placement with a scene and an https target after seed_definitions")
    return key, row[0]


def request(port: int, method: str, path: str, body: bytes | None, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def closed_loop_worker(args: tuple) -> tuple[list[float], int, int]:
    """One client process: `threads` clients each sending back to back until the deadline.
    Returns (latencies in s, requests that got the expected status, other answers)."""
    port, kind, key, threads, deadline, process_index = args
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(thread_index: int) -> None:
        n = 0
        mine: list[float] = []
        bad = 0
        while time.time() < deadline:
            if kind == "healthz":
                method, path, body, headers, expected = "GET", "/healthz", None, {}, 204
            else:
                event = {
                    "event_name": "page_view",
                    "user_id": f"bench-{process_index}-{thread_index}",
                    "source": "mini_program",
                    "page": "pages/index",
                    "ts": datetime.now(UTC).isoformat(),
                    "event_id": f"single-{process_index}-{thread_index}-{n}-{time.time_ns()}",
                }
                body = json.dumps(event).encode()
                headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                method, path, expected = "POST", "/api/v1/events", 200
            started = time.perf_counter()
            status = request(port, method, path, body, headers)
            mine.append(time.perf_counter() - started)
            bad += status != expected
            n += 1
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    pool = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, len(latencies) - failures[0], failures[0]


def closed_loop(port: int, kind: str, key: str) -> tuple[float, float, int, int]:
    """(successful requests/s, p99 latency ms, failed requests, requests sent) of CLIENTS
    clients for SECONDS."""
    per_process = [CLIENTS // PROCESSES + (1 if i < CLIENTS % PROCESSES else 0) for i in range(PROCESSES)]
    started = time.time()
    deadline = started + SECONDS
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(closed_loop_worker, [(port, kind, key, n, deadline, i) for i, n in enumerate(per_process)])
    elapsed = time.time() - started
    latencies = sorted(x for r in results for x in r[0])
    ok = sum(r[1] for r in results)
    failed = sum(r[2] for r in results)
    return ok / elapsed, percentile(latencies, 99) * 1000, failed, len(latencies)


def open_loop_worker(args: tuple) -> tuple[list[float], int]:
    """One client process of the paced run: request i is due at start + i / rate; this
    process takes every PROCESSES-th request. Latency counts from when it was due."""
    port, path, start, rate, total, process_index, threads = args
    due = list(range(process_index, total, PROCESSES))
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not due:
                    return
                i = due.pop(0)
            scheduled = start + i / rate
            wait = scheduled - time.time()
            if wait > 0:
                time.sleep(wait)
            status = request(port, "GET", path, None, {})
            took = time.time() - scheduled
            with lock:
                latencies.append(took)
                failures[0] += status != 302

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, failures[0]


def open_loop(port: int, path: str) -> tuple[float, float, int]:
    total = int(REDIRECT_RATE * SECONDS)
    start = time.time() + 0.5
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(
            open_loop_worker, [(port, path, start, REDIRECT_RATE, total, i, 8) for i in range(PROCESSES)]
        )
    latencies = sorted(x for r in results for x in r[0])
    return percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000, sum(r[1] for r in results)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if p < 100 else values[-1]


def main() -> None:
    log(f"database {DATABASE_URL}; {WORKERS} gunicorn workers; {CLIENTS} clients; {SECONDS:.0f} s per phase")
    key, scene = prepare()
    process, port = start_gunicorn(DATABASE_URL, workers=WORKERS, backlog=1024)
    try:
        for _ in range(20):  # warm every worker (imports, DB connection)
            request(port, "GET", "/healthz", None, {})
        closed_loop(port, "event", key)  # warm-up of the event path, not counted
        with connect(DATABASE_URL) as monitor:
            app, db = worker_pids(process), backend_pids(monitor)
            used = cpu_seconds(app)
            base_rate, base_p99, base_failed, base_sent = closed_loop(port, "healthz", key)
            base_app_ms = (cpu_seconds(app) - used) * 1000 / base_sent
            used, db_used = cpu_seconds(app), cpu_seconds(db)
            rate, p99, failed, sent = closed_loop(port, "event", key)
            app_ms = (cpu_seconds(app) - used) * 1000 / sent
            db_ms = (cpu_seconds(db) - db_used) * 1000 / sent
        log(
            f"healthz: {base_rate:.0f} req/s, p99 {base_p99:.1f} ms, {base_failed} failed; app CPU {base_app_ms:.3f} ms/req"
        )
        log(
            f"single events: {rate:.0f} events/s, p99 {p99:.1f} ms, {failed} failed; "
            f"CPU per event: app {app_ms:.3f} ms, PostgreSQL {db_ms:.3f} ms"
        )
        p50_r, p99_r, failed_r = open_loop(port, f"/r/{scene}")
        log(f"redirect /r/{scene} at {REDIRECT_RATE:.0f}/s: p50 {p50_r:.1f} ms, p99 {p99_r:.1f} ms, {failed_r} failed")
    finally:
        process.terminate()
        process.wait(timeout=30)
    if failed or base_failed or failed_r:
        raise SystemExit(f"non-success answers: healthz {base_failed}, events {failed}, redirects {failed_r}")
    print(
        f"bench single_event_rate: value={rate:.0f} baseline={base_rate:.0f} ratio={rate / base_rate:.3f} "
        f"p99_ms={p99:.1f} clients={CLIENTS} workers={WORKERS} app_cpu_ms={app_ms:.3f} db_cpu_ms={db_ms:.3f} "
        f"healthz_app_cpu_ms={base_app_ms:.3f}",
        flush=True,
    )
    print(f"bench single_event_p99_ms: value={p99:.1f} baseline={base_p99:.1f} ratio={p99 / base_p99:.2f}", flush=True)
    target = TARGET_REDIRECT_P99_MS
    print(
        f"bench shortlink_redirect_p50_ms: value={p50_r:.1f} baseline={target} ratio={p50_r / target:.2f} "
        f"rate={REDIRECT_RATE:.0f}",
        flush=True,
    )
    print(
        f"bench shortlink_redirect_p99_ms: value={p99_r:.1f} baseline={target} ratio={p99_r / target:.2f} "
        f"rate={REDIRECT_RATE:.0f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
