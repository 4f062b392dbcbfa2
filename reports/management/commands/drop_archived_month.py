"""Remove an archived month's events from the database (detach and drop its partition)."""

from django.core.management.base import BaseCommand, CommandError

from reports.export.archive import ArchiveError, drop_archived_month


class Command(BaseCommand):
    help = (
        "Drop a month's events (its partition on PostgreSQL) and dedupe keys, after export_archive wrote "
        "the month. An event of that month sent again is then accepted as new."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="The month, YYYY-MM.")

    def handle(self, *args, month, **options):
        try:
            dropped = drop_archived_month(month)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        where = f"partition {dropped.partition}" if dropped.partition else "no partition"
        self.stdout.write(
            self.style.SUCCESS(f"Dropped {month}: {dropped.events} events ({where}), {dropped.keys} dedupe keys.")
        )
