"""Ads (seed §5): spend, impressions, clicks, reach, CTR, CPC, CPM, cost per lead and per
order, ROAS, by campaign, creative and lander type, and creative fatigue. Five queries.

Definitions:
- Spend, impressions, clicks and reach come from the imported ad spend rows (one per day ×
  campaign × ad group × creative). CTR = clicks / impressions; CPC = spend / clicks;
  CPM = spend / impressions × 1000; frequency = impressions / reach (daily reach summed,
  so an upper bound of the true frequency).
- *Leads* are `lead_form_submit` events (follows are a different goal and are not leads);
  *orders* are `pay_success` events; *revenue* is their value. Each is attributed to the
  person's latest touch (an event with a campaign or placement) at or before it, within
  `lookback` (30 days by default). The creative is named by `properties.creative_id` on
  the person's latest touch of that campaign carrying one (same span): our creative id or
  the ad platform's (`Creative.external_id`), both resolve; the lander type is the
  creative's. Creative rows never hold more than their campaign.
  Conversions without a touch are reported as unattributed. ROAS = attributed revenue /
  spend. Cost per lead/order = spend / attributed leads/orders.
- Only the `campaign_id` filter applies (ad spend has no source, placement or app).
- *Fatigue* per creative compares the last 7 days up to `as_of` with the 7 days before:
  fatigued when CPC rose while CTR fell; over the cap when frequency in the last 7 days is
  above `frequency_cap` (default 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from campaigns.models import Campaign, Creative
from events.models import AdSpend
from reports.periods import Period

from .attribution import attributed_conversions_sql
from .common import LEAD_FORM_SUBMIT, PAY_SUCCESS, Filters, money, ratio

NONE_LABEL = "(none)"
MAX_ID = 2**31 - 1  # a longer number cannot be our primary key (and would overflow the query)
UNKNOWN_LANDER = "unknown"


@dataclass
class AdRow:
    key: str | None
    label: str
    spend: Decimal = Decimal("0.00")
    impressions: int = 0
    clicks: int = 0
    reach: int = 0
    leads: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    ctr: Decimal | None = None
    cpc: Decimal | None = None
    cpm: Decimal | None = None
    frequency: Decimal | None = None
    cost_per_lead: Decimal | None = None
    cost_per_order: Decimal | None = None
    roas: Decimal | None = None

    def finish(self) -> AdRow:
        cents = Decimal("0.01")
        self.ctr = ratio(self.clicks, self.impressions)
        self.cpc = ratio(self.spend, self.clicks, cents)
        self.cpm = ratio(self.spend * 1000, self.impressions, cents)
        self.frequency = ratio(self.impressions, self.reach, cents)
        self.cost_per_lead = ratio(self.spend, self.leads, cents)
        self.cost_per_order = ratio(self.spend, self.orders, cents)
        self.roas = ratio(self.revenue, self.spend, cents)  # 2 decimals; decisions use revenue and spend
        return self


@dataclass
class CreativeFatigue:
    key: str
    label: str
    lander_type: str
    ctr_last: Decimal | None
    ctr_previous: Decimal | None
    cpc_last: Decimal | None
    cpc_previous: Decimal | None
    frequency: Decimal | None  # last 7 days
    cpc_rising: bool
    ctr_falling: bool
    fatigued: bool  # CPC rising while CTR falls
    over_frequency_cap: bool


@dataclass
class AdsReport:
    period_label: str
    totals: AdRow
    by_campaign: list[AdRow] = field(default_factory=list)
    by_creative: list[AdRow] = field(default_factory=list)
    by_lander_type: list[AdRow] = field(default_factory=list)
    fatigue: list[CreativeFatigue] = field(default_factory=list)
    unattributed_orders: int = 0
    unattributed_revenue: Decimal = Decimal("0.00")


def _creative_key(row: dict) -> str:
    if row["creative_id"]:
        return str(row["creative_id"])
    return f"{row['campaign_code']}/{row['ad_group']}/{row['creative_name']}"


def _creatives(refs: set[str], ids: set[int]) -> tuple[dict, dict]:
    """Labels and lander types of the creatives named by `properties.creative_id` values
    (`refs`) or ad spend rows (`ids`), and each ref's creative id. A ref is the ad
    platform's id (`Creative.external_id`, what the landing-URL macro fills in) or ours
    (the primary key); the platform's wins when a value is both. One query."""
    own = {int(ref) for ref in refs if ref.isdigit() and int(ref) <= MAX_ID}
    rows = Creative.objects.filter(Q(pk__in=own | ids) | Q(external_id__in=refs)).values_list(
        "pk", "campaign__code", "name", "lander_type", "external_id"
    )
    creatives, by_ref, by_external = {}, {}, {}
    for pk, code, name, lander, external_id in rows:
        creatives[pk] = (f"{code} / {name}", lander)
        if external_id in refs:
            by_external[external_id] = pk
        if str(pk) in refs:
            by_ref[str(pk)] = pk
    return creatives, {**by_ref, **by_external}


def _spend(filters: Filters, first: date, last: date):
    rows = AdSpend.objects.filter(date__gte=first, date__lte=last)
    if filters.campaign_id:
        rows = rows.filter(campaign_id=filters.campaign_id)
    return rows.values(
        "campaign_id", "campaign_code", "creative_id", "creative_name", "ad_group", "creative__lander_type"
    ).order_by()


