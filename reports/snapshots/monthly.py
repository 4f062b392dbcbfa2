"""The monthly snapshot: KPIs, attribution by campaign, conversion per campaign (and, as
their metric functions exist, cohorts, LTV, contribution margin and the scale/stop signal
per campaign)."""

from django.utils.translation import gettext as _

from campaigns.units import yuan
from reports.metrics.ads import ads_report
from reports.metrics.attribution import attribution
from reports.metrics.cohorts import RETURN_DAYS, CohortReport, cohort_reports
from reports.metrics.common import PAY_SUCCESS, REPEAT_PURCHASE, ratio
from reports.metrics.funnel import funnel_by
from reports.periods import SNAPSHOT_KIND, Period
from reports.snapshots.ads_sections import ads_sections, signals_section
from reports.snapshots.headline_section import headline_section
from reports.snapshots.kpi_section import kpi_section
from reports.snapshots.placements_section import placements_section
from reports.snapshots.sections import Section, pct, step_people


def build_data(period: Period) -> dict:
    """Each part's numbers first, then the page: its sections and summary lines in the order
    they are read."""
    numbers, number_lines, numbers_values = headline_section(period)
    kpis, behind = kpi_section(period)
    touch = attribution(period)
    placements, _report = placements_section(period)
    ads = ads_report(period)
    signals, signal_lines = signals_section(ads)
    ad_tables, ad_lines = ads_sections(ads)
    cohort = cohort_reports(period)  # one query for the three groupings
    total, cost_ratio = cohort["week"].totals, cohort["week"].cost_ratio

    sections = [
        numbers,
        kpis,
        signals,
        _cohort_section("cohorts_week", _("Cohorts by first-touch week"), cohort["week"]),
        _cohort_section("cohorts_ad_group", _("Cohorts by ad set"), cohort["ad_group"]),
        _cohort_section("cohorts_entry_point", _("Cohorts by QR entry point"), cohort["entry_point"]),
        _attribution_section(touch),
        _campaign_funnels(period),
        placements,
        *ad_tables,
    ]
    summary = [
        *number_lines,
        _(
            "%(converters)s paying people placed %(orders)s orders worth %(revenue)s; %(unattributed)s had no campaign touch before paying."
        )
        % {
            "converters": touch.converters,
            "orders": touch.orders,
            "revenue": yuan(touch.revenue),
            "unattributed": touch.unattributed,
        },
        _(
            "%(people)s new people this month: LTV %(value)s, contribution margin %(contribution_margin)s after refunds, cost of goods (%(cost_ratio)s of net revenue) and ad spend."
        )
        % {
            "people": total.people,
            "value": yuan(total.ltv) if total.ltv is not None else "–",
            "contribution_margin": yuan(total.contribution_margin),
            "cost_ratio": format(cost_ratio, ".0%"),
        },
        *behind,
        *signal_lines,
        *ad_lines[:1],
    ]
    return {
        "kind": SNAPSHOT_KIND[period.kind],
        "label": period.label,
        "title": _("Monthly review %(first_day)s") % {"first_day": format(period.first_day, "%B %Y")},
        "summary": summary,
        "headline": {
            **numbers_values,
            "spend": ads.totals.spend,
            "roas": ads.totals.roas,
            "new_people": total.people,
            "ltv": total.ltv,
            "contribution_margin": total.contribution_margin,
        },
        "sections": [s.as_dict() for s in sections],
    }


def _attribution_section(touch) -> Section:
    section = Section(
        "attribution",
        _("Revenue by campaign (first and last touch)"),
        [_("Campaign"), _("Model"), _("Paying people"), _("Orders"), _("Revenue (¥)"), _("Share %")],
        note=_("Each paying person's orders go to their first touch ever, and to their last touch before paying."),
        chart={"type": "bar", "x": 0, "y": [4]},
    )
    for model in ("last", "first"):
        for row in touch.touches.get(model, {}).get("campaign", []):
            section.add(
                row.label,
                _("%(model)s touch") % {"model": model},
                row.converters,
                row.orders,
                row.revenue,
                pct(row.share),
            )
    return section


def _campaign_funnels(period) -> Section:
    section = Section(
        "campaign_funnels",
        _("Conversion by campaign"),
        [_("Campaign"), _("Entered"), _("Paid"), _("Paid %"), _("Repeat purchase (retention)")],
        note=_(
            "People who entered the funnel through each campaign this month; paid = reached the pay_success step "
            "(the Conversion stage) within the funnel window; repeat purchase is retention, not conversion."
        ),
    )
    for group in funnel_by(period, "campaign"):
        paid = step_people(group.funnel, PAY_SUCCESS)
        section.add(
            group.label,
            group.funnel.entered,
            paid,
            pct(ratio(paid, group.funnel.entered)),
            step_people(group.funnel, REPEAT_PURCHASE),
        )
    return section


def _cohort_section(key: str, title: str, report: CohortReport) -> Section:
    returns = [_("Returned ≤%(days)sd %%") % {"days": days} for days in RETURN_DAYS]
    section = Section(
        key,
        title,
        [
            _("Cohort"),
            _("People"),
            *returns,
            _("Orders"),
            _("Revenue"),
            _("Refunds"),
            _("Cost of goods"),
            _("Ad spend"),
            _("Margin"),
            _("LTV"),
            _("Margin per person"),
        ],
        note=_(
            "People whose first touch was this month; money up to %(as_of)s. A return rate whose window has not closed for everyone is marked with *. Money in ¥. Margin = revenue − refunds − cost of goods − ad spend."
        )
        % {"as_of": format(report.as_of, "%Y-%m-%d %H:%M")},
    )
    for row in [*report.rows, report.totals]:
        rates = [
            f"{pct(row.return_rate.get(days))}{'' if row.complete.get(days) else '*'}"
            if row.return_rate.get(days) is not None
            else None
            for days in RETURN_DAYS
        ]
        section.add(
            _("All") if row is report.totals else row.label,
            row.people,
            *rates,
            row.orders,
            row.revenue,
            row.refunds,
            row.cost_of_goods,
            row.ad_spend,
            row.contribution_margin,
            row.ltv,
            row.margin_per_person,
            flag=row.contribution_margin < 0,
        )
    return section
