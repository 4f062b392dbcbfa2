"""What the HTTP benchmarks share: the app as the README serves it in production
(scripts/serve.py: nginx in front of gunicorn's gthread workers) with production settings,
and a psycopg connection to the bench database."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def single_event_body(user_id: str, event_id: str) -> bytes:
    """The JSON body of one page_view from a Mini Program: what the single-event benches send."""
    event = {
        "event_name": "page_view",
        "user_id": user_id,
        "source": "mini_program",
        "page": "pages/index",
        "ts": datetime.now(UTC).isoformat(),
        "event_id": event_id,
    }
    return json.dumps(event).encode()


def server_env(database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")}
    return {
        **clean,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        # One key and one address send everything in a benchmark; the limits would answer 429.
        "INGEST_RATE_LIMIT_PER_MINUTE": "0",
        "INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE": "0",
        "INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE": "0",
        "SHORT_LINK_RATE_LIMIT_PER_MINUTE": "0",
        "PYTHONWARNINGS": "ignore::UserWarning",  # whitenoise: no collected static files
        "DJANGO_SETTINGS_MODULE": "wxanalytics.settings",
    }


def connect(database_url: str, dbname: str | None = None) -> psycopg.Connection:
    cfg = dj_database_url.parse(database_url)
    return psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"],
        password=cfg["PASSWORD"] or None,
        dbname=dbname or cfg["NAME"],
        autocommit=True,
    )


def migrated_database(database_url: str, *, env: dict[str, str] | None = None, template: str | None = None) -> None:
    """Create the bench database when missing (as a copy of `template` if given), then migrate it."""
    name = dj_database_url.parse(database_url)["NAME"]
    with connect(database_url, "postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env or server_env(database_url),
        check=True,
        capture_output=True,
        text=True,
    )


def start_server(database_url: str, *, workers: int, threads: int = 8, **env: str) -> tuple[subprocess.Popen, int]:
    """`scripts/serve.py` on a free port, as the README's production command; returns once
    /healthz answers. Stop it with `stop_server` (SIGTERM stops nginx and gunicorn)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [PYTHON, "scripts/serve.py", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads)],
        cwd=ROOT,
        env={**server_env(database_url), **env},
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 204:
                conn.close()
                return process, port
            conn.close()
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise SystemExit(f"scripts/serve.py did not answer /healthz on port {port}")
        time.sleep(0.2)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except OSError:
        return []


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_pids(process: subprocess.Popen) -> list[int]:
    """The gunicorn workers under scripts/serve.py (children of its gunicorn master), from /proc."""
    masters = [pid for pid in _children(process.pid) if "gunicorn" in _command(pid)]
    return [worker for master in masters for worker in _children(master)]


def proxy_pids(process: subprocess.Popen) -> list[int]:
    """nginx's master and workers under scripts/serve.py."""
    masters = [pid for pid in _children(process.pid) if "nginx" in _command(pid)]
    return masters + [worker for master in masters for worker in _children(master)]


def backend_pids(conn: psycopg.Connection) -> list[int]:
    """PostgreSQL backends serving this database, other than `conn` itself."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    ).fetchall()
    return [pid for (pid,) in rows]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (0 for any that ended)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick
