"""`manage.py erase_person ID --requested-by NAME [--note TEXT] [--yes]`: erase everything
that mentions the person behind ID; docs/privacy.md."""

from django.core.management.base import BaseCommand, CommandError

from events.identity import IdentityError
from events.privacy.erase import erase_person
from events.privacy.lookup import find_person


class Command(BaseCommand):
    help = "Erase a person's events, dedupe keys, identity links and rejected rows (one transaction)."

    def add_arguments(self, parser):
        parser.add_argument("id", help="Any id of the person: openid, unionid, alias or user_id.")
        parser.add_argument("--requested-by", required=True, help="Who asked (kept in the erasure record).")
        parser.add_argument("--note", default="", help="Ticket reference; never the person's ids or name.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, **options):
        try:
            person = find_person(options["id"])
        except IdentityError as exc:
            raise CommandError(str(exc)) from None
        if not options["yes"]:
            answer = input(f"Erase the {person} and everything that mentions them? Type 'erase': ")
            if answer.strip() != "erase":
                raise CommandError("Not erased.")
        record = erase_person(options["id"], requested_by_name=options["requested_by"], note=options["note"])
        self.stdout.write(
            f"Erasure {record.pk}: {record.events} events, {record.identities} identity links, "
            f"{record.rejected_rows} rejected rows, {record.unionid_lookups} unionid look-ups removed; "
            f"{record.event_keys} dedupe keys kept as erased; {record.stale_snapshots} snapshots marked stale."
        )
