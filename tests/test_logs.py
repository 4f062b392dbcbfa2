"""Signed WeChat query values never reach a log: gunicorn's access log (as scripts/serve.py,
the README's production command, starts it; run as a real server process) and Django's
request loggers. nginx's log format has no query string at all (scripts/serve.py)."""

import argparse
import importlib.util
import io
import logging
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.faults.services import ROOT, free_port, production_env, wait_for_port
from wxanalytics.logs import redact

SIGNED = "signature=5f1e9d0c&timestamp=1732762800&nonce=n0nce42&openid=oUser&msg_signature=9a8b7c6d&encrypt_type=aes"


def production_gunicorn_command(socket_dir: Path) -> list[str]:
    """gunicorn as scripts/serve.py (the README's production command) starts it."""
    spec = importlib.util.spec_from_file_location("serve", ROOT / "scripts" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    return serve.gunicorn_command(argparse.Namespace(workers=1, threads=2), socket_dir / "gunicorn.sock")


def test_redact_replaces_only_the_signed_values():
    assert redact(f"POST /wechat/wx1/?{SIGNED} HTTP/1.1") == (
        "POST /wechat/wx1/?signature=[redacted]&timestamp=1732762800&nonce=[redacted]&openid=oUser"
        "&msg_signature=[redacted]&encrypt_type=aes HTTP/1.1"
    )


@pytest.mark.slow
def test_a_signature_copied_from_the_access_log_is_not_there_to_copy(tmp_path: Path):
    # gunicorn as the production command runs it, on a TCP port, with its access log on.
    command = production_gunicorn_command(tmp_path)
    assert "--logger-class" in command
    port = free_port()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    access_log = tmp_path / "access.log"
    command += ["--access-logfile", str(access_log)]
    env = production_env("postgres://nobody@127.0.0.1:1/none")  # the 404 below needs no database
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)

        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/?{SIGNED}", timeout=10)
        except urllib.error.HTTPError as error:
            assert error.code == 404
        deadline = time.monotonic() + 10
        while "no-such-page" not in (access_log.read_text() if access_log.exists() else ""):
            assert time.monotonic() < deadline, "gunicorn wrote no access log line"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)

    logged = access_log.read_text()
    assert "/no-such-page/?signature=[redacted]&timestamp=1732762800&nonce=[redacted]" in logged
    for secret in ("5f1e9d0c", "n0nce42", "9a8b7c6d"):
        assert secret not in logged


def test_runserver_request_lines_are_redacted():
    handler = logging.getLogger("django.server").handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("django.server").info('"%s" %s %s', f"POST /wechat/wx1/?{SIGNED} HTTP/1.1", 200, 7)
    finally:
        handler.setStream(previous)

    assert "signature=[redacted]" in stream.getvalue()
    assert "5f1e9d0c" not in stream.getvalue()


def test_django_request_warnings_are_redacted_before_any_handler(caplog):
    logging.getLogger("django.request").warning("Forbidden: %s", f"/wechat/wx1/?{SIGNED}")

    assert "9a8b7c6d" not in caplog.text
    assert "msg_signature=[redacted]" in caplog.text
