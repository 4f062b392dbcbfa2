"""Headless Chromium for the browser tests (marker `browser`): one set of arguments, one
way to skip when Debian's chromium is missing, one logged-in proxy."""

import http.server
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# No sandbox (containers), no GPU, and nothing that reaches the network by itself.
_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def skip_without_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser test skipped")


def chromium(
    url: str, *, profile: Path, screenshot: Path | None = None, window: str = "1280,2000", budget_ms: int | None = None
) -> str:
    """Load `url`; return the DOM after scripts ran, or save a PNG to `screenshot`.
    `budget_ms`: virtual time given to the page's scripts before the DOM is read."""
    args = [CHROMIUM, *_ARGS, f"--user-data-dir={profile}", f"--window-size={window}"]
    if budget_ms is not None:
        args.append(f"--virtual-time-budget={budget_ms}")
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    result = subprocess.run([*args, url], capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def http_server(answer: Callable[[str], tuple[int, dict[str, str], bytes]]) -> http.server.ThreadingHTTPServer:
    """A GET-only server on 127.0.0.1 (an ephemeral port) in a daemon thread: `answer(path)`
    gives the status, headers and body. Shut it down when done."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body = answer(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def logged_in_proxy(target: str, session_cookie: str) -> http.server.ThreadingHTTPServer:
    """A reverse proxy that adds the session cookie to every request, so headless Chromium
    (which has no flag to set a cookie) sees the pages logged in."""

    def answer(path: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(target + path, headers={"Cookie": f"sessionid={session_cookie}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as upstream:
                status, headers, body = upstream.status, upstream.headers, upstream.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        passed = {"Content-Type": headers.get("Content-Type", "text/html")}
        if headers.get("Content-Security-Policy"):  # so the browser enforces our CSP as in production
            passed["Content-Security-Policy"] = headers["Content-Security-Policy"]
        return status, passed, body

    return http_server(answer)
