"""Signed WeChat query values never reach a log: gunicorn's access log (the README's
command, run as a real server process) and Django's request loggers."""

import io
import logging
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.faults.services import PYTHON, ROOT, free_port, production_env, wait_for_port
from wxanalytics.logs import redact

SIGNED = "signature=5f1e9d0c&timestamp=1732762800&nonce=n0nce42&openid=oUser&msg_signature=9a8b7c6d&encrypt_type=aes"


def readme_gunicorn_command() -> list[str]:
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("gunicorn wxanalytics.wsgi"):
            return shlex.split(line)
    raise AssertionError("README.md has no `gunicorn wxanalytics.wsgi …` command")


def test_redact_replaces_only_the_signed_values():
    assert redact(f"POST /wechat/wx1/?{SIGNED} HTTP/1.1") == (
        "POST /wechat/wx1/?signature=[redacted]&timestamp=1732762800&nonce=[redacted]&openid=oUser"
        "&msg_signature=[redacted]&encrypt_type=aes HTTP/1.1"
    )


@pytest.mark.slow
def test_a_signature_copied_from_the_access_log_is_not_there_to_copy(tmp_path: Path):
    # The README's production command, on a free port, with its access log in a file.
    command = readme_gunicorn_command()
    assert "--logger-class" in command
    if "-b" in command:
        position = command.index("-b")
        del command[position : position + 2]
    port = free_port()
    access_log = tmp_path / "access.log"
    command = [PYTHON, "-m", *command[:1], *command[1:], "-w", "1", "-b", f"127.0.0.1:{port}"]
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
