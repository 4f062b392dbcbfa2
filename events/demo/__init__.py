"""Demo data for `manage.py seed_demo`: a realistic journey of events for N people over the
last D days, sent through `events.ingest.ingest_rows` like any other channel, plus the
platform statistics a team would import (ad spend, Official Account user summary, article
stats, Mini Program page stats) through `events.imports`.

Deterministic: person i's journey depends only on (seed, days, i), and every event has an
event_id built from those, so running the demo again stores nothing new. The window ends on
the day the demo campaigns were created, so a re-run on a later day is still a no-op.

Memory stays flat: people are generated one at a time and events leave in chunks of
CHUNK_SIZE; only small per-day counters (for the imported statistics) are kept.

The story the reports should tell (docs/imports.md, "Demo data"):
- D11-Encore (Moments ads) converts best: scale it. KOL-Launch converts worst and its
  clicks are expensive: stop it. W-Stores stores differ (store 1 best, the last worst).
- One D11-Encore creative fatigues: its CTR falls and its CPC rises day after day.
- Most people reach the Mini Program; those with a unionid are one person across the
  Official Account and the Mini Program.
"""

import sys
import time
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import reset_queries
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext
from tqdm import tqdm

from campaigns.models import Campaign
from events import imports
from events.identity import link_unionids_from_rows
from events.ingest import ingest_rows

from . import statistics
from .journey import CAMPAIGN_QUALITY, Stats, Window, journey_rows

CHUNK_SIZE = 1000
CHANNEL = "demo"


@dataclass
class DemoSummary:
    people: int = 0
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    seconds: float = 0.0
    imports: dict[str, str] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        text = gettext(
            "%(people)d people, %(events)d events sent: %(accepted)d stored, %(duplicates)d already there, "
            "%(conflicts)d conflicts, %(rejected)d rejected (%(seconds)s s, %(rate)s events/s)"
        ) % {
            "people": self.people,
            "events": self.events,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
            "seconds": f"{self.seconds:.1f}",
            "rate": f"{self.events_per_second:,.0f}",
        }
        for kind, result in self.imports.items():
            text += f"; {kind}: {result}"
        return text


def end_day() -> date:
    """The demo window ends on the day the demo campaigns were created (today on a fresh
    database), so re-running the demo on a later day changes nothing."""
    created = Campaign.objects.filter(code__in=CAMPAIGN_QUALITY).aggregate(first=Min("created_at"))["first"]
    return (created or timezone.now()).astimezone(settings.REPORTING_TZ).date()


def _send(chunk: list[dict], summary: DemoSummary) -> None:
    # With DEBUG on (the zero-setup demo) Django keeps the last 9,000 queries' SQL, and a
    # 1,000-row INSERT is large: forget them per chunk so memory stays flat.
    reset_queries()
    result = ingest_rows(chunk, channel=CHANNEL, source=CHANNEL)
    link_unionids_from_rows(chunk)
    summary.events += len(chunk)
    summary.accepted += result.accepted
    summary.duplicates += result.duplicates
    summary.conflicts += result.conflicts
    summary.rejected += len(result.rejected) - result.conflicts


def seed_events(*, days: int, users: int, seed: int, stdout=None, progress: bool = True) -> DemoSummary:
    """Generate and store the demo journey and the imported statistics; safe to re-run."""
    window = Window(days=days, end_day=end_day())
    if stdout is not None:
        stdout.write(
            gettext("events: %(users)d people over the %(days)d days before %(end)s (seed %(seed)d) …")
            % {"users": users, "days": days, "end": window.end_day, "seed": seed}
        )
    stats = Stats()
    summary = DemoSummary(people=users)
    started = time.monotonic()
    with tqdm(total=users, unit="people", desc="demo events", file=sys.stderr, disable=not progress) as bar:
        chunk: list[dict] = []
        for row in journey_rows(days=days, users=users, seed=seed, window=window, stats=stats, on_person=bar.update):
            chunk.append(row)
            if len(chunk) >= CHUNK_SIZE:
                _send(chunk, summary)
                chunk = []
        if chunk:
            _send(chunk, summary)
    summary.seconds = time.monotonic() - started

    for kind, text in (
        ("ad_spend", statistics.ad_spend_rows(window=window, users=users, seed=seed)),
        ("oa_user_summary", statistics.oa_user_summary_rows(window=window, stats=stats)),
        ("article_stats", statistics.article_stats_rows(window=window, stats=stats)),
        ("mp_page_stats", statistics.page_stats_rows(window=window, stats=stats)),
    ):
        result = imports.import_csv(kind, statistics.csv_file(text))
        summary.imports[kind] = f"{result.created} created, {result.updated} updated, {result.rejected} rejected"
    return summary
