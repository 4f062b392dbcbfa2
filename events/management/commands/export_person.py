"""`manage.py export_person ID [--output FILE]`: one JSON document with everything that
mentions the person behind ID (openid, unionid, alias or user_id); docs/privacy.md."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.identity import IdentityError
from events.privacy.export import export_document
from events.privacy.lookup import find_person
from wxanalytics.commands import TranslatedCommand
from wxanalytics.localize import localize_error


class Command(TranslatedCommand):
    help = gettext_lazy("Export a person's events, identity links and rejected rows as one JSON document.")

    def add_arguments(self, parser):
        parser.add_argument("id", help=_("Any id of the person: openid, unionid, alias or user_id."))
        parser.add_argument("--output", "-o", help=_("Write to this file instead of standard output."))

    def handle(self, *args, **options):
        try:
            person = find_person(options["id"])
        except IdentityError as exc:
            raise CommandError(localize_error(str(exc))) from None
        if not options["output"]:
            # The document is data: its keys and values are the same in every language.
            for chunk in export_document(person):
                self.stdout.write(chunk, ending="")
            return
        with open(options["output"], "w", encoding="utf-8") as output:
            for chunk in export_document(person):
                output.write(chunk)
        self.stderr.write(
            _("Exported the person with %(ids)d id(s) to %(path)s.")
            % {"ids": len(person.ids), "path": options["output"]}
        )
