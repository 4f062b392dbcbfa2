"""A reference implementation of docs/metrics.md in plain Python, for the property tests.

Small data, obvious code, no SQL: it takes the raw facts (events, identity links, ad spend,
campaigns, placements, creatives) as plain dataclasses and works every number out the way
the docs define it, one loop at a time. tests/reports/test_reference_property.py loads the
same facts into the database through the real ingest path and compares each number the
metric functions return with the number computed here.

Where docs/metrics.md leaves a reading open, the reading of issue 12 is followed and the
choice is written next to the code ("Reading: …").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
RATE = Decimal("0.0001")
CENTS = Decimal("0.01")
NONE_LABEL = "(none)"

PAY = "pay_success"
REFUND = "refund_success"
LEAD = "lead_form_submit"
KEY_ACTIONS = ("add_to_cart", "start_checkout", "select_coupon", PAY)
OPERATIONAL = ("refund_request", "return_approved", "ticket_created")


# --- facts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ev:
    id: int  # the database id: only used to break ties between events at the same instant
    name: str
    user: str
    ts: datetime  # aware
    campaign: int | None = None  # resolved: the code's campaign, else the placement's
    placement: int | None = None
    source: str = ""
    app_id: str = ""
    page: str = ""
    value: Decimal | None = None
    session: str = ""
    props: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def order(self) -> tuple:
        return (self.ts, self.id)


@dataclass(frozen=True)
class PlacementFact:
    id: int
    campaign: int
    scene: str
    name: str


@dataclass(frozen=True)
class CreativeFact:
    id: int
    campaign: int
    ad_group: str
    lander_type: str
    external_id: str = ""


@dataclass(frozen=True)
class Spend:
    day: date
    campaign: int
    creative: int | None
    spend: Decimal
    impressions: int
    clicks: int
    reach: int
    ad_group: str = ""
    creative_name: str = ""


@dataclass
class World:
    events: list[Ev]
    persons: dict[str, str]  # user_id → person_id (ids without a link are their own person)
    campaigns: dict[int, str]  # id → code
    placements: dict[int, PlacementFact]
    creatives: dict[int, CreativeFact]
    spend: list[Spend]

    def person(self, ev: Ev) -> str:
        return self.persons.get(ev.user, ev.user)

    def named(self, *names: str) -> list[Ev]:
        return [e for e in self.events if e.name in names]

    def between(self, start: datetime, end: datetime, *names: str) -> list[Ev]:
        return [e for e in self.events if start <= e.ts < end and (not names or e.name in names)]

    def by_person(self, events: Iterable[Ev]) -> dict[str, list[Ev]]:
        grouped: dict[str, list[Ev]] = {}
        for e in sorted(events, key=lambda e: e.order):
            grouped.setdefault(self.person(e), []).append(e)
        return grouped

    @staticmethod
    def selected(events: Iterable[Ev], campaign: int | None) -> list[Ev]:
        """The events a `Filters(campaign_id=…)` selects (None: all)."""
        return [e for e in events if campaign is None or e.campaign == campaign]

    def is_touch(self, e: Ev) -> bool:
        return e.campaign is not None or e.placement is not None

    def scene(self, e: Ev) -> str | None:
        if e.placement is not None:
            return self.placements[e.placement].scene
        scene = e.props.get("scene")
        return None if scene in (None, "") else str(scene)

    def creative_of(self, e: Ev) -> CreativeFact | None:
        """The creative named by properties.creative_id: our id, or the ad platform's id
        (Creative.external_id, issue 12 item 9)."""
        ref = e.props.get("creative_id")
        if ref in (None, ""):
            return None
        ref = str(ref)
        # The platform's id first when a value is both (docs/metrics.md, Ads).
        for creative in self.creatives.values():
            if creative.external_id and creative.external_id == ref:
                return creative
        for creative in self.creatives.values():
            if str(creative.id) == ref:
                return creative
        return None


# --- numbers, exactly as docs/metrics.md rounds them -----------------------------------


def rate(numerator, denominator, places: Decimal = RATE) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return (Decimal(str(numerator)) / Decimal(str(denominator))).quantize(places, ROUND_HALF_UP)


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENTS, ROUND_HALF_UP)


def change(current, previous) -> Decimal | None:
    if current is None or previous is None or not previous:
        return None
    return rate(Decimal(str(current)) - Decimal(str(previous)), previous)


def nearest_rank(values: Sequence, p: Decimal) -> Any:
    """The value at rank ⌈p·n⌉ of the sorted values (docs: Percentiles)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def local_day(ts: datetime) -> date:
    return ts.astimezone(SHANGHAI).date()


def seconds(earlier: datetime, later: datetime) -> Decimal:
    return Decimal(str((later - earlier).total_seconds()))


# --- periods (plain dates, independent of reports.metrics.common.Period) ---------------


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return local_day(self.start)

    @property
    def last_day(self) -> date:
        return local_day(self.end - timedelta(microseconds=1))