def ads_report(
    period: Period,
    filters: Filters | None = None,
    *,
    frequency_cap: Decimal | int = 3,
    lookback: timedelta = timedelta(days=30),
) -> AdsReport:
    filters = filters or Filters()
    spend_rows = list(
        _spend(filters, period.first_day, period.last_day).annotate(
            s=Sum("spend"), i=Sum("impressions"), c=Sum("clicks"), r=Sum("reach")
        )
    )
    conversions = attributed_conversions_sql(
        period, [PAY_SUCCESS, LEAD_FORM_SUBMIT], lookback=lookback, campaign_id=filters.campaign_id
    ).fetch()

    refs = {str(cr) for _, _, cr, _, _ in conversions if cr}
    spend_ids = {row["creative_id"] for row in spend_rows if row["creative_id"]}
    creatives, by_ref = _creatives(refs, spend_ids)
    campaign_codes = dict(
        Campaign.objects.filter(pk__in={c for _, c, _, _, _ in conversions if c}).values_list("pk", "code")
    )

    totals = AdRow(key=None, label="All campaigns")
    by_campaign: dict = {}
    by_creative: dict = {}
    by_lander: dict = {}

    def rows_for(campaign_key, campaign_label, creative_key, creative_label, lander):
        yield totals
        yield by_campaign.setdefault(campaign_key, AdRow(campaign_key, campaign_label))
        if creative_key is not None:
            yield by_creative.setdefault(creative_key, AdRow(creative_key, creative_label))
            yield by_lander.setdefault(lander, AdRow(lander, lander))

    for row in spend_rows:
        campaign_key = str(row["campaign_id"]) if row["campaign_id"] else row["campaign_code"]
        key = _creative_key(row)
        label = creatives.get(row["creative_id"], (f"{row['campaign_code']} / {row['creative_name']}", None))[0]
        lander = row["creative__lander_type"] or UNKNOWN_LANDER
        for target in rows_for(campaign_key, row["campaign_code"], key, label, lander):
            target.spend += money(row["s"])
            target.impressions += row["i"] or 0
            target.clicks += row["c"] or 0
            target.reach += row["r"] or 0

    report = AdsReport(period_label=period.label, totals=totals)
    for name, campaign_id, creative_ref, count, value in conversions:
        if campaign_id is None:
            if name == PAY_SUCCESS:
                report.unattributed_orders += count
                report.unattributed_revenue += money(value)
            continue
        creative_id = by_ref.get(str(creative_ref)) if creative_ref else None
        label, lander = creatives.get(creative_id, (None, None))
        creative_key = str(creative_id) if label else None
        code = campaign_codes.get(campaign_id, str(campaign_id))
        for target in rows_for(str(campaign_id), code, creative_key, label, lander or UNKNOWN_LANDER):
            if name == PAY_SUCCESS:
                target.orders += count
                target.revenue += money(value)
            else:
                target.leads += count

    def ordered(rows: dict) -> list[AdRow]:
        return sorted((r.finish() for r in rows.values()), key=lambda r: (-r.spend, -r.revenue, r.label))

    totals.finish()
    report.by_campaign = ordered(by_campaign)
    report.by_creative = ordered(by_creative)
    report.by_lander_type = ordered(by_lander)
    report.fatigue = creative_fatigue(period.last_day, filters, frequency_cap=frequency_cap)
    return report


def creative_fatigue(
    as_of: date, filters: Filters | None = None, *, days: int = 7, frequency_cap: Decimal | int = 3
) -> list[CreativeFatigue]:
    """Per creative: the last `days` days up to `as_of` against the `days` before. One query."""
    filters = filters or Filters()
    split = as_of - timedelta(days=days)  # last window: (split, as_of]; previous: (split − days, split]
    last, prev = Q(date__gt=split), Q(date__lte=split)
    rows = _spend(filters, split - timedelta(days=days - 1), as_of).annotate(
        spend_last=Sum("spend", filter=last),
        spend_prev=Sum("spend", filter=prev),
        clicks_last=Sum("clicks", filter=last),
        clicks_prev=Sum("clicks", filter=prev),
        impressions_last=Sum("impressions", filter=last),
        impressions_prev=Sum("impressions", filter=prev),
        reach_last=Sum("reach", filter=last),
    )
    cap = Decimal(str(frequency_cap))
    cents = Decimal("0.01")
    flags = []
    for row in rows:
        ctr_last, ctr_prev = (
            ratio(row["clicks_last"], row["impressions_last"]),
            ratio(row["clicks_prev"], row["impressions_prev"]),
        )
        cpc_last, cpc_prev = (
            ratio(row["spend_last"], row["clicks_last"], cents),
            ratio(row["spend_prev"], row["clicks_prev"], cents),
        )
        frequency = ratio(row["impressions_last"], row["reach_last"], cents)
        cpc_rising = cpc_last is not None and cpc_prev is not None and cpc_last > cpc_prev
        ctr_falling = ctr_last is not None and ctr_prev is not None and ctr_last < ctr_prev
        flags.append(
            CreativeFatigue(
                key=_creative_key(row),
                label=f"{row['campaign_code']} / {row['creative_name'] or row['ad_group'] or NONE_LABEL}",
                lander_type=row["creative__lander_type"] or UNKNOWN_LANDER,
                ctr_last=ctr_last,
                ctr_previous=ctr_prev,
                cpc_last=cpc_last,
                cpc_previous=cpc_prev,
                frequency=frequency,
                cpc_rising=cpc_rising,
                ctr_falling=ctr_falling,
                fatigued=cpc_rising and ctr_falling,
                over_frequency_cap=frequency is not None and frequency > cap,
            )
        )
    flags.sort(key=lambda f: (not f.fatigued, not f.over_frequency_cap, f.label))
    return flags
