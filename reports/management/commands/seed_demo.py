"""`manage.py seed_demo`: a realistic, deterministic demo data set, safe to re-run.

Each app contributes one step: campaigns (definitions), events (a journey of events, ad
spend, imports), reports (snapshots, Friday review entries).
"""

from django.core.management.base import BaseCommand, CommandError

from campaigns.demo import seed_definitions
from events.demo import seed_events
from reports.demo import seed_reports
from reports.review.demo import seed_reviews


class Command(BaseCommand):
    help = "Create demo KPIs, campaigns, placements, creatives, events and reports (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=35, help="Days of events to generate (default 35).")
        parser.add_argument("--users", type=int, default=400, help="Number of demo users (default 400).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")

    def handle(self, *args, days: int, users: int, seed: int, **options):
        if days < 1 or users < 1:
            raise CommandError("--days and --users must be at least 1.")

        summary = seed_definitions(seed=seed)
        self.stdout.write(f"definitions: {summary}")

        result = seed_events(days=days, users=users, seed=seed, stdout=self.stdout)
        self.stdout.write(f"events: {result}")

        result = seed_reports(days=days, seed=seed, stdout=self.stdout)
        self.stdout.write(f"reports: {result}")

        self.stdout.write(f"friday review: {seed_reviews()} new entries")

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
