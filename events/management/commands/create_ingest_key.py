from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from events.models import IngestKey
from wxanalytics.text import snake_case


class Command(BaseCommand):
    help = "Create an ingest key for POST /api/v1/events and print it (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("source", help="The sender this key speaks for, e.g. mini_program, server, crm.")
        parser.add_argument("--name", help="A label shown in admin (default: the source).")
        parser.add_argument(
            "--kind",
            choices=IngestKey.Kind.values,
            default=IngestKey.Kind.CLIENT,
            help="client (default): ships inside a Mini Program or web page, cannot send payments or merge people; "
            "server: secret, for your own servers.",
        )
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            dest="origins",
            metavar="ORIGIN",
            help="A web page origin allowed to use this client key (https://shop.example.com); repeat for more. "
            "Browsers on other origins are refused and CORS is answered for these.",
        )

    def handle(self, *args, source: str, name: str | None, kind: str, origins: list[str], **options):
        source = snake_case(source)
        if not source or len(source) > 64:
            raise CommandError("SOURCE must be 1–64 letters, digits or '_' (e.g. mini_program).")
        try:
            key, raw_key = IngestKey.generate(name=name or source, source=source, kind=kind, origins=origins)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        allowed = f", allowed from {', '.join(sorted(key.origins))}" if key.origins else ""
        self.stderr.write(
            f"Created {kind} ingest key {key.prefix}… for source {source!r}{allowed}; it is not shown again."
        )
        self.stdout.write(raw_key)
