"""Headless Chromium for the browser tests (marker `browser`): one set of arguments, one
way to skip when Debian's chromium is missing, one logged-in proxy, and `Browser` to drive a
whole visit (forms, clicks, downloads, screenshots) through the DevTools protocol over a pipe
(`--remote-debugging-pipe`: JSON messages separated by NUL on file descriptors 3 and 4)."""

import base64
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# `make test` gives its SQLite run, which runs alongside the PostgreSQL one, a folder of its
# own (TEST_ARTIFACTS_DIR), so neither overwrites the other's screenshots.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or Path(__file__).resolve().parents[1] / "artifacts")

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


class Browser:
    def __init__(self, profile: Path, *, width: int = 1280, height: int = 1600):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def child_fds():
            # Chromium reads commands from fd 3 and writes answers to fd 4.
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                *_ARGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            # 3 and 4 are listed so that closing the rest, which happens after preexec_fn, keeps them.
            pass_fds=(to_child_r, from_child_w, 3, 4),
            preexec_fn=child_fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        self.send("Page.enable", session=True)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        os.close(self._to_child)
        os.close(self._from_child)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, *, session: bool = False, timeout: float = 30, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for_event(self, method: str, *, timeout: float = 30, where=lambda params: True) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and where(event.get("params", {})):
                    del self.events[: index + 1]
                    return event["params"]
            self.events.append(self._read_message(deadline))

    def goto(self, url: str) -> str:
        """Open `url`, wait for its load event, return the address the page ended on."""
        self.events.clear()
        self.send("Page.navigate", session=True, url=url)
        self.wait_for_event("Page.loadEventFired")
        return self.evaluate("location.href")

    def evaluate(self, expression: str, *, await_promise: bool = False):
        result = self.send(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=await_promise
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def submit(self, fields: dict[str, str], form: str = "form") -> str:
        """Fill the form's fields by id, submit it like a click, return the page it led to."""
        self.events.clear()
        assignments = "".join(
            f"document.getElementById({json.dumps(i)}).value = {json.dumps(v)};" for i, v in fields.items()
        )
        self.evaluate(f"{assignments} document.querySelector({json.dumps(form)}).requestSubmit();")
        self.wait_for_event("Page.loadEventFired")
        return self.evaluate("location.href")

    def text(self) -> str:
        return self.evaluate("document.body.innerText")

    def html(self) -> str:
        return self.evaluate("document.documentElement.outerHTML")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def download(self, link_selector: str, folder: Path, *, timeout: float = 30) -> Path:
        """Click a download link and wait until Chromium has written the file into `folder`."""
        self.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(folder), eventsEnabled=True)
        self.events.clear()
        self.evaluate(f"document.querySelector({json.dumps(link_selector)}).click()")
        begin = self.wait_for_event("Browser.downloadWillBegin", timeout=timeout)
        self.wait_for_event(
            "Browser.downloadProgress",
            timeout=timeout,
            where=lambda p: p.get("guid") == begin["guid"] and p.get("state") == "completed",
        )
        return folder / begin["suggestedFilename"]
