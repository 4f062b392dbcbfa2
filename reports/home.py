"""What the admin home page shows: this week's KPIs against target, the friction point, the
latest snapshots and what needs attention. Read from built snapshots and a few bounded
counts — no metric query runs when someone opens the home page."""

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.models import KPI, Campaign, Placement
from events.models import RejectedRow
from reports.models import Snapshot, SnapshotKind
from reports.snapshots.build import latest_built

LATEST_SNAPSHOTS = 6
# Open rejected rows are counted up to this many: a backlog of millions must not cost a full count.
REJECTED_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class Attention:
    """One thing someone should fix, with the page where it is fixed."""

    text: str
    url: str
    link_text: str


@dataclass
class Home:
    kpis: dict | None = None  # the KPI section of `kpi_snapshot`
    kpi_snapshot: Snapshot | None = None
    friction: dict | None = None
    friction_snapshot: Snapshot | None = None
    latest: list[Snapshot] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    has_kpis: bool = False
    has_campaigns: bool = False


def _kpi_snapshot(daily: Snapshot | None, weekly: Snapshot | None) -> Snapshot | None:
    """The newest snapshot with a KPI table: yesterday's daily one holds each KPI over its period
    to yesterday (this week so far for a weekly KPI); otherwise the last closed week."""
    for snapshot in (daily, weekly):
        if snapshot is not None and snapshot.section("kpis"):
            return snapshot
    return None


def attention_items() -> list[Attention]:
    """Stale snapshots, failed builds, WeChat codes about to expire or refused, open rejected rows."""
    items = []
    snapshots = Snapshot.objects.aggregate(
        stale=Count("pk", filter=Q(stale=True)), failed=Count("pk", filter=Q(status=Snapshot.Status.FAILED))
    )
    snapshot_list = reverse("admin:reports_snapshot_changelist")
    if snapshots["stale"]:
        items.append(
            Attention(
                ngettext(
                    "%(n)d snapshot is stale: events arrived for its period after it was built.",
                    "%(n)d snapshots are stale: events arrived for their periods after they were built.",
                    snapshots["stale"],
                )
                % {"n": snapshots["stale"]},
                f"{snapshot_list}?stale__exact=1",
                _("Select them and rebuild"),
            )
        )
    if snapshots["failed"]:
        items.append(
            Attention(
                ngettext("%(n)d snapshot build failed.", "%(n)d snapshot builds failed.", snapshots["failed"])
                % {"n": snapshots["failed"]},
                f"{snapshot_list}?status__exact={Snapshot.Status.FAILED}",
                _("See the error and rebuild"),
            )
        )
    placement_list = reverse("admin:campaigns_placement_changelist")
    expiring = Placement.objects.qr_expiring().count()
    if expiring:
        items.append(
            Attention(
                ngettext(
                    "%(n)d WeChat code expires within a week.", "%(n)d WeChat codes expire within a week.", expiring
                )
                % {"n": expiring},
                f"{placement_list}?qr_expiry=soon",
                _("See the codes"),
            )
        )
    refused = Placement.objects.qr_refused().count()
    if refused:
        items.append(
            Attention(
                ngettext("WeChat refused %(n)d code.", "WeChat refused %(n)d codes.", refused) % {"n": refused},
                f"{placement_list}?qr_expiry=refused",
                _("Read why and ask again"),
            )
        )
    open_rows = RejectedRow.objects.filter(status=RejectedRow.Status.OPEN)[: REJECTED_COUNT_LIMIT + 1].count()
    if open_rows:
        shown = f"{REJECTED_COUNT_LIMIT}+" if open_rows > REJECTED_COUNT_LIMIT else str(open_rows)
        items.append(
            Attention(
                _("%(n)s rejected rows are open: fix and replay them, or dismiss them.") % {"n": shown},
                reverse("admin:events_rejectedrow_changelist") + f"?status__exact={RejectedRow.Status.OPEN}",
                _("Open rejected rows"),
            )
        )
    return items


def home_page() -> Home:
    """Everything the home page shows, in a fixed number of queries."""
    daily = latest_built(SnapshotKind.DAILY)
    weekly = latest_built(SnapshotKind.WEEKLY)
    home = Home(
        kpi_snapshot=_kpi_snapshot(daily, weekly),
        friction_snapshot=weekly,
        latest=list(Snapshot.objects.defer("data").order_by("-period_start", "kind")[:LATEST_SNAPSHOTS]),
        attention=attention_items(),
        has_kpis=KPI.objects.filter(is_active=True).exists(),
        has_campaigns=Campaign.objects.exists(),
    )
    if home.kpi_snapshot is not None:
        home.kpis = home.kpi_snapshot.section("kpis")
    if weekly is not None:
        home.friction = weekly.data.get("friction")
    return home
