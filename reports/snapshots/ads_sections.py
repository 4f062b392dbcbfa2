"""Ads tables shared by the weekly and monthly snapshots, and the per-campaign scale/stop
signal of the monthly one.

The signal rule, in order (first match wins):
- no spend                          → "watch": nothing to scale or stop;
- spend but no attributed order     → "stop";
- ROAS below STOP_ROAS              → "stop";
- cost per order above TARGET_CPA   → "fix": cheaper traffic or a better lander first;
- ROAS at least SCALE_ROAS and at least MIN_ORDERS orders → "scale";
- otherwise                         → "keep".
"""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.units import yuan
from reports.metrics.ads import AdRow, AdsReport
from reports.snapshots.sections import Section, pct

SCALE_ROAS = settings.REPORTS_SCALE_ROAS
STOP_ROAS = settings.REPORTS_STOP_ROAS
TARGET_CPA = settings.REPORTS_TARGET_COST_PER_ORDER
MIN_ORDERS = 5

AD_COLUMNS = [
    gettext_lazy("Spend (¥)"),
    gettext_lazy("Impressions"),
    gettext_lazy("Clicks"),
    gettext_lazy("CTR %"),
    gettext_lazy("CPC"),
    gettext_lazy("CPM"),
    gettext_lazy("Frequency"),
    gettext_lazy("Leads"),
    gettext_lazy("Orders"),
    gettext_lazy("Cost per lead"),
    gettext_lazy("Cost per order"),
    gettext_lazy("Revenue (¥)"),
    gettext_lazy("ROAS"),
]


def _ad_values(row: AdRow) -> list:
    return [
        row.spend,
        row.impressions,
        row.clicks,
        pct(row.ctr),
        row.cpc,
        row.cpm,
        row.frequency,
        row.leads,
        row.orders,
        row.cost_per_lead,
        row.cost_per_order,
        row.revenue,
        row.roas,
    ]


def ads_sections(report: AdsReport) -> tuple[list[Section], list[str]]:
    """By campaign, by creative (with lander type) and fatigue; plus summary lines, the spend line
    first."""
    campaigns = Section(
        "ads",
        _("Ads by campaign"),
        [_("Campaign"), *AD_COLUMNS],
        note=_(
            "Spend from the imported ad reports; leads, orders and revenue attributed to the last touch within 30 days."
        ),
        chart={"type": "bar", "x": 0, "y": [1]},
    )
    for row in report.by_campaign:
        campaigns.add(row.label, *_ad_values(row))
    campaigns.add(_("All campaigns"), *_ad_values(report.totals))

    creatives = Section("creatives", _("Ads by creative"), [_("Creative"), *AD_COLUMNS])
    for row in report.by_creative:
        creatives.add(row.label, *_ad_values(row))
    landers = Section("landers", _("Ads by lander type"), [_("Lander type"), *AD_COLUMNS])
    for row in report.by_lander_type:
        landers.add(row.label, *_ad_values(row))

    fatigue = Section(
        "fatigue",
        _("Creative fatigue (last 7 days vs the 7 before)"),
        [
            _("Creative"),
            _("Lander"),
            _("CTR % last"),
            _("CTR % before"),
            _("CPC last"),
            _("CPC before"),
            _("Frequency"),
            _("Fatigued"),
            _("Over cap"),
        ],
        note=_("Fatigued: CPC rising while CTR falls. Over cap: more than 3 impressions per person reached."),
    )
    lines = []
    for item in report.fatigue:
        tired = item.fatigued or item.over_frequency_cap
        fatigue.add(
            item.label,
            item.lander_type,
            pct(item.ctr_last),
            pct(item.ctr_previous),
            item.cpc_last,
            item.cpc_previous,
            item.frequency,
            "yes" if item.fatigued else "no",
            "yes" if item.over_frequency_cap else "no",
            flag=tired,
        )
        if item.fatigued:
            lines.append(
                _("Creative %(label)s is fatigued: CPC %(cpc_previous)s → %(cpc_last)s while CTR fell.")
                % {"label": item.label, "cpc_previous": item.cpc_previous, "cpc_last": item.cpc_last}
            )
        elif item.over_frequency_cap:
            lines.append(
                _("Creative %(label)s is shown too often (frequency %(frequency)s).")
                % {"label": item.label, "frequency": item.frequency}
            )
    # The first line is always the spend line, so a summary with room for one ad line (the
    # monthly review) says what was spent, or that spend is unknown, never a fatigue note.
    totals = report.totals
    if totals.spend:
        spend_line = _("Ad spend %(spend)s: %(orders)s attributed orders, revenue %(revenue)s, ROAS %(value)s.") % {
            "spend": yuan(totals.spend),
            "orders": totals.orders,
            "revenue": yuan(totals.revenue),
            "value": totals.roas if totals.roas is not None else "–",
        }
    else:
        spend_line = _("No ad spend imported for this period: ROAS and cost per order are unknown, not 0.")
    return [campaigns, creatives, landers, fatigue], [spend_line, *lines]


