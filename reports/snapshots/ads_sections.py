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

from campaigns.units import yuan
from reports.metrics.ads import AdRow, AdsReport
from reports.snapshots.sections import Section, pct

SCALE_ROAS = settings.REPORTS_SCALE_ROAS
STOP_ROAS = settings.REPORTS_STOP_ROAS
TARGET_CPA = settings.REPORTS_TARGET_COST_PER_ORDER
MIN_ORDERS = 5

AD_COLUMNS = [
    "Spend (¥)",
    "Impressions",
    "Clicks",
    "CTR %",
    "CPC",
    "CPM",
    "Frequency",
    "Leads",
    "Orders",
    "Cost per lead",
    "Cost per order",
    "Revenue (¥)",
    "ROAS",
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
    """By campaign, by creative (with lander type) and fatigue; plus summary lines."""
    campaigns = Section(
        "ads",
        "Ads by campaign",
        ["Campaign", *AD_COLUMNS],
        note="Spend from the imported ad reports; leads, orders and revenue attributed to the last touch within 30 days.",
        chart={"type": "bar", "x": 0, "y": [1]},
    )
    for row in report.by_campaign:
        campaigns.add(row.label, *_ad_values(row))
    campaigns.add("All campaigns", *_ad_values(report.totals))

    creatives = Section("creatives", "Ads by creative", ["Creative", *AD_COLUMNS])
    for row in report.by_creative:
        creatives.add(row.label, *_ad_values(row))
    landers = Section("landers", "Ads by lander type", ["Lander type", *AD_COLUMNS])
    for row in report.by_lander_type:
        landers.add(row.label, *_ad_values(row))

    fatigue = Section(
        "fatigue",
        "Creative fatigue (last 7 days vs the 7 before)",
        [
            "Creative",
            "Lander",
            "CTR % last",
            "CTR % before",
            "CPC last",
            "CPC before",
            "Frequency",
            "Fatigued",
            "Over cap",
        ],
        note="Fatigued: CPC rising while CTR falls. Over cap: more than 3 impressions per person reached.",
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
                f"Creative {item.label} is fatigued: CPC {item.cpc_previous} → {item.cpc_last} while CTR fell."
            )
        elif item.over_frequency_cap:
            lines.append(f"Creative {item.label} is shown too often (frequency {item.frequency}).")
    totals = report.totals
    if totals.spend:
        lines.insert(
            0,
            f"Ad spend {yuan(totals.spend)}: {totals.orders} attributed orders, revenue {yuan(totals.revenue)}, "
            f"ROAS {totals.roas if totals.roas is not None else '–'}.",
        )
    return [campaigns, creatives, landers, fatigue], lines


def campaign_signal(row: AdRow) -> tuple[str, str]:
    """("scale" | "keep" | "fix" | "stop" | "watch", the reason in one sentence)."""
    if not row.spend:
        return "watch", "No ad spend this month: nothing to scale or stop."
    if not row.orders:
        return "stop", f"Spent {yuan(row.spend)} without one attributed order."
    # Thresholds compare exact revenue, spend and orders; ROAS and cost per order are
    # rounded for display only.
    if row.revenue < STOP_ROAS * row.spend:
        return "stop", f"ROAS {row.roas} is below {STOP_ROAS}: {yuan(row.spend)} of spend returned {yuan(row.revenue)}."
    if row.spend > TARGET_CPA * row.orders:
        return "fix", (
            f"Cost per order {yuan(row.cost_per_order)} is above the {yuan(TARGET_CPA)} target: "
            "improve the lander or targeting before adding budget."
        )
    if row.revenue >= SCALE_ROAS * row.spend and row.orders >= MIN_ORDERS:
        return "scale", f"ROAS {row.roas} is at least {SCALE_ROAS} over {row.orders} orders: add budget."
    return "keep", f"ROAS {row.roas}, cost per order {yuan(row.cost_per_order)}: within bounds, keep as is."


def signals_section(report: AdsReport) -> tuple[Section, list[str]]:
    section = Section(
        "signals",
        "Scale or stop, per campaign",
        ["Campaign", "Signal", "Reason", "Spend (¥)", "Orders", "Cost per order", "Revenue (¥)", "ROAS"],
        note=f"Scale at ROAS ≥ {SCALE_ROAS} with ≥ {MIN_ORDERS} orders; stop below ROAS {STOP_ROAS}; "
        f"fix above {yuan(TARGET_CPA)} per order.",
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
