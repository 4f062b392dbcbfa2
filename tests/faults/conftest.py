"""Fixtures for fault tests: each starts real services of its own (see services.py)."""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.faults.services import (
    PYTHON,
    ROOT,
    Server,
    ThrowawayPostgres,
    ThrowawayRedis,
    free_port,
    pg_bin,
    run_as_postgres,
    wait_for_port,
)


@pytest.fixture
def throwaway_postgres():
    base = Path(tempfile.mkdtemp(prefix="wxa-pg-"))
    data_dir = base / "data"
    data_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(data_dir, "postgres")
    run_as_postgres([pg_bin("initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    cluster = ThrowawayPostgres(data_dir=data_dir, port=free_port(), log=data_dir / "server.log")
    cluster.start()
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-c", "CREATE DATABASE wxa_fault"],
        check=True,
        capture_output=True,
    )
    yield cluster
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def gunicorn_server():
    """Start the app under gunicorn with the given environment; stopped after the test."""
    started: list[subprocess.Popen] = []

    def start(env: dict[str, str], workers: int = 2, threads: int = 0) -> Server:
        """Sync workers, or gthread workers (as scripts/serve.py runs them) with `threads`."""
        port = free_port()
        threaded = ["--worker-class", "gthread", "--threads", str(threads)] if threads else []
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "wxanalytics.wsgi",
                "-w",
                str(workers),
                *threaded,
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        wait_for_port(port)
        return Server(base_url=f"http://127.0.0.1:{port}", process=process)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def throwaway_redis():
    """Start a Redis of the test's own: `throwaway_redis(persistent=True)`."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    servers: list[tuple[ThrowawayRedis, Path]] = []

    def start(*, persistent: bool) -> ThrowawayRedis:
        base = Path(tempfile.mkdtemp(prefix="wxa-redis-"))
        server = ThrowawayRedis(data_dir=base, port=free_port(), persistent=persistent)
        server.start()
        servers.append((server, base))
        return server

    yield start
    for server, base in servers:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
