"""The funnel (K2, R1): ordered steps, people who enter in the period and convert until
their window closes. One query for the whole funnel (one CTE per step), plus one to read
the default steps and one to label the groups of `funnel_by`.

Definitions:
- A person *enters* with their first first-step event in the period (the filters apply to
  this event; of two at the same instant, the one stored first). For `funnel_by`, that entry
  event's campaign/source/placement is the person's one group, so the groups add up to the
  funnel's `entered`.
- A person *reaches* step k with the first step-k event at or after the time they reached
  step k−1, and no later than `window` after entry. With `step_windows` (one per step after
  the first) the limit is instead `step_windows[k−1]` after reaching step k−1.
- Later steps follow the person everywhere (any source, campaign or app) and may happen
  after the period ends, until the window closes.
- *Events* of a step count that step's events by the people who reached it, from the
  moment they reached it until their window for it closes. The first step is counted the
  same way: the entrant's first-step events (any source, like later steps) from entry until
  `window` after entry (with `step_windows`: until `step_windows[0]` after entry), even when
  that runs past the period's end.
- A first step of `qr_scan` counts scans as `reports.metrics.scans` defines them (Mini
  Program launches from a placement's code included, one per scan), for entry and events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from campaigns.models import Campaign, EventDefinition, Placement
from reports.periods import Period

from .common import (
    QR_SCAN,
    Filters,
    db_datetime,
    events_table,
    in_list,
    in_period,
    materialized,
    person_of,
    ratio,
    seconds_between,
)
from .scans import scans_sql
from .sql import Sql

DIMENSIONS = {"campaign": "e.campaign_id", "source": "e.source", "placement": "e.placement_id"}
NONE_LABEL = "(none)"


@dataclass
class FunnelStep:
    position: int  # 1-based
    event_name: str
    people: int  # unique people who reached the step
    events: int  # the step's events by those people (see module docstring)
    rate_from_previous: Decimal | None  # people / people at the previous step (step 1: None)
    rate_from_start: Decimal | None  # people / people who entered
    drop_off: int  # people lost since the previous step


@dataclass
class Funnel:
    period_label: str
    window_seconds: int | None  # None when per-step windows are used
    step_window_seconds: list[int] | None
    steps: list[FunnelStep]
    entered: int
    converted: int  # people who reached the last step
    overall_rate: Decimal | None  # converted / entered

    def worst_step(self) -> FunnelStep | None:
        """The step after which the largest share of people is lost (lowest step rate)."""
        later = [s for s in self.steps[1:] if s.rate_from_previous is not None]
        return min(later, key=lambda s: s.rate_from_previous) if later else None


@dataclass
class FunnelGroup:
    dimension: str  # campaign | source | placement
    key: str | None  # campaign/placement id as text, or the source; None = events without one
    label: str
    funnel: Funnel


def default_steps() -> list[str]:
    """The tracking plan's funnel: event definitions with a funnel position, in order."""
    return list(
        EventDefinition.objects.filter(funnel_position__isnull=False)
        .order_by("funnel_position", "name")
        .values_list("name", flat=True)
    )


def funnel(
    period: Period,
    filters: Filters | None = None,
    *,
    steps: Sequence[str] | None = None,
    window: timedelta = timedelta(days=7),
    step_windows: Sequence[timedelta] | None = None,
) -> Funnel:
    """The funnel of everyone who entered in `period` (see the module docstring)."""
    steps = list(steps) if steps is not None else default_steps()
    counts = _counts(period, filters or Filters(), steps, window, step_windows, dimension=None)
    return _build(period, steps, window, step_windows, counts.get(None, {}))


