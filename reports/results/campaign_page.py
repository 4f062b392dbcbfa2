"""What the campaign page shows: each placement's scans → follows → paying people → revenue
this week and this month (live, one campaign and at most a month: a fixed number of queries
whatever the number of placements), the campaign's ad spend and ROAS, and each code's status.

Definitions: placements as `placement_report`, spend and ROAS as `ads_report` (ROAS =
revenue attributed to the campaign / its imported spend, docs/metrics.md "Ads")."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from campaigns import units
from campaigns.models import Campaign, Placement, QRState
from events.models import AdSpend
from reports.metrics.ads import ads_report
from reports.metrics.common import Filters
from reports.metrics.placements import PlacementRow, placement_report
from reports.periods import Period


@dataclass(frozen=True)
class CampaignMoney:
    """The campaign's ad spend and what it brought back over one period. `spend` is None when
    no ad spend was imported for the period: ROAS is then unknown, never 0."""

    period_label: str
    spend: Decimal | None
    revenue: Decimal
    orders: int
    roas: Decimal | None

    @property
    def spend_shown(self) -> str:
        return units.yuan(self.spend)

    @property
    def revenue_shown(self) -> str:
        return units.yuan(self.revenue)

    @property
    def roas_shown(self) -> str:
        return units.NONE if self.roas is None else f"{self.roas:.2f}"


def journey(row: PlacementRow) -> str:
    """scans → follows → paying people → revenue, as the page reads it."""
    return f"{row.scans} → {row.follows} → {row.paying_people} → {units.yuan(row.revenue)}"


@dataclass(frozen=True)
class PlacementLine:
    placement: Placement
    qr: QRState
    week: PlacementRow
    month: PlacementRow

    @property
    def week_shown(self) -> str:
        return journey(self.week)

    @property
    def month_shown(self) -> str:
        return journey(self.month)


@dataclass(frozen=True)
class CampaignPage:
    campaign: Campaign
    week: Period
    month: Period
    lines: list[PlacementLine]
    week_money: CampaignMoney
    month_money: CampaignMoney


def campaign_money(campaign: Campaign, period: Period) -> CampaignMoney:
    totals = ads_report(period, Filters(campaign_id=campaign.pk)).totals
    imported = AdSpend.objects.filter(
        campaign_id=campaign.pk, date__gte=period.first_day, date__lte=period.last_day
    ).exists()
    return CampaignMoney(
        period_label=period.label,
        spend=totals.spend if imported else None,
        revenue=totals.revenue,
        orders=totals.orders,
        roas=totals.roas if imported else None,
    )


def campaign_page(campaign: Campaign, *, today: date | None = None) -> CampaignPage:
    """This ISO week and this month to date (China time), per placement and for the campaign."""
    today = today or timezone.localdate()
    week, month = Period.iso_week(today), Period.month(today)
    by_week = {row.placement_id: row for row in placement_report(week, campaign_id=campaign.pk).rows}
    by_month = {row.placement_id: row for row in placement_report(month, campaign_id=campaign.pk).rows}
    placements = Placement.objects.filter(campaign=campaign).select_related("wechat_app").order_by("name", "pk")
    now = timezone.now()
    lines = [
        PlacementLine(
            placement=placement,
            qr=placement.qr_state(now=now),
            week=by_week.get(placement.pk) or PlacementRow(placement.pk, placement.name, campaign.pk),
            month=by_month.get(placement.pk) or PlacementRow(placement.pk, placement.name, campaign.pk),
        )
        for placement in placements
    ]
    return CampaignPage(
        campaign=campaign,
        week=week,
        month=month,
        lines=lines,
        week_money=campaign_money(campaign, week),
        month_money=campaign_money(campaign, month),
    )
