"""Archive one month to gzip CSV in the default storage (re-running replaces the files)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.export.archive import ArchiveError, archive_month
from wxanalytics.commands import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Write a month's events, ad spend and snapshots as gzip CSV files (archive/YYYY/YYYY-MM/).")

    def add_arguments(self, parser):
        parser.add_argument("month", help=_("The month, YYYY-MM."))

    def handle(self, *args, month, **options):
        try:
            archive = archive_month(month, progress=self.stdout.write)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(_("Archived %(month)s in %(ms)d ms.") % {"month": month, "ms": archive.duration_ms})
        )
