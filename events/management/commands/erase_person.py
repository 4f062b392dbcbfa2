"""`manage.py erase_person ID --requested-by NAME [--note TEXT] [--yes]`: erase everything
that mentions the person behind ID; docs/privacy.md."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.identity import IdentityError
from events.privacy.erase import erase_person
from events.privacy.lookup import find_person
from wxanalytics.commands import TranslatedCommand
from wxanalytics.localize import localize_error

# What the operator types to confirm: a fixed word in every language, so a script that
# pipes it in does not depend on LANGUAGE_CODE.
CONFIRMATION = "erase"


class Command(TranslatedCommand):
    help = gettext_lazy("Erase a person's events, dedupe keys, identity links and rejected rows (one transaction).")

    def add_arguments(self, parser):
        parser.add_argument("id", help=_("Any id of the person: openid, unionid, alias or user_id."))
        parser.add_argument("--requested-by", required=True, help=_("Who asked (kept in the erasure record)."))
        parser.add_argument("--note", default="", help=_("Ticket reference; never the person's ids or name."))
        parser.add_argument("--yes", action="store_true", help=_("Do not ask for confirmation."))

    def handle(self, *args, **options):
        try:
            person = find_person(options["id"])
        except IdentityError as exc:
            raise CommandError(localize_error(str(exc))) from None
        if not options["yes"]:
            question = _("Erase the person with %(ids)d id(s) and everything that mentions them? Type '%(word)s': ") % {
                "ids": len(person.ids),
                "word": CONFIRMATION,
            }
            if input(question).strip() != CONFIRMATION:
                raise CommandError(_("Not erased."))
        record = erase_person(options["id"], requested_by_name=options["requested_by"], note=options["note"])
        self.stdout.write(
            _(
                "Erasure %(pk)s: %(events)d events, %(identities)d identity links, %(rejected_rows)d rejected rows, "
                "%(unionid_lookups)d unionid look-ups removed; %(event_keys)d dedupe keys kept as erased; "
                "%(stale_snapshots)d snapshots marked stale."
            )
            % {
                "pk": record.pk,
                "events": record.events,
                "identities": record.identities,
                "rejected_rows": record.rejected_rows,
                "unionid_lookups": record.unionid_lookups,
                "event_keys": record.event_keys,
                "stale_snapshots": record.stale_snapshots,
            }
        )
