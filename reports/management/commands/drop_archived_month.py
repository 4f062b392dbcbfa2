"""Remove an archived month's events from the database (detach and drop its partition)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.export.archive import ArchiveError, drop_archived_month
from wxanalytics.commands import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Drop a month's events (its partition on PostgreSQL) and dedupe keys, after export_archive wrote "
        "the month. An event of that month sent again is then accepted as new."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help=_("The month, YYYY-MM."))

    def handle(self, *args, month, **options):
        try:
            dropped = drop_archived_month(month)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        if dropped.partition:
            where = _("partition %(partition)s") % {"partition": dropped.partition}
        else:
            where = _("no partition")
        self.stdout.write(
            self.style.SUCCESS(
                _("Dropped %(month)s: %(events)d events (%(where)s), %(keys)d dedupe keys.")
                % {"month": month, "events": dropped.events, "where": where, "keys": dropped.keys}
            )
        )
