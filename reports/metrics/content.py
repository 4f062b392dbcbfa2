"""Official Account content (seed §3): article opens, read completion, shares, CTA clicks
from articles, follower growth and unfollow rate on publishing days vs other days, menu
CTR, and the top page paths to conversion. Seven queries in all, whatever the data size.

Definitions:
- *Read completion rate* = `article_read_complete` events / `article_open` events.
- *CTA clicks from articles* = `cta_click` or `menu_click` events with
  `properties.from = "article"`, split by `properties.target`: `menu`, `mini_program`, `form`
  (other targets are not CTA clicks). CTA rate = those clicks / article opens.
- *Publishing days* = local days with an `ArticleStat.published_on`, an `article_publish`
  event or an `oa_masssendjobfinish` push (WeChat's "mass send finished").
- *Unfollow rate* of a group of days = unfollows on those days / followers at the start of
  those days (the Official Account user summary's `cumulative_users` of the day before,
  `user_source = "all"`); days without a summary are left out of the rate.
- *Menu CTR*: WeChat shows the menu whenever someone is in the Official Account chat, and
  has no menu-impression count. We count *OA visits* = distinct (person, local day) with
  any Official Account event (the tracking plan's `official_account` category, the
  push's `oa_*` events except the mass-send report, plus follow/unfollow/scan/menu/article events); CTR = visits with a `menu_click` / OA visits.
- *Top paths*: for each person's first `pay_success` in the period, the last `length`
  distinct pages they were on before paying (any event with a page, consecutive repeats
  collapsed, within `lookback` before that payment), counted by people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum

from campaigns.models import EventDefinition
from events.models import ArticleStat, OAUserSummary
from reports.periods import DAY, Period

from .common import (
    ARTICLE_OPEN,
    ARTICLE_PUBLISH,
    ARTICLE_READ_COMPLETE,
    ARTICLE_SHARE,
    CTA_CLICK,
    FOLLOW,
    MASS_SEND_FINISHED,
    MENU_CLICK,
    PAY_SUCCESS,
    QR_SCAN,
    UNFOLLOW,
    Filters,
    bucket_case,
    db_datetime,
    events_table,
    in_list,
    in_period,
    json_text,
    materialized,
    person_of,
    ratio,
    seconds_between,
)
from .sql import Sql, table

CTA_TARGETS = ("menu", "mini_program", "form")
PUBLISH = (ARTICLE_PUBLISH, MASS_SEND_FINISHED)
OA_EVENTS = (FOLLOW, UNFOLLOW, QR_SCAN, MENU_CLICK, ARTICLE_OPEN, ARTICLE_READ_COMPLETE, ARTICLE_SHARE)


@dataclass
class ArticleMetrics:
    opens: int
    readers: int  # unique people who opened an article
    read_completions: int
    read_completion_rate: Decimal | None  # completions / opens
    shares: int
    cta_clicks: int
    cta_clicks_by_target: dict[str, int]  # menu / mini_program / form
    cta_click_rate: Decimal | None  # CTA clicks / opens
    # WeChat's own numbers from the imported article stats, for comparison (no filters but app).
    imported_reads: int = 0
    imported_read_users: int = 0
    imported_shares: int = 0
    imported_favourites: int = 0
    imported_completion_rate: Decimal | None = None  # read-weighted mean of completion_rate


@dataclass
class DayGroup:
    days: int
    follows: int
    unfollows: int
    net_growth_per_day: Decimal | None  # (follows − unfollows) / days
    unfollow_rate: Decimal | None  # unfollows / followers at the start of those days


@dataclass
class FollowerGrowth:
    publishing_days: list[date]
    publishing: DayGroup
    other: DayGroup


@dataclass
class MenuCTR:
    menu_clicks: int
    oa_visits: int  # distinct (person, local day) in the Official Account
    visits_with_menu_click: int
    ctr: Decimal | None


@dataclass
class PathCount:
    pages: tuple[str, ...]  # oldest first, ending with the last page before paying
    people: int


@dataclass
class ContentMetrics:
    period_label: str
    articles: ArticleMetrics
    followers: FollowerGrowth
    menu: MenuCTR
    top_paths: list[PathCount] = field(default_factory=list)


@dataclass
class ArticleReads:
    title: str  # the article's title, else its msgid
    reads: int
    read_users: int
    shares: int
    favourites: int


def top_articles(period: Period, filters: Filters | None = None, *, limit: int = 10) -> list[ArticleReads]:
    """The most read articles of the period, from the imported article statistics (daily
    rows summed per article; ties by msgid). Only `app_id` of the filters applies."""
    filters = filters or Filters()
    stats = ArticleStat.objects.filter(date__gte=period.first_day, date__lte=period.last_day)
    if filters.app_id:
        stats = stats.filter(app_id=filters.app_id)
    rows = (
        stats.values("msgid", "title")
        .annotate(reads=Sum("reads"), read_users=Sum("read_users"), shares=Sum("shares"), favourites=Sum("favourites"))
        .order_by("-reads", "msgid")[:limit]
    )
    return [
        ArticleReads(row["title"] or row["msgid"], row["reads"], row["read_users"], row["shares"], row["favourites"])
        for row in rows
    ]


def content_metrics(period: Period, filters: Filters | None = None) -> ContentMetrics:
    """Everything in this module for one period; the filters select the events counted."""
    filters = filters or Filters()
    return ContentMetrics(
        period_label=period.label,
        articles=article_metrics(period, filters),
        followers=follower_growth(period, filters),
        menu=menu_ctr(period, filters),
        top_paths=top_paths(period, filters),
    )


def article_metrics(period: Period, filters: Filters | None = None) -> ArticleMetrics:
    filters = filters or Filters()
    who = person_of("e")
    is_cta = Sql(
        "e.event_name IN (%(cta_click)s, %(menu_click)s) AND {source} = 'article'",
        {"cta_click": CTA_CLICK, "menu_click": MENU_CLICK},
    ).format(source=json_text("e.properties", "from"))
    cta_sums = Sql.join(
        ", ",
        (
            Sql(
                f"SUM(CASE WHEN {{is_cta}} AND {{target}} = %(cta_target_{i})s THEN 1 ELSE 0 END)",
                {f"cta_target_{i}": t},
            ).format(is_cta=is_cta, target=json_text("e.properties", "target"))
            for i, t in enumerate(CTA_TARGETS)
        ),
    )
    query = Sql(
        """
        SELECT SUM(CASE WHEN e.event_name = %(open)s THEN 1 ELSE 0 END),
               COUNT(DISTINCT CASE WHEN e.event_name = %(open)s THEN {person} END),
               SUM(CASE WHEN e.event_name = %(read_complete)s THEN 1 ELSE 0 END),
               SUM(CASE WHEN e.event_name = %(share)s THEN 1 ELSE 0 END),
               {cta_sums}
        FROM {events} e {identity}
        WHERE e.event_name IN {names} AND {where}
    """,
        {"open": ARTICLE_OPEN, "read_complete": ARTICLE_READ_COMPLETE, "share": ARTICLE_SHARE},
    ).format(
        person=who.key,
        cta_sums=cta_sums,
        events=events_table(),
        identity=who.join,
        names=in_list([ARTICLE_OPEN, ARTICLE_READ_COMPLETE, ARTICLE_SHARE, CTA_CLICK, MENU_CLICK], "name"),
        where=in_period(period, filters),
    )
    opens, readers, completions, shares, *ctas = (int(v or 0) for v in query.fetch()[0])
    by_target = dict(zip(CTA_TARGETS, ctas, strict=True))
    cta_total = sum(ctas)

    stats = ArticleStat.objects.filter(date__gte=period.first_day, date__lte=period.last_day)
    if filters.app_id:
        stats = stats.filter(app_id=filters.app_id)
    imported = stats.aggregate(
        total_reads=Sum("reads"),
        total_read_users=Sum("read_users"),
        total_shares=Sum("shares"),
        total_favourites=Sum("favourites"),
        weighted=Sum(
            ExpressionWrapper(
                F("completion_rate") * F("reads"), output_field=DecimalField(max_digits=20, decimal_places=4)
            )
        ),
        rated_reads=Sum("reads", filter=Q(completion_rate__isnull=False)),
    )
    return ArticleMetrics(
        opens=opens,
        readers=readers,
        read_completions=completions,
        read_completion_rate=ratio(completions, opens),
        shares=shares,
        cta_clicks=cta_total,
        cta_clicks_by_target=by_target,
        cta_click_rate=ratio(cta_total, opens),
        imported_reads=imported["total_reads"] or 0,
        imported_read_users=imported["total_read_users"] or 0,
        imported_shares=imported["total_shares"] or 0,
        imported_favourites=imported["total_favourites"] or 0,
        imported_completion_rate=ratio(imported["weighted"], imported["rated_reads"]),
    )


def follower_growth(period: Period, filters: Filters | None = None) -> FollowerGrowth:
    filters = filters or Filters()
    days = period.days
    rows = (
        Sql(
            """SELECT {bucket} AS d,
                   SUM(CASE WHEN e.event_name = %(follow)s THEN 1 ELSE 0 END),
                   SUM(CASE WHEN e.event_name = %(unfollow)s THEN 1 ELSE 0 END),
                   SUM(CASE WHEN e.event_name IN {publish} THEN 1 ELSE 0 END)
            FROM {events} e WHERE e.event_name IN {names} AND {where} GROUP BY 1""",
            {"follow": FOLLOW, "unfollow": UNFOLLOW},
        )
        .format(
            bucket=bucket_case("e.ts", period.day_bounds, "day"),
            publish=in_list(PUBLISH, "publish"),
            events=events_table(),
            names=in_list([FOLLOW, UNFOLLOW, *PUBLISH], "name"),
            where=in_period(period, filters),
        )
        .fetch()
    )
    per_day = {days[int(d)]: (int(f or 0), int(u or 0), int(p or 0)) for d, f, u, p in rows if d is not None}

    published = ArticleStat.objects.filter(published_on__gte=days[0], published_on__lte=days[-1])
    summaries = OAUserSummary.objects.filter(
        user_source="all", date__gte=days[0] - DAY, date__lte=days[-1] - DAY, cumulative_users__isnull=False
    )
    if filters.app_id:
        published = published.filter(app_id=filters.app_id)
        summaries = summaries.filter(app_id=filters.app_id)
    publishing = set(published.values_list("published_on", flat=True).distinct())
    publishing |= {day for day, (_, _, publishes) in per_day.items() if publishes}
    followers_before = {
        row["date"] + DAY: row["total"]
        for row in summaries.values("date").annotate(total=Sum("cumulative_users")).order_by()
    }

    def group(selected: list[date]) -> DayGroup:
        follows = sum(per_day.get(d, (0, 0, 0))[0] for d in selected)
        unfollows = sum(per_day.get(d, (0, 0, 0))[1] for d in selected)
        based = [d for d in selected if followers_before.get(d)]
        return DayGroup(
            days=len(selected),
            follows=follows,
            unfollows=unfollows,
            net_growth_per_day=ratio(follows - unfollows, len(selected), Decimal("0.01")),
            unfollow_rate=ratio(
                sum(per_day.get(d, (0, 0, 0))[1] for d in based), sum(followers_before[d] for d in based)
            ),
        )

    return FollowerGrowth(
        publishing_days=sorted(publishing),
        publishing=group([d for d in days if d in publishing]),
        other=group([d for d in days if d not in publishing]),
    )


def menu_ctr(period: Period, filters: Filters | None = None) -> MenuCTR:
    filters = filters or Filters()
    who = person_of("e")
    query = Sql(
        """
        SELECT COUNT(*), COALESCE(SUM(clicked), 0), COALESCE(SUM(clicks), 0) FROM (
            SELECT {person} AS p, {bucket} AS d,
                   MAX(CASE WHEN e.event_name = %(menu_click)s THEN 1 ELSE 0 END) AS clicked,
                   SUM(CASE WHEN e.event_name = %(menu_click)s THEN 1 ELSE 0 END) AS clicks
            FROM {events} e {identity}
            WHERE (e.event_name IN {names} OR SUBSTR(e.event_name, 1, 3) = 'oa_' OR e.event_name IN (
                SELECT name FROM {definitions} WHERE category = 'official_account'
            )) AND e.event_name <> %(mass_send_finished)s AND {where}
            GROUP BY 1, 2
        ) visits
    """,
        {"menu_click": MENU_CLICK, "mass_send_finished": MASS_SEND_FINISHED},
    ).format(
        person=who.key,
        bucket=bucket_case("e.ts", period.day_bounds, "day"),
        events=events_table(),
        identity=who.join,
        names=in_list(OA_EVENTS, "name"),
        definitions=table(EventDefinition),
        where=in_period(period, filters),
    )
    visits, clicked, clicks = query.fetch()[0]
    return MenuCTR(
        menu_clicks=int(clicks),
        oa_visits=int(visits),
        visits_with_menu_click=int(clicked),
        ctr=ratio(clicked, visits),
    )


def top_paths(
    period: Period,
    filters: Filters | None = None,
    *,
    length: int = 3,
    limit: int = 10,
    lookback: timedelta = timedelta(days=30),
) -> list[PathCount]:
    """The most common sequences of the last `length` pages before a first payment."""
    filters = filters or Filters()
    slots = ", ".join(f"MAX(CASE WHEN rn = {length - i} THEN page END) AS s{i}" for i in range(length))
    slot_cols = ", ".join(f"s{i}" for i in range(length))
    order_cols = ", ".join(f"COALESCE(s{i}, '')" for i in range(length))
    who = person_of("e")
    query = Sql(
        """
        WITH pays AS {materialized}(
            SELECT {person} AS p, MIN(e.ts) AS t FROM {events} e {identity}
            WHERE e.event_name = %(pay)s AND {where} GROUP BY 1
        ),
        pv AS {materialized}(
            SELECT {person} AS p, e.page, e.ts, e.id FROM {events} e {identity}
            WHERE e.page <> '' AND e.event_name <> %(pay)s AND e.ts >= %(pages_from)s AND e.ts < %(end)s
        ),
        before AS (
            SELECT pv.p, pv.page, pv.ts, pv.id,
                   LAG(pv.page) OVER (PARTITION BY pv.p ORDER BY pv.ts, pv.id) AS prev
            -- Within `lookback` of this person's payment (pv only bounds the scan).
            FROM pv JOIN pays ON pays.p = pv.p AND pv.ts < pays.t
                 AND {page_to_pay} <= %(lookback)s
        ),
        ranked AS (
            SELECT p, page, ROW_NUMBER() OVER (PARTITION BY p ORDER BY ts DESC, id DESC) AS rn
            FROM before WHERE prev IS NULL OR prev <> page
        ),
        paths AS (SELECT p, {slots} FROM ranked WHERE rn <= %(length)s GROUP BY p)
        SELECT {slot_cols}, COUNT(*) AS people FROM paths
        GROUP BY {slot_cols} ORDER BY COUNT(*) DESC, {order_cols} LIMIT %(limit)s
    """,
        {
            "pay": PAY_SUCCESS,
            "pages_from": db_datetime(period.start - lookback),
            "end": db_datetime(period.end),
            "lookback": lookback.total_seconds(),
            "length": length,
            "limit": limit,
        },
    ).format(
        materialized=materialized(),
        person=who.key,
        events=events_table(),
        identity=who.join,
        where=in_period(period, filters),
        page_to_pay=seconds_between("pv.ts", "pays.t"),
        slots=slots,
        slot_cols=slot_cols,
        order_cols=order_cols,
    )
    rows = query.fetch()
    return [PathCount(pages=tuple(page for page in row[:-1] if page is not None), people=row[-1]) for row in rows]
