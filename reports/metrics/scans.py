"""Scans of a placement: the one SQL fragment every report that counts scans uses (the
daily health check, placement rows, the default funnel's first step).

Definitions (docs/metrics.md, "Scans"):
- A *scan candidate* is a `qr_scan` event (a short-link hit, or the Official Account's
  SCAN/subscribe push of a parametric code), or a Mini Program `app_launch` / `app_show`
  that carries a placement and whose WeChat scene (`properties.wechat_scene`, set by the
  SDK from the launch options) is one of `CODE_SCAN_SCENES`: the Mini Program was opened
  from a code of that placement.
- Candidates of the same person and the same placement are one scan while each follows
  the previous one by at most `SCAN_DEDUPE_SECONDS` (30 minutes, the SDK's session
  timeout): a cold start sends `app_launch` and `app_show` together, a short-link hit that
  opens the Mini Program sends a `qr_scan` and a launch, and WeChat keeps the launch scene
  when the app comes back from the background. The scan is the earliest candidate of such a
  run, so it keeps that event's id, time, source, campaign and app.
- A `qr_scan` without a placement (a code we did not issue) is always its own scan.
"""

from __future__ import annotations

from datetime import timedelta

from reports.periods import Period

from .common import QR_SCAN, db_datetime, events_table, in_list, json_text, person_of, seconds_between
from .sql import Sql

APP_LAUNCH = "app_launch"
APP_SHOW = "app_show"
# WeChat scene values of a Mini Program opened from a code (WECHAT.md §3.4): 1011/1012/1013
# an ordinary QR code (scan / long-press / album), 1047/1048/1049 a Mini Program code,
# 1025/1031/1032 a barcode (scan / long-press / album), and the other members of WeChat's
# "scan", "long-press" and "album" groups of getVisitDistribution (1050, 1105, 1124, 1125,
# 1126, 1150).
CODE_SCAN_SCENES = (
    "1011",
    "1012",
    "1013",
    "1025",
    "1031",
    "1032",
    "1047",
    "1048",
    "1049",
    "1050",
    "1105",
    "1124",
    "1125",
    "1126",
    "1150",
)
SCAN_DEDUPE_SECONDS = 30 * 60
SCAN_EVENTS = (QR_SCAN, APP_LAUNCH, APP_SHOW)


def scans_sql(period: Period, *, until: timedelta = timedelta()) -> Sql:
    """A derived table of the scans in [period.start, period.end + until), shaped like the
    events table (id, event_name = 'qr_scan', user_id, person_id, ts, source, campaign_id,
    placement_id, app_id, properties, value) plus `p`, the person, and `via`
    ('short_link', 'oa_code' or 'mp_code'). Use it where the events table would go:
    `FROM {scans} e`. Candidates up to SCAN_DEDUPE_SECONDS before the start are read so a
    run that began before the period is not counted again inside it."""
    who = person_of("e")
    return Sql(
        """(
        SELECT c.id, {scan_literal} AS event_name, c.user_id, c.person_id, c.ts, c.source, c.campaign_id, c.placement_id,
               c.app_id, c.properties, c.value, c.p, c.via
        FROM (
            SELECT e.id, e.user_id, e.person_id, e.ts, e.source, e.campaign_id, e.placement_id, e.app_id, e.properties,
                   e.value, {person} AS p,
                   CASE WHEN e.event_name <> %(scan_name)s THEN 'mp_code'
                        WHEN {via} = 'short_link' THEN 'short_link'
                        ELSE 'oa_code' END AS via,
                   LAG(e.ts) OVER (PARTITION BY {person}, {run_key} ORDER BY e.ts, e.id) AS before_ts
            FROM {events} e {identity}
            WHERE e.event_name IN {names} AND e.ts >= %(scans_read_from)s AND e.ts < %(scans_end)s
              AND (e.event_name = %(scan_name)s
                   OR (e.placement_id IS NOT NULL AND {wechat_scene} IN {scenes}))
        ) c
        WHERE c.ts >= %(scans_start)s AND (c.before_ts IS NULL OR {since_before} > %(scan_dedupe_seconds)s)
    )""",
        {
            "scan_name": QR_SCAN,
            "scans_read_from": db_datetime(period.start - timedelta(seconds=SCAN_DEDUPE_SECONDS)),
            "scans_end": db_datetime(period.end + until),
            "scans_start": db_datetime(period.start),
            "scan_dedupe_seconds": SCAN_DEDUPE_SECONDS,
        },
    ).format(
        scan_literal=repr(QR_SCAN),  # a literal, as the events table's column: its type is text
        person=who.key,
        identity=who.join,
        events=events_table(),
        via=json_text("e.properties", "via"),
        run_key="COALESCE(e.placement_id, -e.id)",
        names=in_list(SCAN_EVENTS, "scan_event"),
        wechat_scene=json_text("e.properties", "wechat_scene"),
        scenes=in_list(CODE_SCAN_SCENES, "scan_scene"),
        since_before=seconds_between("c.before_ts", "c.ts"),
    )
