"""Request-level figures of the production server set-up: single events and short-link redirects.

Runs `scripts/serve.py` (nginx in front of gunicorn's gthread workers, as the README
prescribes) with production settings (DEBUG=0) on an ephemeral port against a bench
database and measures, in the same run:

- single events: CLIENTS concurrent clients each posting ONE event per request to
  /api/v1/events (client key, validation, dedupe, group commit) for a fixed time, vs the
  same clients on /healthz (the server's cheapest Django view: 204, no database); the
  phases healthz → events → redirects run BENCH_WEB_ROUNDS times in turn and the medians
  are printed, with the spread of the ratios (one phase each gave ratios from 0.37 to 0.54
  on one quiet box, the same code);
- short-link redirects at saturation: the same clients sending GET /r/<scene> back to back,
  each a phone's first, cookie-less scan (a new visitor, so every one stores a `qr_scan`);
- redirect latency, paced open-loop (each request has a scheduled start and latency counts
  from it, so a stalled server cannot hide its queue): at 200 requests/s and at 70 % of the
  saturation rate just measured;
- the spike: SPIKE_SECONDS at the saturation rate against one placement, with phones'
  behaviour: every phone's first scan is cookie-less; one phone in ten scans again with the
  cookies it got (a reload or a second look: a duplicate, not stored again), and a phone whose
  scan failed (a 503 for a request that waited too long, wxanalytics.overload) tries once
  more. A phone that fails twice is counted, not fatal: at the saturation rate the queue may
  grow. Every scan stored must still be a phone that got its redirect, once;
- after the run: every single event answered 200 is stored exactly once, and the stored
  scans are exactly the phones that got their redirect.

Prints (lower is better for the latencies):

    bench single_event_rate: value=<events/s> baseline=<healthz req/s> ratio=<v/b> ...
    bench single_event_p99_ms: value=<ms> baseline=<healthz p99 ms> ratio=<v/b>
    bench shortlink_redirect_rate: value=<redirects/s> baseline=<healthz req/s> ratio=<v/b>
    bench shortlink_redirect_p50_ms: value=<ms> baseline=20 ratio=<v/20> rate=200
    bench shortlink_redirect_p99_ms: value=<ms> baseline=20 ratio=<v/20> rate=200
    bench shortlink_redirect_p99_ms_at_70pct: value=<ms> baseline=50 ratio=<v/50> rate=<70 % of saturation>
    bench spike_redirect_rate: value=<redirects/s> baseline=<rate asked> ratio=<v/b> seconds=60
    bench spike_redirect_p50_ms / spike_redirect_p99_ms: value=<ms> baseline=<the 200/s figure> ratio=<v/b>
    bench spike_scans_stored: value=<qr_scan rows> baseline=<phones redirected> ratio=<v/b> requests=<sent>
    bench single_events_stored: value=<rows> baseline=<200 answers> ratio=<v/b> duplicates=<n>

The load clients run on the same machine as the server (Python threads in a few processes),
so on a small box they take CPU from the server; both sides of each ratio pay the same cost.

Environment: BENCH_WEB_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_web),
BENCH_WORKERS (gunicorn workers, default 2 × cores + 1), BENCH_THREADS (threads per worker,
default 8), BENCH_SECONDS (per phase, default 10), BENCH_WEB_ROUNDS (default 3), BENCH_CLIENTS (default 32),
BENCH_REDIRECT_RATE (default 200), BENCH_SPIKE_SECONDS (default 60; 0 skips the spike).
"""

import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time

from harness import (
    PYTHON,
    ROOT,
    backend_pids,
    connect,
    cpu_seconds,
    migrated_database,
    proxy_pids,
    server_env,
    single_event_body,
    start_server,
    stop_server,
    worker_pids,
)

