"""The placement table of the weekly and monthly snapshots (and the campaign results page):
scans, follows, paying people, orders, revenue and refunds per placement."""

from django.utils.translation import gettext as _

from reports.metrics.placements import PlacementReport, placement_report
from reports.periods import Period
from reports.snapshots.sections import Section

TOP_PLACEMENTS = 15


def placement_columns() -> list[str]:
    return [
        _("Placement"),
        _("Scans"),
        _("Short link"),
        _("WeChat codes"),
        _("Scanners"),
        _("Follows"),
        _("Paying people"),
        _("Orders"),
        _("Revenue (¥)"),
        _("Refunds (¥)"),
    ]


def placement_rows(report: PlacementReport, *, top: int | None = None) -> list[tuple]:
    """The placement rows (the first `top`), the unattributed row, and the period's totals."""
    rows = [
        (
            r.label,
            r.scans,
            r.link_scans,
            r.code_scans,
            r.scanners,
            r.follows,
            r.paying_people,
            r.orders,
            r.revenue,
            r.refunds,
        )
        for r in report.rows[:top]
    ]
    u = report.unattributed
    rows.append(
        (_("No placement touch"), None, None, None, None, u.follows, u.paying_people, u.orders, u.revenue, u.refunds)
    )
    rows.append(
        (
            _("All (the period)"),
            None,
            None,
            None,
            None,
            report.follows,
            report.paying_people,
            report.orders,
            report.revenue,
            report.refunds,
        )
    )
    return rows


def placements_section(period: Period) -> tuple[Section, PlacementReport]:
    report = placement_report(period)
    section = Section(
        "placements",
        _("Placements: scans to payments"),
        placement_columns(),
        note=_(
            "Scans = short-link hits plus WeChat code scans (Official Account codes and Mini Program launches from the "
            "code), one per person and placement within 30 minutes. Follows, orders, revenue and refunds go to the "
            "person's latest placement touch at or before them, within 30 days; paying people = people with an order "
            "here. Top %(top)s placements by revenue, then scans."
        )
        % {"top": TOP_PLACEMENTS},
        chart={"type": "bar", "x": 0, "y": [8]},
    )
    for row in placement_rows(report, top=TOP_PLACEMENTS):
        section.add(*row)
    return section, report