def containing(kind: str, day: date) -> Span:
    if kind == "day":
        first, after = day, day + DAY
    elif kind == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    return Span(local_midnight(first), local_midnight(after))


# --- scans ---------------------------------------------------------------------------------

# WeChat scenes of a Mini Program opened from a code (scan, long-press, album; WECHAT.md).
CODE_SCAN_SCENES = {
    "1011", "1012", "1013", "1025", "1031", "1032", "1047", "1048", "1049", "1050", "1105", "1124", "1125",
    "1126", "1150",
}  # fmt: skip
SCAN_RUN = timedelta(minutes=30)


def scans(world: World) -> list[Ev]:
    """Every scan, as a `qr_scan` event (issue 12 item 6, docs/metrics.md "Scans").

    Candidates: `qr_scan` events, and `app_launch` / `app_show` with a placement whose
    `properties.wechat_scene` is a code-scan scene. Candidates of one person and placement
    following each other by at most 30 minutes are one scan, the earliest of the run. A
    `qr_scan` without a placement is always a scan of its own."""
    runs: dict[tuple, list[Ev]] = {}
    for e in sorted(world.events, key=lambda e: e.order):
        launch = (
            e.name in ("app_launch", "app_show")
            and e.placement is not None
            and str(e.props.get("wechat_scene", "")) in CODE_SCAN_SCENES
        )
        if e.name != "qr_scan" and not launch:
            continue
        key = (world.person(e), e.placement) if e.placement is not None else ("single", e.id)
        runs.setdefault(key, []).append(e)
    found = []
    for candidates in runs.values():
        previous = None
        for e in candidates:
            if previous is None or e.ts - previous.ts > SCAN_RUN:
                found.append(e if e.name == "qr_scan" else replace(e, name="qr_scan"))
            previous = e
    return sorted(found, key=lambda e: e.order)


def with_scans(world: World) -> World:
    """The same facts where `qr_scan` means a scan (launches from a code included, one per
    scan): the view of the reports that count scans."""
    others = [e for e in world.events if e.name != "qr_scan"]
    return replace(world, events=sorted(others + scans(world), key=lambda e: e.order))


# --- KPIs --------------------------------------------------------------------------------


@dataclass
class KPIRef:
    metric_kind: str
    event_name: str
    second_event_name: str
    period: str  # day | week | month
    target: Decimal
    direction: str = "up"


def kpi_spans(kpi_period: str, last_day: date) -> tuple[Span, Span]:
    """The KPI's own period kind ending on `last_day` (to date), and the same span of the
    previous period. Reading (issue 12 items 1 and 14): the previous span has as many days
    as the current one from the previous period's first day, cut at that period's end
    (31 March to date compares with all of February)."""
    own = containing(kpi_period, last_day)
    current = Span(own.start, min(own.end, local_midnight(last_day + DAY)))
    previous_whole = containing(kpi_period, own.first_day - DAY)
    if current == own:
        # A whole period compares with the whole period before (all of October, 31 days,
        # for all of November): the reading docs/metrics.md settles (issue 12 item 14).
        return current, previous_whole
    length = (current.last_day - current.first_day).days + 1
    previous_end = min(previous_whole.end, local_midnight(previous_whole.first_day + timedelta(days=length)))
    return current, Span(previous_whole.start, previous_end)


def kpi_value(world: World, kpi: KPIRef, span: Span, campaign: int | None = None) -> Decimal | None:
    """The filter selects event A (docs: Filters); B follows the person everywhere."""
    a_events = world.selected(world.between(span.start, span.end, kpi.event_name), campaign)
    kind = kpi.metric_kind
    if kind == "event_count":
        return Decimal(len(a_events))
    if kind == "unique_users":
        return Decimal(len({world.person(e) for e in a_events}))
    if kind == "value_sum":
        return money(sum((e.value or Decimal(0)) for e in a_events))
    first_a = {p: evs[0] for p, evs in world.by_person(a_events).items()}
    b_by_person = world.by_person(world.named(kpi.second_event_name))
    if kind == "conversion_rate":
        # B at or after the person's first A, within the same span.
        converted = sum(1 for p, a in first_a.items() if any(a.ts <= b.ts < span.end for b in b_by_person.get(p, [])))
        return rate(converted, len(first_a))
    # median_time: first B at or after the first A, whenever it happens.
    waits = []
    for p, a in first_a.items():
        later = [b for b in b_by_person.get(p, []) if b.ts >= a.ts]
        if later:
            waits.append(seconds(a.ts, later[0].ts))
    median = nearest_rank(waits, Decimal("0.5"))
    return None if median is None else median.quantize(Decimal("1"), ROUND_HALF_UP)


def kpi(world: World, kpi: KPIRef, last_day: date, campaign: int | None = None) -> dict:
    current, previous = kpi_spans(kpi.period, last_day)
    value = kpi_value(world, kpi, current, campaign)
    before = kpi_value(world, kpi, previous, campaign)
    on_target = None
    if value is not None:
        on_target = value >= kpi.target if kpi.direction == "up" else value <= kpi.target
    return {"value": value, "previous_value": before, "change": change(value, before), "on_target": on_target}


