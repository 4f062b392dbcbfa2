"""`manage.py run_demo`: the demo as it runs in production — web server, Celery worker and beat.

Without CELERY_BROKER_URL the worker and beat talk through Kombu's filesystem transport (a
folder, no Redis), so the periodic tasks in *Admin › Periodic tasks* really fire. Ctrl-C (or
SIGTERM) stops all three. `make run` calls it; production runs gunicorn, worker and beat
separately on Redis (README).
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import qrcodes
from wxanalytics.commands import TranslatedCommand
from wxanalytics.processes import Supervisor

QUEUES = "ingest,reports,default"


def lan_address() -> str:
    """This machine's address on its local network (what a phone on the same Wi-Fi reaches), or
    "" when there is none. Connecting a UDP socket sends nothing; it only picks the route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return ""
    return "" if address.startswith("127.") else address


def public_base_url(host: str, port: int, given: str = "") -> str:
    """What QR codes and links use: `given` when set, else this server's own address and port
    (its LAN address when it listens on all interfaces), so `make run PORT=8001` makes codes for 8001."""
    if given:
        return given.rstrip("/")
    shown = (lan_address() or "127.0.0.1") if host in {"0.0.0.0", "::"} else host  # noqa: S104
    return f"http://{shown}:{port}"


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Run the demo: web server, Celery worker and beat (filesystem broker, no Redis needed). Ctrl-C stops all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to listen on (0.0.0.0: all)."))
        parser.add_argument("--port", type=int, default=8000, help=_("Port to listen on."))
        parser.add_argument(
            "--public-base-url",
            default="",
            help=_("Address QR codes and links use; default http://<host>:<port> (the LAN address for 0.0.0.0)."),
        )
        parser.add_argument("--no-web", action="store_true", help=_("Worker and beat only."))

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        env = os.environ.copy()
        public = public_base_url(host, port, options["public_base_url"] or env.get("PUBLIC_BASE_URL", ""))
        public_host = urlsplit(public).hostname or ""
        env["PUBLIC_BASE_URL"] = public.rstrip("/")
        if "ALLOWED_HOSTS" not in env and settings.DEBUG:
            env["ALLOWED_HOSTS"] = ",".join(dict.fromkeys(["127.0.0.1", "localhost", public_host]))
        broker = env.get("CELERY_BROKER_URL", "")
        if not broker:
            folder = Path(env.get("CELERY_BROKER_FOLDER") or settings.BASE_DIR / "var" / "celery-broker")
            folder.mkdir(parents=True, exist_ok=True)
            env["CELERY_BROKER_URL"] = "filesystem://"
            env["CELERY_BROKER_FOLDER"] = str(folder)
            broker_note = _("a filesystem broker in %(folder)s (no Redis needed)") % {"folder": folder}
        else:
            broker_note = broker.split("@")[-1]
        celery = [sys.executable, "-m", "celery", "-A", "wxanalytics"]
        commands = {
            # One process each: the demo shares its machine; production scales workers (README).
            "worker": [*celery, "worker", "-Q", QUEUES, "--pool", "solo", "--loglevel", "INFO"],
            "beat": [*celery, "beat", "--loglevel", "INFO", "--pidfile", ""],
        }
        if not options["no_web"]:
            commands["web"] = [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
        self._banner(host, port, env["PUBLIC_BASE_URL"], broker_note)
        supervisor = Supervisor()
        children = {
            name: subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)  # noqa: S603 (our own commands)
            for name, command in commands.items()
        }
        try:
            if exited := supervisor.watch(children, poll=0.5):
                raise CommandError(_("Stopped: %(names)s exited.") % {"names": ", ".join(exited)})
        finally:
            supervisor.stop([(child, signal.SIGTERM) for child in children.values()], grace=15)
            self.stdout.write(_("wxanalytics demo stopped (web server, worker and beat)."))

    def _banner(self, host: str, port: int, public: str, broker_note: str) -> None:
        write = self.stdout.write
        write("")
        write(
            _("  wxanalytics is running:  http://127.0.0.1:%(port)d/admin/   (dashboard: /dashboard/)") % {"port": port}
        )
        write(_("  login: demo / demo-password"))
        write(_("  QR codes and links point to: %(url)s") % {"url": public})
        write(
            _(
                "  Celery worker and beat run next to it on %(broker)s: the periodic tasks in Admin › Periodic tasks fire"
            )
            % {"broker": broker_note}
        )
        write(_("  on schedule (e.g. marking stale snapshots every 15 minutes). Ctrl-C stops all of it."))
        with self.settings_public(public):
            warning = qrcodes.loopback_warning()
        if warning:
            lan = lan_address()
            write("")
            write(self.style.WARNING("  " + warning))
            if lan:
                write(
                    self.style.WARNING(
                        _("  This machine's LAN address is %(lan)s: make run HOST=0.0.0.0 PORT=%(port)d")
                        % {"lan": lan, "port": port}
                        + _(" (QR codes then use http://%(lan)s:%(port)d)") % {"lan": lan, "port": port}
                    )
                )
        write("")

    @staticmethod
    def settings_public(public: str):
        from django.test.utils import override_settings

        return override_settings(PUBLIC_BASE_URL=public)
