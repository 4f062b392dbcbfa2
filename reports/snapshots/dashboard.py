"""What the one-page dashboard shows, read from the latest built snapshots only (no metric
query runs when someone opens the page)."""

from dataclasses import dataclass, field

from django.utils.safestring import SafeString

from reports.models import Snapshot, SnapshotKind
from reports.snapshots.charts import funnel_chart, line_chart
from reports.snapshots.sections import as_number

TREND_WEEKS = 8
# Headline numbers drawn as weekly trend lines, in this order (keys of data["headline"]).
TREND_SERIES = {
    "orders": "Orders",
    "leads": "Leads",
    "new_followers": "New followers",
    "paying_people": "Paying people",
}


@dataclass
class Dashboard:
    daily: Snapshot | None = None
    weekly: Snapshot | None = None
    monthly: Snapshot | None = None
    weeks: list[Snapshot] = field(default_factory=list)
    kpis: dict | None = None
    # "The period in numbers" of the latest weekly and daily snapshots (None: not built with it yet)
    numbers: dict | None = None
    numbers_daily: dict | None = None
    health: dict | None = None
    friction: dict | None = None
    signals: dict | None = None
    engagement: dict | None = None
    time_on_page: dict | None = None
    funnel_svg: SafeString | None = None
    trend_svg: SafeString | None = None
    trend_money_svg: SafeString | None = None
    stale_count: int = 0
    failed_count: int = 0


def _latest(kind: str, count: int = 1) -> list[Snapshot]:
    return list(Snapshot.objects.filter(kind=kind, built_at__isnull=False).order_by("-period_start")[:count])


def dashboard_data() -> Dashboard:
    weeks = _latest(SnapshotKind.WEEKLY, TREND_WEEKS)[::-1]
    board = Dashboard(
        daily=next(iter(_latest(SnapshotKind.DAILY)), None),
        weekly=weeks[-1] if weeks else None,
        monthly=next(iter(_latest(SnapshotKind.MONTHLY)), None),
        weeks=weeks,
        stale_count=Snapshot.objects.filter(stale=True).count(),
        failed_count=Snapshot.objects.filter(status=Snapshot.Status.FAILED).count(),
    )
    if board.daily:
        board.health = board.daily.section("health")
        board.numbers_daily = board.daily.section("headline")
    if board.weekly:
        board.kpis = board.weekly.section("kpis")
        board.numbers = board.weekly.section("headline")
        board.friction = board.weekly.data.get("friction")
        board.engagement = board.weekly.section("engagement")
        board.time_on_page = board.weekly.section("time_on_page")
        funnel = board.weekly.section("funnel")
        if funnel and funnel["rows"]:
            board.funnel_svg = funnel_chart(
                [(row[0], as_number(row[1])) for row in funnel["rows"]], title=f"Funnel {board.weekly.period_label}"
            )
    if board.monthly:
        board.signals = board.monthly.section("signals")
    if weeks:
        labels = [w.period_label for w in weeks]
        heads = [w.data.get("headline", {}) for w in weeks]
        series = [
            (name, [as_number(h.get(key)) for h in heads])
            for key, name in TREND_SERIES.items()
            if any(h.get(key) is not None for h in heads)
        ]
        if series:
            board.trend_svg = line_chart(labels, series, title="Weekly trend")
        money = [
            (name, [as_number(h.get(key)) for h in heads])
            for key, name in (("revenue", "Revenue (¥)"), ("spend", "Ad spend (¥)"))
            if any(h.get(key) is not None for h in heads)
        ]
        if money:
            board.trend_money_svg = line_chart(labels, money, title="Revenue and spend")
    return board