# --- funnel ------------------------------------------------------------------------------


def funnel_people(
    world: World,
    span: Span,
    steps: Sequence[str],
    window: timedelta,
    campaign: int | None = None,
    step_windows: Sequence[timedelta] | None = None,
) -> dict[str, dict]:
    """Per entrant: the entry event and the time each step was reached.

    A person enters with their first first-step event in the span; step k is reached by
    the first step-k event at or after reaching step k−1 and within `window` of entry
    (with `step_windows`: within step_windows[k−1] of reaching step k−1)."""
    entries = world.by_person(world.selected(world.between(span.start, span.end, steps[0]), campaign))
    later = world.by_person(world.named(*steps[1:]))
    journeys = {}
    for p, evs in entries.items():
        entry = evs[0]
        reached = [entry.ts]
        for k, name in enumerate(steps[1:], start=1):
            hits = [
                e
                for e in later.get(p, [])
                if e.name == name
                and e.ts >= reached[-1]
                and (e.ts - entry.ts <= window if step_windows is None else e.ts - reached[-1] <= step_windows[k - 1])
            ]
            if not hits:
                break
            reached.append(hits[0].ts)
        journeys[p] = {"entry": entry, "reached": reached}
    return journeys


def funnel(
    world: World,
    span: Span,
    steps: Sequence[str],
    window: timedelta = timedelta(days=7),
    people=None,
    campaign: int | None = None,
    step_windows: Sequence[timedelta] | None = None,
):
    """{"entered", "converted", "steps": [(people, events, rate_prev, rate_start, drop_off)]}.

    Events of a step: that step's events by the people who reached it, from the moment they
    reached it until their window closes (entry + window). Reading (issue 12 item 4): step
    1 counts the same way, from entry until the window closes, even past the period end.
    With `step_windows`, step k's events run from reaching it until step_windows[k−1] after
    reaching step k−1; step 1's until step_windows[0] after entry (h1's reading)."""
    journeys = funnel_people(world, span, steps, window, campaign, step_windows) if people is None else people
    by_person = world.by_person(world.named(*steps))
    entered = len(journeys)
    out = []
    previous = None
    for k, name in enumerate(steps):
        reached = {p: j for p, j in journeys.items() if len(j["reached"]) > k}
        events = 0
        for p, j in reached.items():
            t0, tk = j["entry"].ts, j["reached"][k]
            if step_windows is None:
                start, limit = t0, window
            else:
                start, limit = j["reached"][max(k - 1, 0)], step_windows[max(k - 1, 0)]
            events += sum(1 for e in by_person.get(p, []) if e.name == name and e.ts >= tk and e.ts - start <= limit)
        count = len(reached)
        out.append(
            (
                count,
                events,
                rate(count, previous) if previous is not None else None,
                rate(count, entered),
                (previous - count) if previous is not None else 0,
            )
        )
        previous = count
    converted = out[-1][0] if out else 0
    return {"entered": entered, "converted": converted, "overall_rate": rate(converted, entered), "steps": out}


def funnel_by(
    world: World, span: Span, steps: Sequence[str], dimension: str, window=timedelta(days=7), campaign=None
) -> dict:
    """{group key: funnel}: each entrant in exactly one group, that of their entry event."""
    journeys = funnel_people(world, span, steps, window, campaign)
    groups: dict[str | None, dict] = {}
    for p, j in journeys.items():
        entry = j["entry"]
        value = {"campaign": entry.campaign, "source": entry.source or None, "placement": entry.placement}[dimension]
        key = None if value is None else str(value)
        groups.setdefault(key, {})[p] = j
    return {key: funnel(world, span, steps, window, people=members) for key, members in groups.items()}


# --- attribution ---------------------------------------------------------------------------


def attribution(world: World, span: Span, campaign: int | None = None) -> dict:
    """The filter selects the payments; touches are the person's, from anywhere."""
    payers = world.by_person(world.selected(world.between(span.start, span.end, PAY), campaign))
    touches = world.by_person(e for e in world.events if world.is_touch(e))
    result = {
        "converters": len(payers),
        "orders": sum(len(v) for v in payers.values()),
        "revenue": money(sum((e.value or 0) for v in payers.values() for e in v)),
        "unattributed": 0,
        "first": {"campaign": {}, "placement": {}, "scene": {}},
        "last": {"campaign": {}, "placement": {}, "scene": {}},
    }
    for p, pays in payers.items():
        first_pay = pays[0].ts
        # Reading (issue 12 item 14): the first touch is at or before the first payment.
        before = [t for t in touches.get(p, []) if t.ts <= first_pay]
        if not before:
            result["unattributed"] += 1
            continue
        for model, touch in (("first", before[0]), ("last", before[-1])):
            keys = {"campaign": touch.campaign, "placement": touch.placement, "scene": world.scene(touch)}
            for dimension, key in keys.items():
                row = result[model][dimension].setdefault(None if key is None else str(key), [0, 0, Decimal(0)])
                row[0] += 1
                row[1] += len(pays)
                row[2] += sum((e.value or 0) for e in pays)
    for model in ("first", "last"):
        for rows in result[model].values():
            for key, (people, orders, revenue) in list(rows.items()):
                rows[key] = (people, orders, money(revenue), rate(people, result["converters"]))
    return result


