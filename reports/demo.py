"""The reports step of `manage.py seed_demo`: build the daily, weekly and monthly snapshots
that cover the demo data window, so `make run` opens on a full dashboard. Safe to re-run
(a rebuild replaces each snapshot)."""

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext

from events.models import Event
from reports.models import SnapshotKind
from reports.periods import closed_periods
from reports.snapshots.build import build_snapshot

# At most this many periods of each kind (the dashboard trends show 8 weeks).
LIMITS = {SnapshotKind.DAILY: 14, SnapshotKind.WEEKLY: 8, SnapshotKind.MONTHLY: 2}


@dataclass
class ReportsSummary:
    built: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        parts = [f"{len(labels)} {kind}" for kind, labels in self.built.items()]
        return gettext("built %(parts)s snapshot(s) in %(seconds)s s") % {
            "parts": ", ".join(parts),
            "seconds": f"{self.seconds:.1f}",
        }


def periods_for(days: int) -> dict[str, list]:
    """The closed periods of each kind that overlap the last `days` days and hold events: a
    period before the demo data starts would be an all-zero snapshot, which says nothing."""
    wanted = {
        SnapshotKind.DAILY: min(days, LIMITS[SnapshotKind.DAILY]),
        SnapshotKind.WEEKLY: min(days // 7 + 1, LIMITS[SnapshotKind.WEEKLY]),
        SnapshotKind.MONTHLY: min(days // 28 + 1, LIMITS[SnapshotKind.MONTHLY]),
    }
    span = Event.objects.aggregate(first=Min("ts"), last=Max("ts"))
    if span["first"] is None:
        return {}
    first_day = timezone.localtime(span["first"], settings.REPORTING_TZ).date()
    last_day = timezone.localtime(span["last"], settings.REPORTING_TZ).date()
    return {
        kind: [p for p in closed_periods(kind, count) if p.last_day >= first_day and p.first_day <= last_day]
        for kind, count in wanted.items()
    }


@contextmanager
def _quiet_build_log():
    """The builder logs each build; the seed command prints its own line per snapshot, once."""
    build_logger = logging.getLogger("reports.snapshots.build")
    level = build_logger.level
    build_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        build_logger.setLevel(level)


def seed_reports(*, days: int = 35, seed: int = 42, stdout=None) -> ReportsSummary:
    """Build the snapshots; `seed` is accepted for symmetry with the other demo steps (the
    snapshots are computed from the data, so nothing here is random)."""
    started = time.monotonic()
    summary = ReportsSummary()
    with _quiet_build_log():
        for kind, periods in periods_for(days).items():
            for period in periods:
                snapshot = build_snapshot(kind, period.label)
                summary.built.setdefault(kind, []).append(snapshot.period_label)
                if stdout:
                    stdout.write(
                        gettext("  %(kind)s %(label)s: %(sections)d sections, %(ms)d ms")
                        % {
                            "kind": kind,
                            "label": snapshot.period_label,
                            "sections": len(snapshot.sections),
                            "ms": snapshot.duration_ms,
                        }
                    )
    summary.seconds = time.monotonic() - started
    return summary
