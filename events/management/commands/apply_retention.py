"""`manage.py apply_retention [--months N]`: pseudonymise events older than the retention
period now (the monthly task does the same); docs/privacy.md."""

from django.core.management.base import BaseCommand, CommandError

from events.privacy.retention import apply_retention


class Command(BaseCommand):
    help = "Pseudonymise user_id/session_id of events older than PRIVACY_RETENTION_MONTHS."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, help="Override PRIVACY_RETENTION_MONTHS for this run.")

    def handle(self, *args, **options):
        if options["months"] is not None and options["months"] < 1:
            raise CommandError("--months must be at least 1.")
        result = apply_retention(months=options["months"])
        if result.cutoff is None:
            self.stdout.write("Retention is off (PRIVACY_RETENTION_MONTHS=0); nothing changed.")
            return
        self.stdout.write(
            f"Before {result.cutoff:%Y-%m-%d %H:%M %Z}: {result.events} events of {result.people} ids "
            f"pseudonymised, {result.rejected_rows} rejected rows deleted."
        )
