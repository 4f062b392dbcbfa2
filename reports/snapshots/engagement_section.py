"""The weekly snapshot's engagement part: session depth by source and campaign, time on
page by template and the most clicked elements by page (reports.metrics.engagement).
Where the data is missing the section's note says so: a depth or a time is never shown
as 0 when nothing was measured."""

from django.utils.translation import gettext as _

from reports.metrics.engagement import EngagementMetrics, engagement_metrics
from reports.periods import Period
from reports.snapshots.sections import Section


def engagement_sections(period: Period) -> tuple[list[Section], list[str], EngagementMetrics]:
    metrics = engagement_metrics(period)
    notes: list[str] = []

    depth = Section(
        "engagement",
        _("Engagement: session depth"),
        [
            _("Source"),
            _("Campaign"),
            _("Sessions"),
            _("Page views"),
            _("People"),
            _("Pages per session"),
            _("Median pages"),
            _("Sessions per person"),
        ],
        chart={"type": "bar", "x": 1, "y": [5]},
    )
    for row in (metrics.total, *metrics.by_source_campaign):
        is_total = row is metrics.total
        depth.add(
            _("All sources") if is_total else (row.source or _("(none)")),
            _("All campaigns") if is_total else (row.campaign or _("(none)")),
            row.sessions,
            row.page_views,
            row.people,
            row.pages_per_session,
            row.median_pages,
            row.sessions_per_person,
        )
    parts = [_("Sessions with a page view this week, grouped by the source and campaign of their first page view.")]
    if not metrics.total.sessions:
        parts.append(_("No page views with a session id this week: session depth cannot be computed."))
        notes.append(_("Session depth: no page views with a session id this week."))
    if metrics.page_views_without_session:
        parts.append(
            _("%(n)s page views carried no session id and are not in any session.")
            % {"n": metrics.page_views_without_session}
        )
    depth.note = " ".join(parts)

    times = Section(
        "time_on_page",
        _("Engagement: time on page"),
        [_("Page"), _("Samples"), _("p50 (ms)"), _("p95 (ms)"), _("Leaves without duration")],
        chart={"type": "bar", "x": 0, "y": [2, 3]},
    )
    for t in metrics.time_on_page:
        times.add(t.page or _("(none)"), t.samples, t.p50_ms, t.p95_ms, t.without_duration, flag=not t.samples)
    if metrics.time_on_page:
        times.note = _("Foreground time on page from page_leave events, by template (nearest rank).")
    else:
        times.note = _("No page_leave events this week: time on page is not measured (the SDKs send them).")
        notes.append(_("Time on page: no page_leave events this week."))

    clicks = Section(
        "top_elements",
        _("Engagement: top clicked elements"),
        [_("Page"), _("Element id"), _("Element name"), _("Clicks"), _("People")],
    )
    for c in metrics.top_elements:
        clicks.add(c.page or _("(none)"), c.element_id or "–", c.element_name or "–", c.clicks, c.people)
    clicks.note = (
        _("element_click events by page, the most clicked elements of each page first.")
        if metrics.top_elements
        else _("No element_click events this week: taps are collected only for marked elements (see the SDKs).")
    )
    return [depth, times, clicks], notes, metrics
