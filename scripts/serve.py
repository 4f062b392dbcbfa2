"""The production web server: nginx in front of gunicorn (gthread workers), one command.

    python scripts/serve.py --bind 0.0.0.0:8000 --workers 4 --threads 8

Why two programs: gunicorn's threads read a request's headers and body themselves, so a
client that sends one byte every two seconds holds a thread (or a whole sync worker) for as
long as it likes; fifty such clients stalled the whole site, /healthz included (issue 13).
nginx reads every request completely — headers and body, chunked bodies too — before
passing it on over a Unix socket, and writes answers out to slow readers itself, so a
gunicorn thread only ever runs Django. Threads (not more processes) leave room for work
shared within a process, such as grouping commits.

nginx comes from the distribution (`apt-get install nginx`); its configuration is written
into the run directory on every start, from the arguments below. The command stops both
programs on SIGTERM or Ctrl-C, and stops the other when either exits. Arguments:

    --bind HOST:PORT        where nginx listens (default 127.0.0.1:8000)
    --workers N             gunicorn processes (default: 2 × cores + 1)
    --threads N             threads per gunicorn process (default 8)
    --run-dir PATH          socket, pid and nginx temp files (default: a new temporary directory)
    --max-body-mb N         largest request body nginx accepts (default 32; the event API
                            itself stops at 5 MB)

The app's settings come from the environment as always. TRUSTED_PROXY_COUNT counts the
proxies in front of this command; the command adds one for its own nginx.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wxanalytics.processes import Supervisor  # noqa: E402 (after the project is on the path)

NGINX_CONF = """\
worker_processes {nginx_workers};
pid {run}/nginx.pid;
error_log stderr warn;
daemon off;

events {{
    worker_connections 4096;
}}

http {{
    # No query strings in the log: WeChat's push signatures travel in them.
    log_format app '$remote_addr [$time_iso8601] "$request_method $uri" $status $body_bytes_sent $request_time';
    access_log {access_log};

    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;

    # A request reaches gunicorn only once it is complete; these bound how long a client may
    # take between two reads (body) or for all its headers.
    client_header_timeout 20s;
    client_body_timeout 20s;
    send_timeout 30s;
    keepalive_timeout 30s;
    client_max_body_size {max_body_mb}m;
    client_body_buffer_size 1m;
    server_tokens off;

    upstream app {{
        server unix:{run}/gunicorn.sock fail_timeout=0;
        keepalive 32;
    }}

    server {{
        listen {bind} backlog=4096;

        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # When nginx had the whole request: the app refuses one that waited too long
            # for a worker (wxanalytics.overload). Overwrites any value a client sent.
            proxy_set_header X-Request-Start "t=${{msec}}";
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_read_timeout 60s;
            proxy_redirect off;
        }}
    }}
}}
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="nginx in front of gunicorn (gthread workers).")
    parser.add_argument("--bind", default="127.0.0.1:8000")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--run-dir", default="")
    parser.add_argument("--max-body-mb", type=int, default=32)
    parser.add_argument("--access-log", default="off", help="a file for nginx's access log (default: off)")
    return parser.parse_args(argv)


def gunicorn_command(args: argparse.Namespace, socket_path: Path) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "wxanalytics.wsgi",
        "--bind", f"unix:{socket_path}",
        "--worker-class", "gthread",
        "--workers", str(args.workers),
        "--threads", str(args.threads),
        # A request stuck longer than this in Django restarts its worker; nginx already
        # holds back slow clients, so only the app's own work counts here.
        "--timeout", "60",
        "--graceful-timeout", "20",
        "--keep-alive", "30",
        "--control-socket", str(socket_path.with_name("gunicorn.ctl")),
        # Should gunicorn's access log be turned on, WeChat's signed query values are redacted.
        "--logger-class", "wxanalytics.logs.GunicornLogger",
    ]  # fmt: skip


def wait_for_socket(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise SystemExit(f"serve: gunicorn exited with status {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise SystemExit(f"serve: gunicorn did not create {path} within {timeout:.0f} s")
        time.sleep(0.1)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        print("serve: nginx is not installed (apt-get install nginx)", file=sys.stderr)
        return 2
    run = Path(args.run_dir) if args.run_dir else Path(tempfile.mkdtemp(prefix="wxanalytics-serve-"))
    run.mkdir(parents=True, exist_ok=True)
    run.chmod(0o755)  # nginx's worker processes (user nobody when started as root) reach the socket
    socket_path = run / "gunicorn.sock"
    socket_path.unlink(missing_ok=True)
    conf = run / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            run=run,
            bind=args.bind,
            max_body_mb=args.max_body_mb,
            nginx_workers=max(1, min(4, os.cpu_count() or 1)),
            access_log=f"{args.access_log} app" if args.access_log != "off" else "off",
        )
    )

    env = dict(os.environ)
    env["TRUSTED_PROXY_COUNT"] = str(int(env.get("TRUSTED_PROXY_COUNT") or 0) + 1)
    supervisor = Supervisor()

    app = subprocess.Popen(gunicorn_command(args, socket_path), cwd=ROOT, env=env)
    front = None
    status = 0
    try:
        wait_for_socket(socket_path, app)
        front = subprocess.Popen([nginx, "-p", str(run), "-c", str(conf), "-e", "stderr"], cwd=run)
        print(f"serve: nginx on http://{args.bind} → gunicorn {args.workers}×{args.threads} threads", file=sys.stderr)
        if supervisor.watch({"gunicorn": app, "nginx": front}, poll=0.2):
            print("serve: a server process exited; stopping the other", file=sys.stderr)
            status = 1
    finally:
        # nginx: finish the requests in flight, then exit; gunicorn: graceful stop.
        supervisor.stop([(front, signal.SIGQUIT), (app, signal.SIGTERM)], grace=30)
        if not args.run_dir:
            shutil.rmtree(run, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