def funnel_by(
    period: Period,
    dimension: str = "campaign",
    filters: Filters | None = None,
    *,
    steps: Sequence[str] | None = None,
    window: timedelta = timedelta(days=7),
    step_windows: Sequence[timedelta] | None = None,
) -> list[FunnelGroup]:
    """One funnel per campaign, source or placement of the entry event, most entrants first."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"Unknown funnel dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}.")
    steps = list(steps) if steps is not None else default_steps()
    counts = _counts(period, filters or Filters(), steps, window, step_windows, dimension=dimension)
    labels = _labels(dimension, [key for key in counts if key is not None])
    groups = [
        FunnelGroup(
            dimension=dimension,
            key=None if key is None else str(key),
            label=NONE_LABEL if key is None else labels.get(key, str(key)),
            funnel=_build(period, steps, window, step_windows, by_step),
        )
        for key, by_step in counts.items()
    ]
    groups.sort(key=lambda g: (-g.funnel.entered, g.label))
    return groups


def _labels(dimension: str, keys: list) -> dict:
    if not keys or dimension == "source":
        return {}
    if dimension == "campaign":
        return {pk: code for pk, code in Campaign.objects.filter(pk__in=keys).values_list("pk", "code")}
    return {
        pk: f"{code} / {name}"
        for pk, code, name in Placement.objects.filter(pk__in=keys).values_list("pk", "campaign__code", "name")
    }


def _counts(
    period: Period,
    filters: Filters,
    steps: list[str],
    window: timedelta,
    step_windows: Sequence[timedelta] | None,
    *,
    dimension: str | None,
) -> dict:
    """{group key: {step index: (people, events)}} from one query."""
    if not steps:
        return {}
    if step_windows is not None and len(step_windows) != len(steps) - 1:
        raise ValueError(f"step_windows needs one window per step after the first ({len(steps) - 1}).")
    horizon = sum(step_windows, timedelta()) if step_windows is not None else window
    first_window = step_windows[0] if step_windows else window
    # One CTE per distinct step event name (the first step's too: its events are counted
    # after entry until the window closes, like a later step's).
    names = list(dict.fromkeys(steps))
    who = person_of("e")
    per_person = {"materialized": materialized(), "person": who.key, "identity": who.join}

    # e0: the entry step's events in the period (filtered); later: every step's events,
    # anyone's, with the identity join done once (a hash of the identity table per join
    # cost ~40 ms at 140k identities, once per step before); ev<j>: one step's events.
    # Small per-step CTEs keep each join (and its row estimate) to one event name.
    # A first step of qr_scan means scans: Mini Program launches from a placement's code
    # count too, once per scan (reports.metrics.scans), for entering and for its events.
    scan_entry = steps[0] == QR_SCAN
    raw_names = [name for name in names if not (scan_entry and name == QR_SCAN)]
    if dimension:
        # The person's group is that of their entry event, so each entrant is in one group.
        entry = Sql("""s0 AS {materialized}(
            SELECT g, p, t AS t0, t FROM (
                SELECT g, p, t, ROW_NUMBER() OVER (PARTITION BY p ORDER BY t, id) AS rn FROM e0
            ) x WHERE rn = 1
        )""").format(materialized=materialized())
    else:
        entry = Sql("s0 AS {materialized}(SELECT g, p, MIN(t) AS t0, MIN(t) AS t FROM e0 GROUP BY g, p)").format(
            materialized=materialized()
        )
    ctes = [
        Sql(
            """e0 AS {materialized}(
            SELECT {group} AS g, {person} AS p, e.ts AS t, e.id FROM {entries} e {identity}
            WHERE e.event_name = %(entry_step)s AND {span}
        )""",
            {"entry_step": steps[0]},
        ).format(
            group=DIMENSIONS[dimension] if dimension else "NULL",
            entries=scans_sql(period, until=horizon) if scan_entry else events_table(),
            span=in_period(period, filters),
            **per_person,
        )
    ]
    if raw_names:
        ctes.append(
            Sql(
                """later AS {materialized}(
            SELECT e.event_name AS n, {person} AS p, e.ts AS t FROM {events} e {identity}
            WHERE e.event_name IN {later_names} AND e.ts >= %(start)s AND e.ts < %(later_end)s
        )""",
                {"start": db_datetime(period.start), "later_end": db_datetime(period.end + horizon)},
            ).format(events=events_table(), later_names=in_list(raw_names, "later_name"), **per_person)
        )
    for j, name in enumerate(names):
        if scan_entry and name == QR_SCAN:
            ctes.append(
                Sql("ev{j} AS {materialized}(SELECT e.p, e.ts AS t FROM {scans} e)").format(
                    j=str(j), materialized=materialized(), scans=scans_sql(period, until=horizon)
                )
            )
        else:
            ctes.append(
                Sql(
                    f"ev{j} AS {{materialized}}(SELECT p, t FROM later WHERE n = %(step_name_{j})s)",
                    {f"step_name_{j}": name},
                ).format(materialized=materialized())
            )
    ctes.append(entry)

    selects = [
        Sql(
            """SELECT 0 AS k, s.g, COUNT(DISTINCT s.p) AS people, COUNT(*) AS events FROM s0 s
        JOIN ev0 ev ON ev.p = s.p AND ev.t >= s.t0 AND {since_entry} <= %(first_window)s GROUP BY s.g""",
            {"first_window": first_window.total_seconds()},
        ).format(since_entry=seconds_between("s.t0", "ev.t"))
    ]
    for k in range(1, len(steps)):
        # Reaching step k (s is step k−1) and counting its events (s is step k, whose
        # tprev is when step k−1 was reached) use the same window.
        if step_windows is not None:
            limit_param = {f"step_window_{k}": step_windows[k - 1].total_seconds()}
            limit = Sql(f"{seconds_between('s.t', 'ev.t')} <= %(step_window_{k})s", limit_param)
            count_limit = Sql(f"{seconds_between('s.tprev', 'ev.t')} <= %(step_window_{k})s", limit_param)
        else:
            limit = count_limit = Sql(
                f"{seconds_between('s.t0', 'ev.t')} <= %(window)s", {"window": window.total_seconds()}
            )
        step_events = f"ev{names.index(steps[k])}"
        ctes.append(
            Sql(f"""s{k} AS {{materialized}}(
                SELECT s.g, s.p, s.t0, s.t AS tprev, MIN(ev.t) AS t FROM s{k - 1} s
                JOIN {step_events} ev ON ev.p = s.p AND ev.t >= s.t AND {{limit}}
                GROUP BY s.g, s.p, s.t0, s.t
            )""").format(materialized=materialized(), limit=limit)
        )
        selects.append(
            Sql(f"""SELECT {k}, s.g, COUNT(DISTINCT s.p), COUNT(*) FROM s{k} s
            JOIN {step_events} ev ON ev.p = s.p AND ev.t >= s.t AND {{count_limit}} GROUP BY s.g""").format(
                count_limit=count_limit
            )
        )

    query = Sql("WITH {ctes}\n{selects}").format(ctes=Sql.join(",\n", ctes), selects=Sql.join("\nUNION ALL\n", selects))
    counts: dict = {}
    for k, g, people, events in query.fetch():
        counts.setdefault(g, {})[k] = (people, events)
    return counts


def _build(
    period: Period,
    steps: list[str],
    window: timedelta,
    step_windows: Sequence[timedelta] | None,
    by_step: dict,
) -> Funnel:
    built: list[FunnelStep] = []
    entered = by_step.get(0, (0, 0))[0]
    for k, name in enumerate(steps):
        people, events = by_step.get(k, (0, 0))
        previous = built[-1].people if built else None
        built.append(
            FunnelStep(
                position=k + 1,
                event_name=name,
                people=people,
                events=events,
                rate_from_previous=ratio(people, previous) if previous is not None else None,
                rate_from_start=ratio(people, entered),
                drop_off=(previous - people) if previous is not None else 0,
            )
        )
    converted = built[-1].people if built else 0
    return Funnel(
        period_label=period.label,
        window_seconds=None if step_windows is not None else int(window.total_seconds()),
        step_window_seconds=[int(w.total_seconds()) for w in step_windows] if step_windows is not None else None,
        steps=built,
        entered=entered,
        converted=converted,
        overall_rate=ratio(converted, entered),
    )
