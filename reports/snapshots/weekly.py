"""The weekly snapshot: the week in numbers, KPIs vs target, funnel rates, the friction
point, placements (scans to payments), top content, ads and fatigue."""

from django.utils.translation import gettext as _

from reports.metrics.ads import ads_report
from reports.metrics.common import PAY_SUCCESS, REPEAT_PURCHASE, ratio
from reports.metrics.content import ArticleReads, ContentMetrics, content_metrics, top_articles
from reports.metrics.funnel import funnel
from reports.periods import SNAPSHOT_KIND, Period
from reports.snapshots.ads_sections import ads_sections
from reports.snapshots.engagement_section import engagement_sections
from reports.snapshots.friction import friction_point
from reports.snapshots.headline_section import headline_section
from reports.snapshots.kpi_section import kpi_section
from reports.snapshots.mp_section import miniprogram_section
from reports.snapshots.placements_section import placements_section
from reports.snapshots.sections import Section, pct, step_people

TOP_ARTICLES = 10


def build_data(period: Period) -> dict:
    """Each part's numbers first, then the page: its sections and summary lines in the order
    they are read."""
    numbers, number_lines, numbers_values = headline_section(period)
    kpis, behind = kpi_section(period)

    current = funnel(period)
    previous = funnel(period.previous())
    friction = friction_point(current, previous)
    # Converted = paid (the Conversion stage); repeat_purchase is retention.
    paid, paid_before = step_people(current, PAY_SUCCESS), step_people(previous, PAY_SUCCESS)
    rate, rate_before = ratio(paid, current.entered), ratio(paid_before, previous.entered)
    funnel_lines = []
    if current.steps:
        line = _("%(entered)s people entered the funnel; %(paid)s paid (%(rate)s%%, last week %(before)s%%).") % {
            "entered": current.entered,
            "paid": "–" if paid is None else paid,
            "rate": pct(rate) if rate is not None else "–",
            "before": pct(rate_before) if rate_before is not None else "–",
        }
        repeat = step_people(current, REPEAT_PURCHASE)
        if repeat is not None:
            line += " " + _("%(repeat)s made a repeat purchase (retention).") % {"repeat": repeat}
        funnel_lines.append(line)
    friction_lines = [_("Friction point: %(sentence)s") % {"sentence": friction.sentence}] if friction else []

    placements, _report = placements_section(period)
    content = content_metrics(period)
    articles = top_articles(period, limit=TOP_ARTICLES)
    mp, mp_flags, _mp_metrics = miniprogram_section(period)
    engagement, engagement_notes, engagement_metrics = engagement_sections(period)
    ads = ads_report(period)
    ad_tables, ad_lines = ads_sections(ads)

    sections = [
        numbers,
        kpis,
        _funnel_section(current, previous, friction),
        placements,
        *_content_sections(content, articles),
        mp,
        *engagement,
        *ad_tables,
    ]
    summary = [*number_lines, *funnel_lines, *behind, *friction_lines, *mp_flags, *engagement_notes, *ad_lines]
    followers = content.followers
    headline = {
        "entered": current.entered,
        "converted": paid,
        "conversion_pct": pct(rate),
        "new_followers": followers.publishing.follows + followers.other.follows,
        "unfollows": followers.publishing.unfollows + followers.other.unfollows,
        "article_opens": content.articles.opens,
        "sessions": engagement_metrics.total.sessions,
        "pages_per_session": engagement_metrics.total.pages_per_session,
        "spend": ads.totals.spend,
        "attributed_revenue": ads.totals.revenue,
        "leads": ads.totals.leads,
        "roas": ads.totals.roas,
        **numbers_values,
    }
    return {
        "kind": SNAPSHOT_KIND[period.kind],
        "label": period.label,
        "title": _("Weekly review %(label)s (%(first_day)s – %(last_day)s)")
        % {
            "label": period.label,
            "first_day": format(period.first_day, "%d %b"),
            "last_day": format(period.last_day, "%d %b %Y"),
        },
        "summary": summary,
        "headline": headline,
        "friction": friction.as_dict() if friction else None,
        "sections": [s.as_dict() for s in sections],
    }


def _funnel_section(current, previous, friction) -> Section:
    section = Section(
        "funnel",
        _("Funnel"),
        [
            _("Step"),
            _("People"),
            _("Events"),
            _("% of previous"),
            _("% of entrants"),
            _("Lost"),
            _("Last week people"),
            _("Last week % of previous"),
        ],
        note=_("People who entered this week, followed for %(value)s days.")
        % {"value": ((current.window_seconds or 0) // 86400) or "per-step"},
        chart={"type": "funnel", "x": 0, "y": [1]},
    )
    last = {s.position: s for s in previous.steps}
    for step in current.steps:
        before = last.get(step.position)
        section.add(
            step.event_name,
            step.people,
            step.events,
            pct(step.rate_from_previous),
            pct(step.rate_from_start),
            step.drop_off,
            before.people if before else None,
            pct(before.rate_from_previous) if before else None,
            flag=bool(friction and friction.to_event == step.event_name),
        )
    return section


def _content_sections(content: ContentMetrics, top: list[ArticleReads]) -> list[Section]:
    a, f, m = content.articles, content.followers, content.menu
    overview = Section(
        "content",
        _("Official Account content"),
        [_("Metric"), _("Value"), _("Note")],
        note=_("Article and menu engagement from events; follower growth on publishing days vs other days."),
    )
    overview.add(_("Article opens"), a.opens, _("%(people)s people") % {"people": a.readers})
    overview.add(
        _("Read completion %"),
        pct(a.read_completion_rate),
        _("%(read_completions)s read to the end") % {"read_completions": a.read_completions},
    )
    overview.add(_("Shares"), a.shares, "")
    overview.add(
        _("CTA clicks from articles"), a.cta_clicks, ", ".join(f"{k}: {v}" for k, v in a.cta_clicks_by_target.items())
    )
    overview.add(_("CTA click %"), pct(a.cta_click_rate), _("of article opens"))
    overview.add(
        _("Menu CTR %"),
        pct(m.ctr),
        _("%(visits_with_menu_click)s of %(oa_visits)s Official Account visits")
        % {"visits_with_menu_click": m.visits_with_menu_click, "oa_visits": m.oa_visits},
    )
    for name, group in ((_("publishing days"), f.publishing), (_("other days"), f.other)):
        overview.add(
            _("Net follower growth per day, %(name)s") % {"name": name},
            group.net_growth_per_day,
            _("%(days)s days: +%(follows)s / −%(unfollows)s; unfollow rate %(unfollow_rate)s%%")
            % {
                "days": group.days,
                "follows": group.follows,
                "unfollows": group.unfollows,
                "unfollow_rate": pct(group.unfollow_rate),
            },
        )

    articles = Section(
        "top_articles",
        _("Top articles"),
        [_("Article"), _("Reads"), _("Read users"), _("Shares"), _("Favourites")],
        note=_("From the imported article statistics, most read first."),
        chart={"type": "bar", "x": 0, "y": [1]},
    )
    for article in top:
        articles.add(article.title, article.reads, article.read_users, article.shares, article.favourites)

    paths = Section(
        "top_paths",
        _("Top paths to payment"),
        [_("Pages before paying"), _("People")],
        note=_("The last pages people were on before their first payment this week."),
    )
    for path in content.top_paths:
        paths.add(" → ".join(path.pages), path.people)
    return [overview, articles, paths]
