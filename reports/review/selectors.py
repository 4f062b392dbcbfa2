"""Reads for the Friday review: who the owners are, the week's snapshot and friction point,
KPI values per week, and the whole review page as one dataclass."""

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from campaigns.models import KPI
from reports.metrics.kpis import kpi_values
from reports.models import Snapshot
from reports.periods import Period

from .models import ReviewEntry
from .policy import REVIEW_OWNER_GROUP
from .weeks import this_week

logger = logging.getLogger(__name__)


def review_owners() -> QuerySet:
    """Active members of the Review owner group, by username."""
    return (
        get_user_model().objects.filter(groups__name=REVIEW_OWNER_GROUP, is_active=True).order_by("username").distinct()
    )


def weekly_snapshot(week: str | Period) -> Snapshot | None:
    return Snapshot.objects.filter(kind=Snapshot.Kind.WEEKLY, period_label=str(week)).first()


def latest_weekly_snapshot(*, up_to: Period) -> Snapshot | None:
    """The newest built weekly snapshot whose week is `up_to` or earlier (on a Friday the
    current week is not closed yet, so this is usually last week's)."""
    return (
        Snapshot.objects.filter(kind=Snapshot.Kind.WEEKLY, built_at__isnull=False, period_start__lt=up_to.end)
        .order_by("-period_start")
        .first()
    )


@dataclass
class StoredFriction:
    """A weekly snapshot's friction point as stored in its data (computed at build time by
    reports.snapshots.friction.friction_point), with the snapshot it came from."""

    snapshot: Snapshot
    step: str  # "add_to_cart → start_checkout"
    sentence: str
    rate_pct: Any
    previous_rate_pct: Any
    change_points: Any
    people_lost: Any
    reason: str  # "decline" or "worst drop"


def stored_friction(snapshot: Snapshot | None) -> StoredFriction | None:
    data = (snapshot.data or {}).get("friction") if snapshot else None
    if not isinstance(data, dict) or not data.get("step"):
        return None
    return StoredFriction(
        snapshot=snapshot,
        step=data["step"],
        sentence=data.get("sentence", ""),
        rate_pct=data.get("rate_pct"),
        previous_rate_pct=data.get("previous_rate_pct"),
        change_points=data.get("change_points"),
        people_lost=data.get("people_lost"),
        reason=data.get("reason", ""),
    )


def week_kpi_values(kpis: list[KPI], week: Period) -> dict[int, Decimal | None]:
    """Each KPI's value over `week` by KPI id, computed in SQL by reports.metrics.kpis."""
    if not kpis:
        return {}
    return {row.kpi_id: row.value for row in kpi_values(week, kpis=kpis)}


def format_kpi_value(kpi: KPI, value: Decimal | None) -> str:
    """A KPI value the way people read it: rates in %, money in yuan, durations in h/min."""
    return kpi.format_value(value)


@dataclass
class KpiRow:
    kpi: KPI
    value: Decimal | None
    on_target: bool | None

    @property
    def shown(self) -> str:
        return format_kpi_value(self.kpi, self.value)

    @property
    def target_shown(self) -> str:
        return format_kpi_value(self.kpi, self.kpi.target)


@dataclass
class Movement:
    """A KPI before (the week before the change week) and after (the week after)."""

    kpi: KPI
    before: Decimal | None
    after: Decimal | None
    better: bool | None  # None: unknown or unchanged

    @property
    def before_shown(self) -> str:
        return format_kpi_value(self.kpi, self.before)

    @property
    def after_shown(self) -> str:
        return format_kpi_value(self.kpi, self.after)

    @property
    def delta(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass
class ChangeRow:
    entry: ReviewEntry
    movement: Movement | None


@dataclass
class OwnerRow:
    owner: Any
    entry: ReviewEntry | None


@dataclass
class ReviewPage:
    week: Period
    current_week: Period
    kpis: list[KpiRow]
    friction: StoredFriction | None
    snapshot: Snapshot | None  # this week's snapshot, when built
    owners: list[OwnerRow]
    other_entries: list[ReviewEntry]  # entries by people no longer in the owner group
    last_week_changes: list[ChangeRow] = field(default_factory=list)

    @property
    def previous_week(self) -> Period:
        return self.week.previous()

    @property
    def two_weeks_ago(self) -> Period:
        """The "before" week of last week's changes (their "after" week is this one)."""
        return self.week.previous(2)

    @property
    def next_week(self) -> Period | None:
        return self.week.next() if self.week.start < self.current_week.start else None

    @property
    def missing(self) -> int:
        return sum(1 for row in self.owners if row.entry is None)


def movement(kpi: KPI, before: Decimal | None, after: Decimal | None) -> Movement:
    better = None
    if before is not None and after is not None and after != before:
        better = (after > before) == (kpi.direction == KPI.Direction.UP)
    return Movement(kpi=kpi, before=before, after=after, better=better)


class _ValueCache:
    """KPI values per week, each week computed once per page."""

    def __init__(self, kpis: list[KPI]):
        self.kpis = kpis
        self.weeks: dict[Period, dict[int, Decimal | None]] = {}

    def get(self, kpi: KPI, week: Period) -> Decimal | None:
        if week not in self.weeks:
            self.weeks[week] = week_kpi_values(self.kpis, week)
        return self.weeks[week].get(kpi.pk)


def entry_movement(entry: ReviewEntry) -> Movement | None:
    """The movement of one entry's KPI (admin detail page)."""
    if entry.kpi is None:
        return None
    cache = _ValueCache([entry.kpi])
    week = entry.iso_week
    return movement(entry.kpi, cache.get(entry.kpi, week.previous()), cache.get(entry.kpi, week.next()))


def review_page(week: Period, *, current_week: Period | None = None) -> ReviewPage:
    """Everything /review/<week>/ shows, in a fixed number of queries plus one KPI
    computation per distinct week needed (this week, the week before last)."""
    current_week = current_week or this_week()
    last_week = week.previous()
    entries = list(
        ReviewEntry.objects.filter(week__in=[str(week), str(last_week)])
        .select_related("owner", "kpi", "snapshot")
        .order_by("owner__username")
    )
    this_week_entries = [e for e in entries if e.week == str(week)]
    owners = list(review_owners())
    by_owner = {e.owner_id: e for e in this_week_entries}
    owner_ids = {o.pk for o in owners}

    kpis = list(KPI.objects.filter(is_active=True).order_by("name"))
    change_kpis = {e.kpi.pk: e.kpi for e in entries if e.kpi is not None}
    cache = _ValueCache(list({**{k.pk: k for k in kpis}, **change_kpis}.values()))
    values = week_kpi_values(cache.kpis, week)
    cache.weeks[week] = values

    snapshot = weekly_snapshot(week)
    return ReviewPage(
        week=week,
        current_week=current_week,
        kpis=[KpiRow(kpi=k, value=(v := values.get(k.pk)), on_target=k.is_on_target(v)) for k in kpis],
        friction=stored_friction(snapshot or latest_weekly_snapshot(up_to=week)),
        snapshot=snapshot,
        owners=[OwnerRow(owner=o, entry=by_owner.get(o.pk)) for o in owners],
        other_entries=[e for e in this_week_entries if e.owner_id not in owner_ids],
        last_week_changes=[
            ChangeRow(
                entry=e,
                movement=movement(e.kpi, cache.get(e.kpi, last_week.previous()), cache.get(e.kpi, week))
                if e.kpi
                else None,
            )
            for e in entries
            if e.week == str(last_week)
        ],
    )
