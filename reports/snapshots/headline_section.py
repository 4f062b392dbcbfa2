"""The period in numbers, at the top of every snapshot and on the dashboard: orders, paying
people, gross revenue, refunds, net revenue and entry → paid, each against the previous
period. Missing data is said in words (summary and note), never shown as 0."""

from django.utils.translation import gettext as _

from reports.metrics.headline import MONEY, RATE, Headline, headline
from reports.periods import Period
from reports.snapshots.sections import Section, cell, pct

MISSING = "–"


def _shown(unit: str, value):
    return pct(value) if unit == RATE else value


def headline_section(period: Period) -> tuple[Section, list[str], dict]:
    """The section, the summary lines (the period's sentence first, then what is missing) and
    the values for the snapshot's `headline` dict (None where data is missing)."""
    result: Headline = headline(period)
    section = Section(
        "headline",
        _("The period in numbers"),
        [_("Metric"), _("This period"), _("Previous period"), _("Change %"), _("Unit")],
        note=" ".join(
            [
                _(
                    "Orders and revenue: pay_success in the period; refunds: refund_success in the period; net = gross − "
                    "refunds. Entry = a person's first scan (the default funnel's first step) in the period; paid = a "
                    "payment within 7 days after it. Previous period: %(previous)s."
                )
                % {"previous": result.previous_label},
                *result.missing,
            ]
        ),
    )
    for f in result.figures:
        unit = "¥" if f.unit == MONEY else "%" if f.unit == RATE else ""
        section.add(f.label, _shown(f.unit, f.value), _shown(f.unit, f.previous), pct(f.change), unit)

    values = {f.key: f.value for f in result.figures}
    values["revenue"] = values["gross_revenue"]  # the dashboard's revenue trend line
    values["entry_to_paid_pct"] = pct(values.pop("entry_to_paid"))
    values["entrants"] = result.entrants
    values["paid_entrants"] = result.paid_entrants
    values["missing"] = list(result.missing)

    def money_text(key: str) -> str:
        value = values[key]
        return MISSING if value is None else f"¥{cell(value)}"

    sentence = _(
        "%(period)s: %(orders)s orders by %(people)s paying people, gross revenue %(gross)s, refunds %(refunds)s, "
        "net revenue %(net)s; %(entry)s of the people who entered paid."
    ) % {
        "period": result.period_label,
        "orders": MISSING if values["orders"] is None else values["orders"],
        "people": MISSING if values["paying_people"] is None else values["paying_people"],
        "gross": money_text("gross_revenue"),
        "refunds": money_text("refunds"),
        "net": money_text("net_revenue"),
        "entry": MISSING if values["entry_to_paid_pct"] is None else f"{values['entry_to_paid_pct']}%",
    }
    return section, [sentence, *result.missing], values
