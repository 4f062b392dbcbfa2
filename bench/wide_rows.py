"""What a hostile 5 MB body costs the server, against a normal 5 MB batch in the same run.

Runs scripts/serve.py (nginx + one gunicorn gthread worker) with production settings against a
bench database and posts,
one at a time, ROUNDS bodies of each kind; CPU is read from /proc for the worker and the
database backends (what the request really costs the machine, whatever else runs on it):

- baseline: a normal 5 MB batch, 1,000 events each carrying ~4.9 KB of properties;
- wide_row: one event with 380,000 extra keys (issue 13: this cost 10-15x the baseline); now
  refused with 413 by counting commas before parsing, and kept as one rejected body;
- wide_properties: the same keys inside `properties` (same answer);
- wide_row_under_cap: one event with 99,000 keys, just under the comma limit, so it is parsed
  and then refused by the 100-fields-per-row cap (200, the row rejected and kept): the most
  a single body can make the server do.

Prints:

    bench wide_row_cpu_ms: value=<ms per request> baseline=<normal 5 MB batch ms> ratio=<v/b> (goal ≤ 2)
    bench wide_properties_cpu_ms: value=… baseline=… ratio=…
    bench wide_row_under_cap_cpu_ms: value=… baseline=… ratio=…

Environment: BENCH_WIDE_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_wide),
BENCH_ROUNDS (default 5).
"""

import http.client
import json
import os
import subprocess
import sys
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
    start_server,
    stop_server,
    worker_pids,
)

DATABASE_URL = os.environ.get("BENCH_WIDE_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_wide")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MAX_BYTES = 5 * 1024 * 1024
WIDE_KEYS = 380_000


def log(message: str) -> None:
    print(f"[bench wide_rows] {message}", file=sys.stderr, flush=True)


def prepare() -> str:
    migrated_database(DATABASE_URL)
    run = {"cwd": ROOT, "env": server_env(DATABASE_URL), "check": True, "capture_output": True, "text": True}
    with connect(DATABASE_URL) as conn:
        conn.execute("TRUNCATE events_event, events_eventkey, events_rejectedrow")
    return subprocess.run(
        [PYTHON, "manage.py", "create_ingest_key", "bench-wide", "--kind", "server"], **run
    ).stdout.strip()


def event(n: int, **extra) -> dict:
    return {"event_name": "page_view", "user_id": f"wide-{n}", "ts": datetime.now(UTC).isoformat(), **extra}


def normal_body(round_index: int) -> bytes:
    padding = "x" * 4_900
    batch = [event(n, event_id=f"r{round_index}-{n}", properties={"note": padding}) for n in range(1_000)]
    return json.dumps(batch).encode()


def wide_keys(count: int = WIDE_KEYS) -> dict[str, int]:
    """Short keys (base 36) with small numbers: 380,000 make about 4.9 MB of JSON."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"

    def name(i: int) -> str:
        text = ""
        while True:
            i, rest = divmod(i, 36)
            text = digits[rest] + text
            if not i:
                return "k" + text

    return {name(i): i % 10_000 for i in range(count)}


def wide_row_body(round_index: int) -> bytes:
    return json.dumps(event(round_index, **wide_keys()), separators=(",", ":")).encode()


def under_cap_body(round_index: int) -> bytes:
    return json.dumps(event(round_index, **wide_keys(99_000)), separators=(",", ":")).encode()


def wide_properties_body(round_index: int) -> bytes:
    return json.dumps(event(round_index, properties=wide_keys()), separators=(",", ":")).encode()


def post(port: int, key: str, body: bytes) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/api/v1/events",
            body=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    if response.status not in {200, 413}:
        raise SystemExit(f"unexpected {response.status}: {answer[:200]!r}")
    return response.status, json.loads(answer)


def cpu_ms_per_request(process, port: int, key: str, bodies: list[bytes], check) -> tuple[float, float]:
    """(CPU ms per request of the worker plus the database backends, wall ms per request)."""
    with connect(DATABASE_URL) as monitor:
        pids = worker_pids(process) + backend_pids(monitor)
        before = cpu_seconds(pids)
        started = time.perf_counter()
        for body in bodies:
            check(*post(port, key, body))
        wall = time.perf_counter() - started
        pids = worker_pids(process) + backend_pids(monitor)
        used = cpu_seconds(pids) - before
    return used * 1000 / len(bodies), wall * 1000 / len(bodies)


def main() -> None:
    key = prepare()
    kinds = {
        "baseline": [normal_body(r) for r in range(ROUNDS)],
        "wide_row": [wide_row_body(r) for r in range(ROUNDS)],
        "wide_properties": [wide_properties_body(r) for r in range(ROUNDS)],
        "wide_row_under_cap": [under_cap_body(r) for r in range(ROUNDS)],
    }
    for name, bodies in kinds.items():
        sizes = {len(body) for body in bodies}
        if max(sizes) > MAX_BYTES:
            raise SystemExit(f"{name} body is {max(sizes):,} bytes, over the 5 MB limit")
        log(f"{name}: {len(bodies)} bodies of {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB")

    def accepted_all(status: int, answer: dict) -> None:
        if status != 200 or answer["accepted"] != 1_000:
            raise SystemExit(f"normal batch not accepted: {status} {str(answer)[:200]}")

    def refused(status: int, answer: dict) -> None:
        if status != 413:
            raise SystemExit(f"wide body not refused with 413: {status} {str(answer)[:200]}")

    def row_rejected(status: int, answer: dict) -> None:
        if status != 200 or answer["accepted"] != 0 or len(answer["rejected"]) != 1:
            raise SystemExit(f"wide row not rejected: {status} {str(answer)[:200]}")

    process, port = start_server(DATABASE_URL, workers=1)
    try:
        post(port, key, json.dumps(event(0, event_id="warm-up")).encode())  # imports, connection
        results = {
            "baseline": cpu_ms_per_request(process, port, key, kinds["baseline"], accepted_all),
            "wide_row": cpu_ms_per_request(process, port, key, kinds["wide_row"], refused),
            "wide_properties": cpu_ms_per_request(process, port, key, kinds["wide_properties"], refused),
            "wide_row_under_cap": cpu_ms_per_request(process, port, key, kinds["wide_row_under_cap"], row_rejected),
        }
    finally:
        stop_server(process)
    baseline_cpu, baseline_wall = results["baseline"]
    log(f"normal 5 MB batch: {baseline_cpu:.0f} ms CPU, {baseline_wall:.0f} ms wall per request")
    for name in ("wide_row", "wide_properties", "wide_row_under_cap"):
        cpu, wall = results[name]
        log(f"{name}: {cpu:.0f} ms CPU, {wall:.0f} ms wall per request")
        print(
            f"bench {name}_cpu_ms: value={cpu:.0f} baseline={baseline_cpu:.0f} ratio={cpu / baseline_cpu:.2f} "
            f"wall_ms={wall:.0f} baseline_wall_ms={baseline_wall:.0f} (lower is better; goal ratio <= 2)"
        )


if __name__ == "__main__":
    main()
