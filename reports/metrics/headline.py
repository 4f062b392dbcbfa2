"""The period's headline (issue 12 §10): orders, paying people, gross revenue, refunds, net
revenue, each against the previous period, and entry → paid conversion. Five queries (the
money of both periods, what data exists, the default funnel's steps, the two funnels).

Definitions (docs/metrics.md, "Headline"):
- Orders = `pay_success` events in the period; paying people = distinct people with one;
  gross revenue = their value; refunds = the value of `refund_success` events in the
  period (whatever period the refunded order was in); net revenue = gross − refunds.
- *Entry* = entering the default funnel: a person's first first-step event in the period
  (with the default tracking plan, their first scan as `reports.metrics.scans` counts it).
  Entry → paid = entrants with a `pay_success` at or after their entry, within the funnel
  window (7 days, possibly after the period) / entrants.
- The previous period is the same kind immediately before (`Period.previous()`).
- A number is None, with a sentence in `missing`, when its data is missing rather than
  zero: no event at all in the period, no `pay_success` (or `refund_success`) ever received
  up to the period's end, no default funnel in the tracking plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from reports.periods import Period

from .common import (
    PAY_SUCCESS,
    REFUND_SUCCESS,
    Filters,
    bucket_case,
    change,
    db_datetime,
    events_table,
    in_list,
    money,
    person_of,
)
from .funnel import default_steps, funnel
from .sql import Sql

MONEY, COUNT, RATE = "money", "count", "rate"


@dataclass
class HeadlineFigure:
    key: str
    label: str
    unit: str  # money (¥), count or rate (a 0–1 fraction)
    value: Decimal | int | None  # None: the data is missing (see Headline.missing)
    previous: Decimal | int | None
    change: Decimal | None  # relative, (value − previous) / previous


@dataclass
class Headline:
    period_label: str
    previous_label: str
    figures: list[HeadlineFigure] = field(default_factory=list)
    entrants: int | None = None
    paid_entrants: int | None = None
    missing: list[str] = field(default_factory=list)  # what is missing, said in words

    def figure(self, key: str) -> HeadlineFigure:
        return next(f for f in self.figures if f.key == key)


def headline(period: Period, filters: Filters | None = None) -> Headline:
    filters = filters or Filters()
    previous = period.previous()
    who = person_of("e")
    money_by_period = Sql(
        """SELECT {bucket} AS b, e.event_name, COUNT(*), COUNT(DISTINCT {person}), SUM(e.value)
                FROM {events} e {identity}
                WHERE e.event_name IN {names} AND e.ts >= %(previous_start)s AND e.ts < %(end)s{where} GROUP BY 1, 2""",
        {"previous_start": db_datetime(previous.start), "end": db_datetime(period.end)},
    ).format(
        bucket=bucket_case("e.ts", [previous.start, period.start, period.end], "bound"),
        person=who.key,
        identity=who.join,
        events=events_table(),
        names=in_list([PAY_SUCCESS, REFUND_SUCCESS], "name"),
        where=filters.sql("e"),
    )
    sums = {
        (int(b), n): (count, people, value) for b, n, count, people, value in money_by_period.fetch() if b is not None
    }
    has_now, has_before, has_pay, has_refund = (
        Sql(
            """SELECT CASE WHEN EXISTS (SELECT 1 FROM {events} WHERE ts >= %(start)s AND ts < %(end)s) THEN 1 ELSE 0 END,
                   CASE WHEN EXISTS (SELECT 1 FROM {events} WHERE ts >= %(previous_start)s AND ts < %(start)s)
                        THEN 1 ELSE 0 END,
                   CASE WHEN EXISTS (SELECT 1 FROM {events} WHERE event_name = %(pay)s AND ts < %(end)s)
                        THEN 1 ELSE 0 END,
                   CASE WHEN EXISTS (SELECT 1 FROM {events} WHERE event_name = %(refund)s AND ts < %(end)s)
                        THEN 1 ELSE 0 END""",
            {
                "start": db_datetime(period.start),
                "end": db_datetime(period.end),
                "previous_start": db_datetime(previous.start),
                "pay": PAY_SUCCESS,
                "refund": REFUND_SUCCESS,
            },
        )
        .format(events=events_table())
        .fetch()[0]
    )

    result = Headline(period_label=period.label, previous_label=previous.label)
    if not has_now:
        result.missing.append(
            _("No event was received for %(period)s: its numbers are missing, not zero.") % {"period": period.label}
        )
    if not has_before:
        result.missing.append(
            _("No event was received for %(period)s, so there is nothing to compare with.") % {"period": previous.label}
        )
    if not has_pay:
        result.missing.append(
            _("No payment (pay_success) has ever been received: orders and revenue are not tracked yet.")
        )
    if not has_refund:
        result.missing.append(
            _("No refund (refund_success) has ever been received: refunds and net revenue are not tracked yet.")
        )

    def pick(b: int, name: str, index: int, known: bool):
        if not known or not (has_now if b == 1 else has_before):
            return None
        value = sums.get((b, name), (0, 0, None))[index]
        return money(value) if index == 2 else value

    def figure(key, label, unit, now, before):
        return HeadlineFigure(key, label, unit, now, before, change(now, before))

    gross = [pick(b, PAY_SUCCESS, 2, bool(has_pay)) for b in (1, 0)]
    refunds = [pick(b, REFUND_SUCCESS, 2, bool(has_refund)) for b in (1, 0)]
    net = [g - r if g is not None and r is not None else None for g, r in zip(gross, refunds, strict=True)]
    result.figures = [
        figure(
            "orders", _("Orders"), COUNT, pick(1, PAY_SUCCESS, 0, bool(has_pay)), pick(0, PAY_SUCCESS, 0, bool(has_pay))
        ),
        figure(
            "paying_people",
            _("Paying people"),
            COUNT,
            pick(1, PAY_SUCCESS, 1, bool(has_pay)),
            pick(0, PAY_SUCCESS, 1, bool(has_pay)),
        ),
        figure("gross_revenue", _("Gross revenue"), MONEY, *gross),
        figure("refunds", _("Refunds"), MONEY, *refunds),
        figure("net_revenue", _("Net revenue"), MONEY, *net),
    ]

    steps = default_steps()
    if not steps or steps[0] == PAY_SUCCESS:
        result.missing.append(_("The tracking plan has no funnel entry step: entry → paid cannot be computed."))
        result.figures.append(figure("entry_to_paid", _("Entry → paid"), RATE, None, None))
        return result
    now, before = (funnel(p, filters, steps=[steps[0], PAY_SUCCESS]) for p in (period, previous))
    if has_now:
        result.entrants, result.paid_entrants = now.entered, now.converted
    rates = [f.overall_rate if has and has_pay else None for f, has in ((now, has_now), (before, has_before))]
    result.figures.append(figure("entry_to_paid", _("Entry → paid"), RATE, *rates))
    return result
