"""Archive one month to gzip CSV in the default storage (re-running replaces the files)."""

from django.core.management.base import BaseCommand, CommandError

from reports.export.archive import ArchiveError, archive_month


class Command(BaseCommand):
    help = "Write a month's events, ad spend and snapshots as gzip CSV files (archive/YYYY/YYYY-MM/)."

    def add_arguments(self, parser):
        parser.add_argument("month", help="The month, YYYY-MM.")

    def handle(self, *args, month, **options):
        try:
            archive = archive_month(month, progress=self.stdout.write)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Archived {month} in {archive.duration_ms} ms."))
