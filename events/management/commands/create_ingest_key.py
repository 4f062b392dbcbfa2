from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.models import IngestKey
from wxanalytics.commands import TranslatedCommand
from wxanalytics.localize import localize_error
from wxanalytics.text import snake_case


class Command(TranslatedCommand):
    help = gettext_lazy("Create an ingest key for POST /api/v1/events and print it (shown only this once).")

    def add_arguments(self, parser):
        parser.add_argument("source", help=_("The sender this key speaks for, e.g. mini_program, server, crm."))
        parser.add_argument("--name", help=_("A label shown in admin (default: the source)."))
        parser.add_argument(
            "--kind",
            choices=IngestKey.Kind.values,
            default=IngestKey.Kind.CLIENT,
            help=_(
                "client (default): ships inside a Mini Program or web page, cannot send payments or merge people; "
                "server: secret, for your own servers."
            ),
        )
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            dest="origins",
            metavar="ORIGIN",
            help=_(
                "A web page origin allowed to use this client key (https://shop.example.com); repeat for more. "
                "Browsers on other origins are refused and CORS is answered for these."
            ),
        )

    def handle(self, *args, source: str, name: str | None, kind: str, origins: list[str], **options):
        source = snake_case(source)
        if not source or len(source) > 64:
            raise CommandError(_("SOURCE must be 1–64 letters, digits or '_' (e.g. mini_program)."))
        try:
            key, raw_key = IngestKey.generate(name=name or source, source=source, kind=kind, origins=origins)
        except ValidationError as exc:
            raise CommandError(" ".join(localize_error(message) for message in exc.messages)) from None
        values = {"kind": kind, "prefix": key.prefix, "source": repr(source), "origins": ", ".join(sorted(key.origins))}
        if key.origins:
            note = _(
                "Created %(kind)s ingest key %(prefix)s… for source %(source)s, allowed from %(origins)s; "
                "it is not shown again."
            )
        else:
            note = _("Created %(kind)s ingest key %(prefix)s… for source %(source)s; it is not shown again.")
        # The note goes to stderr in the operator's language; stdout is the raw key alone,
        # for scripts that capture it.
        self.stderr.write(note % values)
        self.stdout.write(raw_key)