DATABASE_URL = os.environ.get("BENCH_WEB_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_web")
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_WEB_ROUNDS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
REDIRECT_RATE = float(os.environ.get("BENCH_REDIRECT_RATE", "200"))
SPIKE_SECONDS = float(os.environ.get("BENCH_SPIKE_SECONDS", "60"))
PROCESSES = 4  # client processes; client threads are spread over them
OPEN_LOOP_THREADS = 16  # per client process: enough in flight for a server that falls behind
RESCAN_EVERY = 10  # in the spike, one phone in ten scans again with its cookies
TARGET_REDIRECT_P99_MS = 20
TARGET_REDIRECT_P99_MS_AT_70PCT = 50


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
        # First touches too: every run's visitors are new people, and a table left to grow
        # from run to run would make runs incomparable.
        conn.execute("TRUNCATE events_event, events_eventkey, events_rejectedrow, events_firsttouch")
        row = conn.execute(
            "SELECT scene FROM campaigns_placement WHERE scene <> '' AND target_url LIKE 'https://%%' ORDER BY id LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("no placement with a scene and an https target after seed_definitions")
    return key, row[0]


def request(port: int, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, str]:
    """(status, the Cookie header a phone sends back: every cookie the answer set (the visitor
    and their repeat windows), or ""); status 0 when the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        cookies = response.msg.get_all("Set-Cookie") or []
        return response.status, "; ".join(cookie.split(";", 1)[0] for cookie in cookies)
    except OSError:
        return 0, ""
    finally:
        conn.close()


def closed_loop_worker(args: tuple) -> tuple[list[float], int, int]:
    """One client process: `threads` clients each sending back to back until the deadline.
    Returns (latencies in s, requests that got the expected status, other answers)."""
    port, kind, key, scene, threads, deadline, process_index = args
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
            elif kind == "redirect":  # a phone's first scan: no cookie, so a new visitor
                method, path, body, headers, expected = "GET", f"/r/{scene}", None, {}, 302
            else:
                body = single_event_body(
                    f"bench-{process_index}-{thread_index}",
                    f"single-{process_index}-{thread_index}-{n}-{time.time_ns()}",
                )
                headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                method, path, expected = "POST", "/api/v1/events", 200
            started = time.perf_counter()
            status, _ = request(port, method, path, body, headers)
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


def closed_loop(port: int, kind: str, key: str, scene: str, seconds: float = SECONDS) -> tuple[float, float, int, int]:
    """(successful requests/s, p99 latency ms, failed requests, successful requests) of
    CLIENTS clients for `seconds`."""
    per_process = [CLIENTS // PROCESSES + (1 if i < CLIENTS % PROCESSES else 0) for i in range(PROCESSES)]
    started = time.time()
    deadline = started + seconds
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(
            closed_loop_worker, [(port, kind, key, scene, n, deadline, i) for i, n in enumerate(per_process)]
        )
    elapsed = time.time() - started
    latencies = sorted(x for r in results for x in r[0])
    ok = sum(r[1] for r in results)
    failed = sum(r[2] for r in results)
    return ok / elapsed, percentile(latencies, 99) * 1000, failed, ok


def open_loop_worker(args: tuple) -> tuple[list[float], int, int, int]:
    """One client process of a paced run: phone i scans at start + i / rate; this process
    takes every PROCESSES-th phone. Latency counts from when the scan was due. With
    `rescan`, every RESCAN_EVERY-th phone scans again with the cookies it got; a phone whose
    scan failed tries once more, cookie-less (it never got one).
    Returns (latencies, phones redirected, failed answers, requests sent)."""
    port, path, start, rate, total, process_index, rescan = args
    due = list(range(process_index, total, PROCESSES))
    latencies: list[float] = []
    counts = {"redirected": 0, "failed": 0, "sent": 0}
    lock = threading.Lock()

    def scan(scheduled: float, headers: dict) -> tuple[int, str]:
        status, cookie = request(port, "GET", path, None, headers)
        took = time.time() - scheduled
        with lock:
            latencies.append(took)
            counts["sent"] += 1
        return status, cookie

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
            status, cookie = scan(scheduled, {})
            if status != 302 and rescan:
                status, cookie = scan(time.time(), {})
            if status != 302:
                with lock:
                    counts["failed"] += 1
                continue
            with lock:
                counts["redirected"] += 1
            if rescan and i % RESCAN_EVERY == 0:
                again, _ = scan(time.time(), {"Cookie": cookie})
                if again != 302:
                    with lock:
                        counts["failed"] += 1

    pool = [threading.Thread(target=client) for _ in range(OPEN_LOOP_THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, counts["redirected"], counts["failed"], counts["sent"]


def open_loop(port: int, path: str, rate: float, seconds: float, *, rescan: bool = False) -> dict:
    total = int(rate * seconds)
    start = time.time() + 0.5
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(open_loop_worker, [(port, path, start, rate, total, i, rescan) for i in range(PROCESSES)])
    elapsed = time.time() - start
    latencies = sorted(x for r in results for x in r[0])
    return {
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "redirected": sum(r[1] for r in results),
        "failed": sum(r[2] for r in results),
        "sent": sum(r[3] for r in results),
        "rate": sum(r[1] for r in results) / elapsed,
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if p < 100 else values[-1]


def count(conn, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def main() -> None:
    log(
        f"database {DATABASE_URL}; scripts/serve.py with {WORKERS} workers × {THREADS} threads; "
        f"{CLIENTS} clients; {SECONDS:.0f} s per phase, spike {SPIKE_SECONDS:.0f} s"
    )
    key, scene = prepare()
    process, port = start_server(DATABASE_URL, workers=WORKERS, threads=THREADS)
    events_answered = 0
    scans_answered = 0
    failures: dict[str, int] = {}
    spike = None
    try:
        for _ in range(20):  # warm every worker (imports, DB connection)
            request(port, "GET", "/healthz", None, {})
        _, _, failures["warm-up events"], ok = closed_loop(port, "event", key, scene, 3)  # not counted
        events_answered += ok
        _, _, failures["warm-up redirects"], ok = closed_loop(port, "redirect", key, scene, 3)
        scans_answered += ok
        with connect(DATABASE_URL) as monitor:
            # Statistics as autovacuum would keep them (it may be off on a development box,
            # and a plan made for an empty table costs the database several times more).
            monitor.execute("ANALYZE events_event, events_eventkey, events_firsttouch, events_identity")
            app, proxy = worker_pids(process), proxy_pids(process)
            rounds = []
            for number in range(1, ROUNDS + 1):
                # healthz, events and redirects in turn, ROUNDS times: a disturbance on a shared
                # box then spoils one round's ratios, not the run's (the median is printed).
                used, proxy_used = cpu_seconds(app), cpu_seconds(proxy)
                base_rate, base_p99, failed, base_sent = closed_loop(port, "healthz", key, scene)
                failures["healthz"] = failures.get("healthz", 0) + failed
                base_app_ms = (cpu_seconds(app) - used) * 1000 / base_sent
                base_proxy_ms = (cpu_seconds(proxy) - proxy_used) * 1000 / base_sent
                used, db_used = cpu_seconds(app), cpu_seconds(backend_pids(monitor))
                rate, p99, failed, sent = closed_loop(port, "event", key, scene)
                failures["events"] = failures.get("events", 0) + failed
                events_answered += sent
                app_ms = (cpu_seconds(app) - used) * 1000 / sent
                db = backend_pids(monitor)  # the committers' connections
                db_ms = (cpu_seconds(db) - db_used) * 1000 / sent
                used = cpu_seconds(app)
                redirect_rate, redirect_closed_p99, failed, ok = closed_loop(port, "redirect", key, scene)
                failures["redirects at saturation"] = failures.get("redirects at saturation", 0) + failed
                scans_answered += ok
                redirect_app_ms = (cpu_seconds(app) - used) * 1000 / ok
                rounds.append(
                    {
                        "healthz": base_rate,
                        "healthz_p99": base_p99,
                        "healthz_app_ms": base_app_ms,
                        "healthz_nginx_ms": base_proxy_ms,
                        "events": rate,
                        "events_p99": p99,
                        "events_ratio": rate / base_rate,
                        "app_ms": app_ms,
                        "db_ms": db_ms,
                        "redirects": redirect_rate,
                        "redirects_p99": redirect_closed_p99,
                        "redirects_ratio": redirect_rate / base_rate,
                        "redirect_app_ms": redirect_app_ms,
                    }
                )
                log(
                    f"round {number}/{ROUNDS}: healthz {base_rate:.0f} req/s (app {base_app_ms:.3f} ms, nginx "
                    f"{base_proxy_ms:.3f} ms); single events {rate:.0f}/s = {rate / base_rate:.3f} (app "
                    f"{app_ms:.3f} ms, PostgreSQL {db_ms:.3f} ms, p99 {p99:.1f} ms); redirects "
                    f"{redirect_rate:.0f}/s = {redirect_rate / base_rate:.3f} (app {redirect_app_ms:.3f} ms, "
                    f"p99 {redirect_closed_p99:.1f} ms)"
                )
        median = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
        spread = {
            name: f"{min(r[name] for r in rounds):.3f}-{max(r[name] for r in rounds):.3f}"
            for name in ("events_ratio", "redirects_ratio")
        }
        redirect_rate = median["redirects"]
        paced = open_loop(port, f"/r/{scene}", REDIRECT_RATE, SECONDS)
        failures["redirects at 200/s"] = paced["failed"]
        scans_answered += paced["redirected"]
        log(f"redirect at {REDIRECT_RATE:.0f}/s: p50 {paced['p50']:.1f} ms, p99 {paced['p99']:.1f} ms")
        rate_70 = 0.7 * redirect_rate
        at_70 = open_loop(port, f"/r/{scene}", rate_70, SECONDS)
        failures["redirects at 70 %"] = at_70["failed"]
        scans_answered += at_70["redirected"]
        log(f"redirect at {rate_70:.0f}/s (70 %): p50 {at_70['p50']:.1f} ms, p99 {at_70['p99']:.1f} ms")
        with connect(DATABASE_URL) as conn:
            scans_before = count(conn, "SELECT count(*) FROM events_event WHERE event_name = 'qr_scan'")
        if SPIKE_SECONDS > 0:
            spike = open_loop(port, f"/r/{scene}", redirect_rate, SPIKE_SECONDS, rescan=True)
            log(
                f"spike: {spike['sent']} requests at {redirect_rate:.0f}/s asked, {spike['rate']:.0f}/s redirected, "
                f"p50 {spike['p50']:.1f} ms, p99 {spike['p99']:.1f} ms"
            )
    finally:
        stop_server(process)  # every answered request has committed: the counts below are final
    with connect(DATABASE_URL) as conn:
        events_stored = count(conn, "SELECT count(*) FROM events_event WHERE event_id LIKE 'single-%%'")
        events_distinct = count(
            conn, "SELECT count(DISTINCT event_id) FROM events_event WHERE event_id LIKE 'single-%%'"
        )
        scans_stored = count(conn, "SELECT count(*) FROM events_event WHERE event_name = 'qr_scan'")
        visitors = count(conn, "SELECT count(DISTINCT user_id) FROM events_event WHERE event_name = 'qr_scan'")
    log(f"failed answers by phase: {failures}")

    # Medians over the rounds; each ratio is the median of the rounds' own ratios.
    print(
        f"bench single_event_rate: value={median['events']:.0f} baseline={median['healthz']:.0f} "
        f"ratio={median['events_ratio']:.3f} rounds={ROUNDS} spread={spread['events_ratio']} "
        f"p99_ms={median['events_p99']:.1f} clients={CLIENTS} workers={WORKERS} threads={THREADS} "
        f"app_cpu_ms={median['app_ms']:.3f} db_cpu_ms={median['db_ms']:.3f} "
        f"healthz_app_cpu_ms={median['healthz_app_ms']:.3f} healthz_nginx_cpu_ms={median['healthz_nginx_ms']:.3f}",
        flush=True,
    )
    print(
        f"bench single_event_p99_ms: value={median['events_p99']:.1f} baseline={median['healthz_p99']:.1f} "
        f"ratio={median['events_p99'] / median['healthz_p99']:.2f}",
        flush=True,
    )
    print(
        f"bench shortlink_redirect_rate: value={median['redirects']:.0f} baseline={median['healthz']:.0f} "
        f"ratio={median['redirects_ratio']:.3f} rounds={ROUNDS} spread={spread['redirects_ratio']} "
        f"p99_ms={median['redirects_p99']:.1f} app_cpu_ms={median['redirect_app_ms']:.3f}",
        flush=True,
    )
    target = TARGET_REDIRECT_P99_MS
    for name, value in (("p50", paced["p50"]), ("p99", paced["p99"])):
        print(
            f"bench shortlink_redirect_{name}_ms: value={value:.1f} baseline={target} ratio={value / target:.2f} "
            f"rate={REDIRECT_RATE:.0f}",
            flush=True,
        )
    target = TARGET_REDIRECT_P99_MS_AT_70PCT
    print(
        f"bench shortlink_redirect_p99_ms_at_70pct: value={at_70['p99']:.1f} baseline={target} "
        f"ratio={at_70['p99'] / target:.2f} rate={rate_70:.0f} p50_ms={at_70['p50']:.1f}",
        flush=True,
    )
    if spike is not None:
        spike_scans = scans_stored - scans_before
        print(
            f"bench spike_redirect_rate: value={spike['rate']:.0f} baseline={redirect_rate:.0f} "
            f"ratio={spike['rate'] / redirect_rate:.3f} seconds={SPIKE_SECONDS:.0f}",
            flush=True,
        )
        for name in ("p50", "p99"):
            print(
                f"bench spike_redirect_{name}_ms: value={spike[name]:.1f} baseline={paced[name]:.1f} "
                f"ratio={spike[name] / paced[name]:.2f} (baseline: the same at {REDIRECT_RATE:.0f}/s)",
                flush=True,
            )
        print(
            f"bench spike_scans_stored: value={spike_scans} baseline={spike['redirected']} "
            f"ratio={spike_scans / max(1, spike['redirected']):.4f} requests={spike['sent']} "
            f"rescans={spike['sent'] - spike['redirected'] - spike['failed']} failed={spike['failed']}",
            flush=True,
        )
        scans_answered += spike["redirected"]
    print(
        f"bench single_events_stored: value={events_stored} baseline={events_answered} "
        f"ratio={events_stored / max(1, events_answered):.4f} duplicates={events_stored - events_distinct}",
        flush=True,
    )
    print(
        f"bench scans_stored: value={scans_stored} baseline={scans_answered} "
        f"ratio={scans_stored / max(1, scans_answered):.4f} visitors={visitors}",
        flush=True,
    )
    if any(failures.values()):
        raise SystemExit(f"non-success answers: {failures}")
    if events_stored != events_answered or events_stored != events_distinct or scans_stored != scans_answered:
        raise SystemExit("stored events or scans differ from the answered requests (see the *_stored lines)")


if __name__ == "__main__":
    main()
