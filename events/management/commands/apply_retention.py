"""`manage.py apply_retention [--months N]`: pseudonymise events older than the retention
period now (the monthly task does the same); docs/privacy.md."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.privacy.retention import apply_retention
from wxanalytics.commands import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Pseudonymise user_id/session_id of events older than PRIVACY_RETENTION_MONTHS.")

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, help=_("Override PRIVACY_RETENTION_MONTHS for this run."))

    def handle(self, *args, **options):
        if options["months"] is not None and options["months"] < 1:
            raise CommandError(_("--months must be at least 1."))
        result = apply_retention(months=options["months"])
        if result.cutoff is None:
            self.stdout.write(_("Retention is off (PRIVACY_RETENTION_MONTHS=0); nothing changed."))
            return
        self.stdout.write(
            _(
                "Before %(cutoff)s: %(events)d events of %(people)d ids pseudonymised, "
                "%(rejected_rows)d rejected rows deleted."
            )
            % {
                "cutoff": f"{result.cutoff:%Y-%m-%d %H:%M %Z}",
                "events": result.events,
                "people": result.people,
                "rejected_rows": result.rejected_rows,
            }
        )