# --- cohorts -------------------------------------------------------------------------------

RETURN_DAYS = (7, 14, 30)


def cohort_members(world: World, span: Span, campaign: int | None = None) -> dict[str, dict]:
    """People first seen in the span (the filter selects their first event): their first
    event, t0 and groups."""
    members = {}
    for p, evs in world.by_person(world.events).items():
        first = evs[0]
        if not (span.start <= first.ts < span.end) or not world.selected([first], campaign):
            continue
        creative = world.creative_of(first)
        ad_group = creative.ad_group if creative else (first.props.get("ad_group") or None)
        placed = [e for e in evs if e.placement is not None and e.ts < span.end]
        members[p] = {
            "t0": first.ts,
            "campaign": first.campaign,
            "week": iso_week_label(local_day(first.ts)),
            "ad_group": ad_group or None,
            "entry_point": str(placed[0].placement) if placed else None,
            "events": evs,
        }
    return members


def iso_week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def cohorts(
    world: World, span: Span, by: str, as_of: datetime, cost_ratio: Decimal, campaign: int | None = None
) -> dict:
    members = cohort_members(world, span, campaign)
    spend: dict[int, Decimal] = {}
    for s in world.spend:
        if span.first_day <= s.day <= span.last_day and campaign in (None, s.campaign):
            spend[s.campaign] = spend.get(s.campaign, Decimal(0)) + s.spend
    brought: dict[int, int] = {}
    for m in members.values():
        if m["campaign"] is not None:
            brought[m["campaign"]] = brought.get(m["campaign"], 0) + 1

    def row(people: dict) -> dict:
        out: dict[str, Any] = {"people": len(people)}
        for n in RETURN_DAYS:
            returned = 0
            for m in people.values():
                if any(DAY <= e.ts - m["t0"] <= n * DAY and e.ts < as_of for e in m["events"]):
                    returned += 1
            out[f"returned_{n}"] = returned
            out[f"return_rate_{n}"] = rate(returned, len(people))
            # Per row (issue 12 item 3): every member's window closed before as_of; the
            # window's last instant t0 + N days is inside it (ends are inclusive).
            out[f"complete_{n}"] = all(m["t0"] + n * DAY < as_of for m in people.values())
        later = [e for m in people.values() for e in m["events"] if m["t0"] <= e.ts < as_of]
        out["orders"] = sum(1 for e in later if e.name == PAY)
        revenue = money(sum((e.value or 0) for e in later if e.name == PAY))
        refunds = money(sum((e.value or 0) for e in later if e.name == REFUND))
        ad_spend = Decimal(0)
        for campaign, amount in spend.items():
            mine = sum(1 for m in people.values() if m["campaign"] == campaign)
            if mine:
                ad_spend += amount * mine / brought[campaign]
        ad_spend = money(ad_spend)
        cost = money((revenue - refunds) * cost_ratio)
        margin = revenue - refunds - cost - ad_spend
        out.update(
            revenue=revenue,
            refunds=refunds,
            ad_spend=ad_spend,
            cost_of_goods=cost,
            contribution_margin=margin,
            ltv=rate(revenue - refunds, len(people), CENTS),
            margin_per_person=rate(margin, len(people), CENTS),
        )
        return out

    groups: dict[str | None, dict] = {}
    for p, m in members.items():
        groups.setdefault(m[by], {})[p] = m
    unallocated = money(sum((amount for c, amount in spend.items() if not brought.get(c)), Decimal(0)))
    return {
        "rows": {key: row(people) for key, people in groups.items()},
        "totals": row(members),
        "unallocated_spend": unallocated,
    }


# --- daily health check ------------------------------------------------------------------

GOOD_DIRECTION = {
    "spend": None,
    "ctr": "up",
    "orders": "up",
    "revenue": "up",
    "follows": "up",
    "unfollows": "down",
    "qr_scans": "up",
}


def news(moved, flagged: bool, key: str) -> str:
    """A flagged move is good or bad news by the metric's good direction (issue 12 item 13)."""
    if not flagged:
        return ""
    good = GOOD_DIRECTION[key]
    if good is None:
        return "check"
    return "good" if (moved > 0) == (good == "up") else "bad"