def campaign_signal(row: AdRow) -> tuple[str, str]:
    """("scale" | "keep" | "fix" | "stop" | "watch", the reason in one sentence)."""
    if not row.spend:
        return "watch", _("No ad spend this month: nothing to scale or stop.")
    if not row.orders:
        return "stop", _("Spent %(spend)s without one attributed order.") % {"spend": yuan(row.spend)}
    # Thresholds compare exact revenue, spend and orders; ROAS and cost per order are
    # rounded for display only.
    if row.revenue < STOP_ROAS * row.spend:
        return "stop", _("ROAS %(roas)s is below %(stop_roas)s: %(spend)s of spend returned %(revenue)s.") % {
            "roas": row.roas,
            "stop_roas": STOP_ROAS,
            "spend": yuan(row.spend),
            "revenue": yuan(row.revenue),
        }
    if row.spend > TARGET_CPA * row.orders:
        return "fix", (
            _(
                "Cost per order %(cost_per_order)s is above the %(target_cpa)s target: improve the lander or targeting before adding budget."
            )
            % {"cost_per_order": yuan(row.cost_per_order), "target_cpa": yuan(TARGET_CPA)}
        )
    if row.revenue >= SCALE_ROAS * row.spend and row.orders >= MIN_ORDERS:
        return "scale", _("ROAS %(roas)s is at least %(scale_roas)s over %(orders)s orders: add budget.") % {
            "roas": row.roas,
            "scale_roas": SCALE_ROAS,
            "orders": row.orders,
        }
    return "keep", _("ROAS %(roas)s, cost per order %(cost_per_order)s: within bounds, keep as is.") % {
        "roas": row.roas,
        "cost_per_order": yuan(row.cost_per_order),
    }


def signals_section(report: AdsReport) -> tuple[Section, list[str]]:
    section = Section(
        "signals",
        _("Scale or stop, per campaign"),
        [
            _("Campaign"),
            _("Signal"),
            _("Reason"),
            _("Spend (¥)"),
            _("Orders"),
            _("Cost per order"),
            _("Revenue (¥)"),
            _("ROAS"),
        ],
        note=_(
            "Scale at ROAS ≥ %(scale_roas)s with ≥ %(min_orders)s orders; stop below ROAS %(stop_roas)s; fix above %(target_cpa)s per order."
        )
        % {"scale_roas": SCALE_ROAS, "min_orders": MIN_ORDERS, "stop_roas": STOP_ROAS, "target_cpa": yuan(TARGET_CPA)},
    )
    lines = []
    for row in report.by_campaign:
        signal, reason = campaign_signal(row)
        section.add(
            row.label,
            signal,
            reason,
            row.spend,
            row.orders,
            row.cost_per_order,
            row.revenue,
            row.roas,
            flag=signal in ("stop", "fix"),
        )
        if signal in ("scale", "stop"):
            lines.append(f"{signal.title()} {row.label}: {reason}")
    return section, lines
