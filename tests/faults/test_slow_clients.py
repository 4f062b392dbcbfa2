"""Slow clients against the README's production command (scripts/serve.py: nginx in front of
gunicorn gthread workers), run as real processes on localhost (issue 13).

Fifty anonymous clients each send a request body one byte every two seconds while normal
clients use /healthz, the event API and the admin login page; the normal clients must keep
getting their answers, p99 under one second. Everything is bounded: the slow clients stop
after SLOW_SECONDS, the normal clients after NORMAL_SECONDS, and the server is stopped
with SIGTERM at the end.

Chunked bodies are checked against the same server and against bare gunicorn: read in
full, never taken as empty.
"""

import http.client
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

from events.models import Event, IngestKey

from .services import PYTHON, ROOT, free_port, manage, production_env, wait_for_port, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SLOW_CLIENTS = 50
SLOW_SECONDS = 14.0
NORMAL_SECONDS = 8.0
NORMAL_THREADS = 3


def database_url() -> str:
    cfg = connection.settings_dict
    return f"postgres://{cfg['USER']}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


@pytest.fixture
def served(transactional_db, tmp_path):
    """The README's command on a free port with production settings; stopped after the test."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    env = production_env(database_url(), LOG_LEVEL="WARNING", INGEST_RATE_LIMIT_PER_MINUTE="0")
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    port = free_port()
    log = tmp_path / "serve.log"
    # No --run-dir: pytest's tmp_path is private to root, and nginx's workers (user nobody)
    # must reach the gunicorn socket; the command makes its own directory under /tmp.
    process = subprocess.Popen(
        [PYTHON, "scripts/serve.py", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "8"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )  # fmt: skip
    try:
        wait_for_port(port)
        wait_until(lambda: _answers_healthz(port), 30, "the server to answer /healthz")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
    assert process.returncode == 0, log.read_text()[-2000:]


def _answers_healthz(port: int) -> bool:
    try:
        return request(port, "GET", "/healthz")[0] == 204
    except OSError:
        return False


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def slow_client(port: int, path: str, stop: threading.Event, sent: list[int], index: int) -> None:
    """Announces a 1,000-byte body and sends one byte of it every two seconds, counting the
    bytes in `sent[index]`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n".encode()
        )
        while not stop.wait(2.0):
            try:
                sock.sendall(b" ")
            except OSError:
                return
            sent[index] += 1


def event_body(n: int) -> bytes:
    return json.dumps(
        {"event_name": "page_view", "user_id": f"normal-{n}", "ts": datetime.now(UTC).isoformat(), "event_id": f"n-{n}"}
    ).encode()


def test_fifty_clients_sending_a_byte_every_two_seconds_do_not_stall_healthz_the_event_api_or_the_admin(served):
    port = served
    _, raw_key = IngestKey.generate(name="Slow-client test", source="mini_program", kind="server")
    stop = threading.Event()
    trickled = [0] * SLOW_CLIENTS
    slow = [
        threading.Thread(
            target=slow_client, args=(port, "/api/v1/events" if i % 2 else "/admin/login/", stop, trickled, i)
        )
        for i in range(SLOW_CLIENTS)
    ]
    for thread in slow:
        thread.start()
    wait_until(lambda: all(trickled), 30, "every slow client to start trickling")

    latencies: dict[str, list[float]] = {"healthz": [], "event": [], "admin": []}
    unexpected: list[tuple[str, int]] = []
    deadline = time.monotonic() + NORMAL_SECONDS
    lock = threading.Lock()

    def normal_client(index: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            for name, method, path, body, headers, expected in (
                ("healthz", "GET", "/healthz", None, {}, 204),
                ("event", "POST", "/api/v1/events", event_body(index * 100_000 + n),
                 {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}, 200),
                ("admin", "GET", "/admin/login/", None, {}, 200),
            ):  # fmt: skip
                started = time.perf_counter()
                try:
                    status, _ = request(port, method, path, body, headers)
                except OSError:  # a timeout: the server stalled
                    status = 0
                elapsed = time.perf_counter() - started
                with lock:
                    latencies[name].append(elapsed)
                    if status != expected:
                        unexpected.append((name, status))

    normal = [threading.Thread(target=normal_client, args=(i,)) for i in range(NORMAL_THREADS)]
    for thread in normal:
        thread.start()
    for thread in normal:
        thread.join(timeout=NORMAL_SECONDS + 30)
    stop.set()
    for thread in slow:
        thread.join(timeout=10)

    assert not unexpected, unexpected[:10]
    assert min(trickled) >= 2  # every slow client really was sending all along
    for name, values in latencies.items():
        assert len(values) >= 20, (name, len(values))
        values.sort()
        p99 = values[int(len(values) * 0.99) - 1] if len(values) >= 100 else values[-1]
        assert p99 < 1.0, f"{name}: p99 {p99 * 1000:.0f} ms over {len(values)} requests"
    assert Event.objects.filter(user_id__startswith="normal-").count() == len(latencies["event"])


def chunked_post(port: int, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", path)
        for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        for start in range(0, len(body), 50):
            piece = body[start : start + 50]
            conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_chunked_event_batch_through_the_production_command_is_read_in_full(served):
    _, raw_key = IngestKey.generate(name="Chunked test", source="mini_program", kind="server")
    body = json.dumps([json.loads(event_body(n)) for n in range(5)]).encode()

    status, answer = chunked_post(
        served, "/api/v1/events", body, {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
    )

    assert status == 200, answer
    assert json.loads(answer)["accepted"] == 5


def test_a_chunked_event_batch_sent_to_bare_gunicorn_is_read_in_full(transactional_db, gunicorn_server):
    server = gunicorn_server(production_env(database_url(), INGEST_RATE_LIMIT_PER_MINUTE="0"), workers=1)
    port = int(server.base_url.rsplit(":", 1)[1])
    wait_for_port(port)
    _, raw_key = IngestKey.generate(name="Chunked test", source="mini_program", kind="server")
    body = json.dumps([json.loads(event_body(n)) for n in range(5)]).encode()

    status, answer = chunked_post(
        port, "/api/v1/events", body, {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
    )

    assert status == 200, answer
    assert json.loads(answer)["accepted"] == 5
    assert Event.objects.count() == 5