def health(
    world: World,
    day: date,
    threshold: Decimal = Decimal("0.30"),
    *,
    min_rate_sample: int = 0,
    scans=None,
    campaign: int | None = None,
) -> dict:
    """Per metric: value, trailing average (rounded for display), change and flag computed
    from the exact average (issue 12 item 2); CTR is not flagged when the day or the 7 days
    before have fewer than `min_rate_sample` impressions (item 13).

    `scans(world, day) -> int` counts a day's QR scans; by default `qr_scan` events."""
    days = [day - timedelta(days=7 - i) for i in range(8)]

    def spend_of(d: date, attr: str):
        rows = [s for s in world.spend if s.day == d and campaign in (None, s.campaign)]
        return sum((getattr(s, attr) for s in rows), Decimal(0) if attr == "spend" else 0)

    def events_on(d: date, name: str) -> list[Ev]:
        return [e for e in world.selected(world.named(name), campaign) if local_day(e.ts) == d]

    series = {
        "spend": [money(spend_of(d, "spend")) for d in days],
        "orders": [Decimal(len(events_on(d, PAY))) for d in days],
        "revenue": [money(sum((e.value or 0) for e in events_on(d, PAY))) for d in days],
        "follows": [Decimal(len(events_on(d, "follow"))) for d in days],
        "unfollows": [Decimal(len(events_on(d, "unfollow"))) for d in days],
        "qr_scans": [Decimal(scans(world, d) if scans else len(events_on(d, "qr_scan"))) for d in days],
    }
    out = {}
    for key, values in series.items():
        exact_average = sum(values[:-1], Decimal(0)) / 7
        moved = None if not exact_average else (values[-1] - exact_average) / exact_average
        flagged = moved is not None and abs(moved) > threshold
        # Display: money to the cent, a mean of counts to one place (2.9 follows a day).
        places = CENTS if key in ("spend", "revenue") else Decimal("0.1")
        out[key] = {
            "value": values[-1],
            "trailing_average": exact_average.quantize(places, ROUND_HALF_UP),
            "change": None if moved is None else moved.quantize(RATE, ROUND_HALF_UP),
            "flagged": flagged,
            "news": news(moved, flagged, key),
            "series": values,
        }
    clicks = [spend_of(d, "clicks") for d in days]
    impressions = [spend_of(d, "impressions") for d in days]
    ctr_series = [rate(c, i) for c, i in zip(clicks, impressions, strict=True)]
    exact_ctr_avg = Decimal(sum(clicks[:-1])) / sum(impressions[:-1]) if sum(impressions[:-1]) else None
    exact_ctr = Decimal(clicks[-1]) / impressions[-1] if impressions[-1] else None
    moved = None
    if exact_ctr is not None and exact_ctr_avg:
        moved = (exact_ctr - exact_ctr_avg) / exact_ctr_avg
    flagged = (
        moved is not None and abs(moved) > threshold and min(impressions[-1], sum(impressions[:-1])) >= min_rate_sample
    )
    out["ctr"] = {
        "value": ctr_series[-1],
        "trailing_average": None if exact_ctr_avg is None else exact_ctr_avg.quantize(RATE, ROUND_HALF_UP),
        "change": None if moved is None else moved.quantize(RATE, ROUND_HALF_UP),
        "flagged": flagged,
        "news": news(moved, flagged, "ctr"),
        "series": ctr_series,
    }
    return out


# --- ads -----------------------------------------------------------------------------------


