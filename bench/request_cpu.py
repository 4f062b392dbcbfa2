"""CPU per request of the hot paths, in one process, without a server or a client (issue 17).

Calls Django's WSGI handler directly with prepared environs (the request as gunicorn would
hand it over, behind serve.py's nginx) and reads this process's CPU time
(`time.process_time`, so the group committer's thread is counted) over N requests of each
kind, with production settings (DEBUG=0, as bench/web.py's server):

- `/healthz`: the cheapest Django view, the floor bench/web.py measures against;
- a single event: POST /api/v1/events, one event, a client key (new event id each time);
- a redirect: GET /r/<scene>, a phone's first scan (no cookie: a new visitor each time).

On a box shared with other work, CPU time per request is the robust figure (wall time is
not). The database's CPU is not counted here (bench/web.py reads it).

    python bench/request_cpu.py [N]          # prints bench request_cpu_<kind>_ms lines
    python bench/request_cpu.py N --profile       # adds function calls per request (cProfile)
    python bench/request_cpu.py N --profile-full  # and the top 40 functions of each hot path

Environment: BENCH_REQUEST_CPU_DATABASE_URL (default postgres://root@127.0.0.1:5432/wxa_bench_request_cpu).
"""

import cProfile
import io
import os
import pstats
import sys
import time

from harness import ROOT, connect, migrated_database, server_env, single_event_body

DATABASE_URL = os.environ.get("BENCH_REQUEST_CPU_DATABASE_URL", "postgres://root@127.0.0.1:5432/wxa_bench_request_cpu")


def environ(method: str, path: str, body: bytes = b"", **headers: str) -> dict:
    """A WSGI environ as gunicorn builds it behind serve.py's nginx (one proxy hop)."""
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.0",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_FORWARDED_FOR": "203.0.113.7",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    env.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    if "HTTP_CONTENT_TYPE" in env:
        env["CONTENT_TYPE"] = env.pop("HTTP_CONTENT_TYPE")
    return env


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    profile = "--profile" in sys.argv or "--profile-full" in sys.argv
    migrated_database(DATABASE_URL)
    os.environ.update(server_env(DATABASE_URL))
    os.environ["TRUSTED_PROXY_COUNT"] = "1"  # serve.py's nginx
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import django

    django.setup()
    from campaigns.demo import seed_definitions
    from events.models import IngestKey

    seed_definitions()
    _, raw_key = IngestKey.generate(name="bench-request-cpu", source="mini_program", kind=IngestKey.Kind.CLIENT)
    with connect(DATABASE_URL) as conn:
        scene = conn.execute(
            "SELECT scene FROM campaigns_placement WHERE scene <> '' AND target_url LIKE 'https://%%' ORDER BY id LIMIT 1"
        ).fetchone()[0]
    from wxanalytics.wsgi import application as handler  # as gunicorn loads it

    def healthz(i: int) -> dict:
        return environ("GET", "/healthz")

    def single_event(i: int) -> dict:
        body = single_event_body(f"cpu-{i % 100}", f"cpu-{time.time_ns()}-{i}")
        return environ(
            "POST", "/api/v1/events", body, authorization=f"Bearer {raw_key}", content_type="application/json"
        )

    def redirect(i: int) -> dict:
        return environ("GET", f"/r/{scene}")

    def call(env: dict) -> str:
        env["HTTP_X_REQUEST_START"] = f"t={time.time():.3f}"  # nginx's, when it handed the request on
        status = []
        body = handler(env, lambda s, headers, exc_info=None: status.append(s))
        b"".join(body)
        body.close()
        return status[0]

    for name, make, expected in (
        ("healthz", healthz, "204"),
        ("single_event", single_event, "200"),
        ("redirect", redirect, "302"),
    ):
        environs = [make(i) for i in range(n + 200)]
        for env in environs[:200]:  # warm: key, link, prepared statement, committer thread
            assert call(env).startswith(expected), (name, call(make(0)))
        # Ten slices: other work on a shared box only ever adds CPU time (caches, a shared
        # core), so the cheapest slice is the steadiest figure; the mean is printed too.
        slices, thread_slices = [], []
        wall = time.perf_counter()
        for part in range(10):
            started, thread = time.process_time(), time.thread_time()
            for env in environs[200 + part * n // 10 : 200 + (part + 1) * n // 10]:
                call(env)
            slices.append((time.process_time() - started) * 1000 / (n // 10))
            thread_slices.append((time.thread_time() - thread) * 1000 / (n // 10))
        wall_ms = (time.perf_counter() - wall) * 1000 / n
        print(
            f"bench request_cpu_{name}_ms: value={min(slices):.3f} mean={sum(slices) / 10:.3f} "
            f"request_thread_min={min(thread_slices):.3f} request_thread_mean={sum(thread_slices) / 10:.3f} "
            f"wall_ms={wall_ms:.3f} n={n}",
            flush=True,
        )
        if profile:
            # The request thread's CPU only: waiting for the group commit is not work.
            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
            for i in range(n):
                call(make(i))
            profiler.disable()
            stats = pstats.Stats(profiler, stream=io.StringIO())
            # Function calls are deterministic: the steadiest before/after figure on a busy box.
            print(
                f"bench request_calls_{name}: value={stats.total_calls / n:.0f} "
                f"profiled_thread_ms={stats.total_tt * 1000 / n:.3f}",
                flush=True,
            )
            if "--profile-full" in sys.argv:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(40)
                print(out.getvalue())
    with connect(DATABASE_URL) as conn:
        conn.execute("TRUNCATE events_event, events_eventkey, events_rejectedrow")
    from events.ingest.write import stop_group_commit

    stop_group_commit()


if __name__ == "__main__":
    main()
