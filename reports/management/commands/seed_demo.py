"""`manage.py seed_demo`: a realistic, deterministic demo data set, safe to re-run.

Each app contributes one step: campaigns (definitions), events (a journey of events, ad
spend, imports), reports (snapshots, Friday review entries).
"""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.demo import seed_definitions
from events.demo import seed_events
from reports.demo import seed_reports
from reports.review.demo import seed_reviews
from wxanalytics.commands import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Create demo KPIs, campaigns, placements, creatives, events and reports (idempotent).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=35, help=_("Days of events to generate (default 35)."))
        parser.add_argument("--users", type=int, default=400, help=_("Number of demo users (default 400)."))
        parser.add_argument("--seed", type=int, default=42, help=_("Random seed; the same seed gives the same data."))

    def handle(self, *args, days: int, users: int, seed: int, **options):
        if days < 1 or users < 1:
            raise CommandError(_("--days and --users must be at least 1."))

        summary = seed_definitions(seed=seed)
        self.stdout.write(_("definitions: %(summary)s") % {"summary": summary})

        result = seed_events(days=days, users=users, seed=seed, stdout=self.stdout)
        self.stdout.write(_("events: %(summary)s") % {"summary": result})

        result = seed_reports(days=days, seed=seed, stdout=self.stdout)
        self.stdout.write(_("reports: %(summary)s") % {"summary": result})

        self.stdout.write(_("friday review: %(count)d new entries") % {"count": seed_reviews()})

        self.stdout.write(self.style.SUCCESS(_("Demo data ready.")))