def ads(
    world: World,
    span: Span,
    lookback: timedelta = timedelta(days=30),
    campaign: int | None = None,
    creative_by_campaign_touch: bool = True,
) -> dict:
    """Totals and per-campaign / per-creative rows: spend from ad spend, conversions each
    attributed to the person's latest touch at or before it within the lookback. The
    campaign filter keeps that campaign's spend and the conversions attributed to it."""
    rows: dict[tuple, dict] = {}

    def row(key: tuple) -> dict:
        return rows.setdefault(
            key,
            {
                "spend": Decimal(0),
                "impressions": 0,
                "clicks": 0,
                "reach": 0,
                "leads": 0,
                "orders": 0,
                "revenue": Decimal(0),
            },
        )

    row(("total",))
    for s in world.spend:
        if not (span.first_day <= s.day <= span.last_day) or campaign not in (None, s.campaign):
            continue
        targets = [("total",), ("campaign", str(s.campaign))]
        if s.creative is not None:
            creative = world.creatives[s.creative]
            targets += [("creative", str(s.creative)), ("lander", creative.lander_type)]
        else:
            # Spend not matched to one of our creatives is its own row, named by what the ad
            # platform sent (campaign code / ad group / creative name), lander unknown.
            name = f"{world.campaigns[s.campaign]}/{s.ad_group}/{s.creative_name}"
            targets += [("creative", name), ("lander", "unknown")]
        for key in targets:
            r = row(key)
            r["spend"] += s.spend
            r["impressions"] += s.impressions
            r["clicks"] += s.clicks
            r["reach"] += s.reach

    touches = world.by_person(e for e in world.events if world.is_touch(e))
    unattributed_orders, unattributed_revenue = 0, Decimal(0)
    for conv in world.between(span.start, span.end, PAY, LEAD):
        candidates = [t for t in touches.get(world.person(conv), []) if t.ts <= conv.ts and conv.ts - t.ts <= lookback]
        if campaign is not None and not (candidates and max(candidates, key=lambda t: t.order).campaign == campaign):
            continue
        if not candidates:
            if conv.name == PAY:
                unattributed_orders += 1
                unattributed_revenue += conv.value or 0
            continue
        touch = max(candidates, key=lambda t: t.order)
        targets = [("total",), ("campaign", str(touch.campaign))]
        if creative_by_campaign_touch:
            # Issue 12 item 9: the creative_id of the latest touch of the attributed campaign
            # that carries one (an ad click names it; the session after carries only the
            # campaign); an unknown value leaves the conversion without a creative.
            named = [
                t for t in candidates if t.campaign == touch.campaign and t.props.get("creative_id") not in (None, "")
            ]
            creative = world.creative_of(max(named, key=lambda t: t.order)) if named else None
        else:
            creative = world.creative_of(touch)
        if creative is not None:
            targets += [("creative", str(creative.id)), ("lander", creative.lander_type)]
        for key in targets:
            r = row(key)
            if conv.name == PAY:
                r["orders"] += 1
                r["revenue"] += conv.value or 0
            else:
                r["leads"] += 1
    for r in rows.values():
        r["spend"] = money(r["spend"])
        r["revenue"] = money(r["revenue"])
        r["ctr"] = rate(r["clicks"], r["impressions"])
        r["cpc"] = rate(r["spend"], r["clicks"], CENTS)
        r["cpm"] = rate(r["spend"] * 1000, r["impressions"], CENTS)
        r["frequency"] = rate(r["impressions"], r["reach"], CENTS)
        r["cost_per_lead"] = rate(r["spend"], r["leads"], CENTS)
        r["cost_per_order"] = rate(r["spend"], r["orders"], CENTS)
        r["roas"] = rate(r["revenue"], r["spend"], CENTS)  # 2 decimals (issue 12 item 12)
    return {
        "rows": rows,
        "unattributed_orders": unattributed_orders,
        "unattributed_revenue": money(unattributed_revenue),
    }


# --- Mini Program ------------------------------------------------------------------------------


def miniprogram(world: World, span: Span, campaign: int | None = None) -> dict:
    inside = world.selected(world.between(span.start, span.end), campaign)

    def count(name: str) -> tuple[int, int]:
        evs = [e for e in inside if e.name == name]
        return len(evs), len({world.person(e) for e in evs})

    pages: dict[str, list[Ev]] = {}
    for e in inside:
        if e.name == "page_view":
            pages.setdefault(e.page, []).append(e)
    loads = []
    for e in inside:
        if e.name == "page_load_time":
            ms = e.value if e.value is not None else e.props.get("ms")
            if ms is not None:
                loads.append(Decimal(str(ms)))
    p50, p95 = nearest_rank(loads, Decimal("0.5")), nearest_rank(loads, Decimal("0.95"))
    views, errors = count("page_view")[0], count("api_error")[0]
    retries, checkouts = count("payment_retry")[0], count("start_checkout")[0]
    return {
        "page_views": {page: (len(evs), len({world.person(e) for e in evs})) for page, evs in pages.items()},
        "key_actions": [(name, *count(name)) for name in KEY_ACTIONS],
        "operational": [(name, *count(name)) for name in OPERATIONAL],
        "performance": {
            "page_load_samples": len(loads),
            "page_load_p50_ms": None if p50 is None else p50.quantize(Decimal("1"), ROUND_HALF_UP),
            "page_load_p95_ms": None if p95 is None else p95.quantize(Decimal("1"), ROUND_HALF_UP),
            "api_errors": errors,
            "page_views": views,
            "api_error_rate": rate(errors, views),
            "payment_retries": retries,
            "checkouts": checkouts,
            "payment_retry_rate": rate(retries, checkouts),
        },
    }


# --- engagement (issue 18) -------------------------------------------------------------------


