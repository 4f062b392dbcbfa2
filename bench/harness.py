"""What the HTTP benchmarks share: the app under gunicorn with production settings, and a
psycopg connection to the bench database."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


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


def start_gunicorn(database_url: str, *, workers: int, backlog: int = 128) -> tuple[subprocess.Popen, int]:
    """gunicorn on an already-listening socket of a free port: requests queue until a worker
    accepts them, so the first request doubles as the readiness check."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "wxanalytics.wsgi", "--bind", f"fd://{fd}", "--workers", str(workers),
         "--backlog", str(backlog), "--log-level", "warning"],
        cwd=ROOT,
        env=server_env(database_url),
        pass_fds=[fd],
    )  # fmt: skip
    listener.close()
    return process, port


def worker_pids(process: subprocess.Popen) -> list[int]:
    """The gunicorn workers (children of the master), from /proc (Linux)."""
    path = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


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
