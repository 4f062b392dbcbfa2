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
    friction_lines = [f"Friction point: {friction.sentence}"] if friction else []

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
        "title": f"Weekly review {period.label} ({period.first_day:%d %b} – {period.last_day:%d %b %Y})",
        "summary": summary,
        "headline": headline,
        "friction": friction.as_dict() if friction else None,
        "sections": [s.as_dict() for s in sections],
    }


def _funnel_section(current, previous, friction) -> Section:
    section = Section(
        "funnel",
        "Funnel",
        [
            "Step",
            "People",
            "Events",
            "% of previous",
            "% of entrants",
            "Lost",
            "Last week people",
            "Last week % of previous",
        ],
        note=f"People who entered this week, followed for {((current.window_seconds or 0) // 86400) or 'per-step'} days.",
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
        "Official Account content",
        ["Metric", "Value", "Note"],
        note="Article and menu engagement from events; follower growth on publishing days vs other days.",
    )
    overview.add("Article opens", a.opens, f"{a.readers} people")
    overview.add("Read completion %", pct(a.read_completion_rate), f"{a.read_completions} read to the end")
    overview.add("Shares", a.shares, "")
    overview.add(
        "CTA clicks from articles", a.cta_clicks, ", ".join(f"{k}: {v}" for k, v in a.cta_clicks_by_target.items())
    )
    overview.add("CTA click %", pct(a.cta_click_rate), "of article opens")
    overview.add("Menu CTR %", pct(m.ctr), f"{m.visits_with_menu_click} of {m.oa_visits} Official Account visits")
    for name, group in (("publishing days", f.publishing), ("other days", f.other)):
        overview.add(
            f"Net follower growth per day, {name}",
            group.net_growth_per_day,
            f"{group.days} days: +{group.follows} / −{group.unfollows}; unfollow rate {pct(group.unfollow_rate)}%",
        )

    articles = Section(
        "top_articles",
        "Top articles",
        ["Article", "Reads", "Read users", "Shares", "Favourites"],
        note="From the imported article statistics, most read first.",
        chart={"type": "bar", "x": 0, "y": [1]},
    )
    for article in top:
        articles.add(article.title, article.reads, article.read_users, article.shares, article.favourites)

    paths = Section(
        "top_paths",
        "Top paths to payment",
        ["Pages before paying", "People"],
        note="The last pages people were on before their first payment this week.",
    )
    for path in content.top_paths:
        paths.add(" → ".join(path.pages), path.people)
    return [overview, articles, paths]