def engagement(world: World, span: Span, campaign: int | None = None) -> dict:
    """Sessions (a session_id with a page_view in the period), their pages, and the source,
    campaign and person of each one's first page_view; time on page from page_leave
    (properties.duration_ms, else value); clicks per page and element, top 5 per page."""
    inside = world.selected(world.between(span.start, span.end), campaign)
    views = sorted((e for e in inside if e.name == "page_view"), key=lambda e: e.order)
    sessions: dict[str, list[Ev]] = {}
    for e in views:
        if e.session:
            sessions.setdefault(e.session, []).append(e)

    def depth(group: list[list[Ev]]) -> tuple:
        pages = [len(evs) for evs in group]
        people = len({world.person(evs[0]) for evs in group})
        return (
            len(group),
            sum(pages),
            people,
            rate(sum(pages), len(group), CENTS),
            nearest_rank(pages, Decimal("0.5")),
            rate(len(group), people, CENTS),
        )

    groups: dict[tuple, list[list[Ev]]] = {}
    for evs in sessions.values():
        first = evs[0]
        code = world.campaigns.get(first.campaign, "") if first.campaign is not None else ""
        groups.setdefault((first.source, code), []).append(evs)

    leaves: dict[str, list] = {}
    for e in inside:
        if e.name == "page_leave":
            ms = e.props.get("duration_ms")
            ms = ms if ms is not None else e.value
            leaves.setdefault(e.page, []).append(None if ms is None else Decimal(str(ms)))

    def percentiles(values: list) -> tuple:
        samples = [v for v in values if v is not None]
        p50, p95 = nearest_rank(samples, Decimal("0.5")), nearest_rank(samples, Decimal("0.95"))
        whole = lambda v: None if v is None else v.quantize(Decimal("1"), ROUND_HALF_UP)  # noqa: E731
        return len(samples), whole(p50), whole(p95), len(values) - len(samples)

    clicks: dict[tuple, list[Ev]] = {}
    for e in inside:
        if e.name == "element_click":
            key = (e.page, str(e.props.get("element_id") or ""), str(e.props.get("element_name") or ""))
            clicks.setdefault(key, []).append(e)
    top: dict[str, list] = {}
    for (page, eid, ename), evs in clicks.items():
        top.setdefault(page, []).append((len(evs), eid, ename, len({world.person(e) for e in evs})))
    elements = [
        (page, eid, ename, n, people)
        for page in sorted(top)
        for n, eid, ename, people in sorted(top[page], key=lambda r: (-r[0], r[1], r[2]))[:5]
    ]

    return {
        "total": depth(list(sessions.values())) if sessions else (0, 0, 0, None, None, None),
        "by_source_campaign": {key: depth(group) for key, group in groups.items()},
        "page_views_without_session": sum(1 for e in views if not e.session),
        "time_on_page": {page: percentiles(values) for page, values in leaves.items()},
        "top_elements": elements,
    }


# --- placements (issue 12 item 8) ---------------------------------------------------------


def placements(world: World, span: Span, lookback: timedelta = timedelta(days=30), campaign: int | None = None):
    """Per placement: scans (short link / WeChat codes), scanners, and the follows, orders,
    paying people, revenue and refunds attributed to it: each `follow`, `pay_success` and
    `refund_success` in the period goes to the person's latest event carrying a placement
    at or before it, within the lookback. With a campaign: all that campaign's placements
    (zeros included) and nothing else."""

    def empty() -> dict:
        return {
            "scans": 0,
            "link_scans": 0,
            "code_scans": 0,
            "scanners": set(),
            "follows": 0,
            "orders": 0,
            "payers": set(),
            "revenue": Decimal(0),
            "refunds": Decimal(0),
        }

    rows: dict[int | None, dict] = {}
    for scan in scans(world):
        if not (span.start <= scan.ts < span.end) or scan.placement is None:
            continue
        row = rows.setdefault(scan.placement, empty())
        row["scans"] += 1
        original = next(e for e in world.events if e.id == scan.id)
        if original.name == "qr_scan" and scan.props.get("via") == "short_link":
            row["link_scans"] += 1
        else:
            row["code_scans"] += 1
        row["scanners"].add(world.person(scan))

    totals = empty()
    touches = world.by_person(e for e in world.events if e.placement is not None)
    for conv in world.between(span.start, span.end, "follow", PAY, REFUND):
        candidates = [t for t in touches.get(world.person(conv), []) if t.ts <= conv.ts and conv.ts - t.ts <= lookback]
        key = max(candidates, key=lambda t: t.order).placement if candidates else None
        for row in (rows.setdefault(key, empty()), totals):
            if conv.name == "follow":
                row["follows"] += 1
            elif conv.name == PAY:
                row["orders"] += 1
                row["payers"].add(world.person(conv))
                row["revenue"] += conv.value or 0
            else:
                row["refunds"] += conv.value or 0

    def finish(row: dict) -> dict:
        out = {k: v for k, v in row.items() if k not in ("scanners", "payers")}
        out.update(
            scanners=len(row["scanners"]),
            paying_people=len(row["payers"]),
            revenue=money(row["revenue"]),
            refunds=money(row["refunds"]),
        )
        return out

    unattributed = finish(rows.pop(None, empty()))
    if campaign is not None:
        mine = [pk for pk, p in world.placements.items() if p.campaign == campaign]
        rows = {pk: rows.get(pk, empty()) for pk in mine}
    totals = finish(totals)
    return {
        "rows": {pk: finish(row) for pk, row in rows.items()},
        "unattributed": unattributed,
        "totals": {k: totals[k] for k in ("follows", "paying_people", "orders", "revenue", "refunds")},
    }


# --- headline (issue 12 item 10) ------------------------------------------------------------


def headline(world: World, span: Span, previous: Span, entry_step: str | None, campaign: int | None = None):
    """Orders, paying people, gross revenue, refunds, net revenue and entry → paid for the
    period and the one before. A figure is None when its data is missing, not zero: no event
    at all in that period, or no `pay_success` (`refund_success`) ever received up to the
    period's end. Entry → paid is the funnel [entry step, pay_success] (7-day window)."""
    has = {
        "now": bool(world.between(span.start, span.end)),
        "before": bool(world.between(previous.start, previous.end)),
        "pay": any(e.ts < span.end for e in world.named(PAY)),
        "refund": any(e.ts < span.end for e in world.named(REFUND)),
    }

    def numbers(s: Span, exists: bool) -> dict:
        pays = world.selected(world.between(s.start, s.end, PAY), campaign)
        refunds = world.selected(world.between(s.start, s.end, REFUND), campaign)
        gross = money(sum((e.value or 0) for e in pays)) if exists and has["pay"] else None
        refunded = money(sum((e.value or 0) for e in refunds)) if exists and has["refund"] else None
        rate_ = None
        if entry_step and exists and has["pay"]:
            rate_ = funnel(world, s, [entry_step, PAY], campaign=campaign)["overall_rate"]
        return {
            "orders": len(pays) if exists and has["pay"] else None,
            "paying_people": len({world.person(e) for e in pays}) if exists and has["pay"] else None,
            "gross_revenue": gross,
            "refunds": refunded,
            "net_revenue": gross - refunded if gross is not None and refunded is not None else None,
            "entry_to_paid": rate_,
        }

    now, before = numbers(span, has["now"]), numbers(previous, has["before"])
    figures = {key: (now[key], before[key], change(now[key], before[key])) for key in now}
    entrants = None
    if has["now"] and entry_step:
        entered = funnel(world, span, [entry_step, PAY], campaign=campaign)
        entrants = (entered["entered"], entered["converted"])
    return {"figures": figures, "entrants": entrants}


# --- Official Account content ----------------------------------------------------------------

CTA_TARGETS = ("menu", "mini_program", "form")
OA_EVENTS = ("follow", "unfollow", "qr_scan", "menu_click", "article_open", "article_read_complete", "article_share")


def articles(world: World, span: Span, campaign: int | None = None) -> dict:
    inside = world.selected(world.between(span.start, span.end), campaign)
    opens = [e for e in inside if e.name == "article_open"]
    completions = sum(1 for e in inside if e.name == "article_read_complete")
    by_target = {
        target: sum(
            1
            for e in inside
            if e.name in ("cta_click", "menu_click")
            and e.props.get("from") == "article"
            and e.props.get("target") == target
        )
        for target in CTA_TARGETS
    }
    clicks = sum(by_target.values())
    return {
        "opens": len(opens),
        "readers": len({world.person(e) for e in opens}),
        "read_completions": completions,
        "read_completion_rate": rate(completions, len(opens)),
        "shares": sum(1 for e in inside if e.name == "article_share"),
        "cta_clicks": clicks,
        "cta_clicks_by_target": by_target,
        "cta_click_rate": rate(clicks, len(opens)),
    }


def menu_ctr(world: World, span: Span, plan_oa_names: set[str], campaign: int | None = None) -> dict:
    """OA visits = distinct (person, local day) with an Official Account event: the tracking
    plan's official_account events, WeChat's oa_* pushes except the mass-send report, and
    follow/unfollow/scan/menu/article events. CTR = visits with a menu_click / visits."""
    visits: dict[tuple, bool] = {}
    clicks = 0
    for e in world.selected(world.between(span.start, span.end), campaign):
        official = e.name in OA_EVENTS or e.name.startswith("oa_") or e.name in plan_oa_names
        if not official or e.name == "oa_masssendjobfinish":
            continue
        key = (world.person(e), local_day(e.ts))
        visits[key] = visits.get(key, False) or e.name == "menu_click"
        clicks += e.name == "menu_click"
    clicked = sum(visits.values())
    return {
        "menu_clicks": clicks,
        "oa_visits": len(visits),
        "visits_with_menu_click": clicked,
        "ctr": rate(clicked, len(visits)),
    }


def top_paths(
    world: World, span: Span, length: int = 3, lookback: timedelta = timedelta(days=30), campaign: int | None = None
) -> dict[tuple, int]:
    """For each person's first pay_success in the span (the filter selects the payments), the
    last `length` pages they were on before it: events with a page other than payments,
    within `lookback` before the payment (the limit included), consecutive repeats
    collapsed. {pages oldest first: people}."""
    paths: dict[tuple, int] = {}
    for p, pays in world.by_person(world.selected(world.between(span.start, span.end, PAY), campaign)).items():
        paid = pays[0].ts
        pages = [
            e.page
            for e in sorted(world.events, key=lambda e: e.order)
            if world.person(e) == p and e.page and e.name != PAY and paid - lookback <= e.ts < paid
        ]
        collapsed = [page for i, page in enumerate(pages) if i == 0 or pages[i - 1] != page]
        if collapsed:
            path = tuple(collapsed[-length:])
            paths[path] = paths.get(path, 0) + 1
    return paths
