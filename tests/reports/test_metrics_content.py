from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import EventDefinition
from events.models import ArticleStat, OAUserSummary
from reports.metrics.common import Filters
from reports.metrics.content import (
    ArticleReads,
    article_metrics,
    content_metrics,
    follower_growth,
    menu_ctr,
    top_articles,
    top_paths,
)
from reports.periods import Period
from tests.reports.metrics_data import at, event, same_person, save

WEEK = Period.iso_week(2025, 46)  # Mon 2025-11-10 … Sun 2025-11-16, Shanghai


@pytest.fixture(autouse=True)
def plan(db):
    EventDefinition.objects.all().delete()  # the shipped plan must not change these counts
    EventDefinition.objects.create(name="oa_message", category=EventDefinition.Category.OFFICIAL_ACCOUNT)


@pytest.fixture
def articles(db):
    save(
        event("article_open", "r1", at("2025-11-10"), source="oa", app_id="wxoa"),
        event("article_open", "r1", at("2025-11-11"), app_id="wxoa"),
        event("article_open", "r2", at("2025-11-10"), app_id="wxoa"),
        event("article_open", "r3", at("2025-11-12"), app_id="wxoa"),
        event("article_open", "r3", at("2025-11-17"), app_id="wxoa"),  # next week
        event("article_read_complete", "r1", at("2025-11-10"), app_id="wxoa"),
        event("article_read_complete", "r3", at("2025-11-12"), app_id="wxoa"),
        event("article_share", "r2", at("2025-11-10"), app_id="wxoa"),
        event("cta_click", "r1", at("2025-11-10"), properties={"from": "article", "target": "mini_program"}),
        event("menu_click", "r2", at("2025-11-10"), properties={"from": "article", "target": "menu"}),
        event("cta_click", "r3", at("2025-11-12"), properties={"from": "article", "target": "form"}),
        event(
            "cta_click", "r1", at("2025-11-10"), properties={"from": "menu", "target": "form"}
        ),  # not from an article
        event("cta_click", "r1", at("2025-11-10"), properties={"from": "article", "target": "h5"}),  # not a CTA kind
    )
    ArticleStat.objects.create(
        app_id="wxoa",
        date=date(2025, 11, 10),
        msgid="A_1",
        published_on=date(2025, 11, 10),
        reads=100,
        read_users=80,
        completion_rate=Decimal("0.5"),
        shares=5,
        favourites=2,
    )
    ArticleStat.objects.create(
        app_id="wxoa",
        date=date(2025, 11, 11),
        msgid="A_1",
        published_on=date(2025, 11, 10),
        reads=50,
        read_users=40,
        completion_rate=Decimal("0.2"),
        shares=1,
    )
    ArticleStat.objects.create(
        app_id="wxoa", date=date(2025, 11, 12), msgid="B_1", published_on=date(2025, 11, 9), reads=10, read_users=10
    )


@pytest.fixture
def followers(db):
    follows = {"2025-11-10": ["f1", "f2", "f3"], "2025-11-11": ["f4"], "2025-11-13": ["f5", "f6"], "2025-11-15": ["f7"]}
    unfollows = {"2025-11-10": ["u1"], "2025-11-12": ["u2"], "2025-11-13": ["u3"]}
    save(
        *[event("follow", u, at(day)) for day, users in follows.items() for u in users],
        *[event("unfollow", u, at(day)) for day, users in unfollows.items() for u in users],
        event("oa_masssendjobfinish", "gh_oa", at("2025-11-13", "08:00")),  # a mass send went out
    )
    ArticleStat.objects.create(app_id="wxoa", date=date(2025, 11, 10), msgid="C_1", published_on=date(2025, 11, 10))
    for day, total, source in [(9, 1000, "all"), (11, 400, "all"), (12, 500, "all"), (9, 999, "0")]:
        OAUserSummary.objects.create(
            app_id="wxoa", date=date(2025, 11, day), user_source=source, cumulative_users=total
        )


def test_article_opens_completion_shares_and_cta_clicks(articles, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        result = article_metrics(WEEK)

    assert (result.opens, result.readers) == (4, 3)  # r1 ×2, r2, r3; the 11-17 open is next week
    assert result.read_completions == 2
    assert result.read_completion_rate == Decimal("0.5000")  # 2 / 4
    assert result.shares == 1
    # from articles to a Mini Program (r1), the menu (r2), a form (r3); not from=menu, not h5
    assert result.cta_clicks_by_target == {"menu": 1, "mini_program": 1, "form": 1}
    assert result.cta_click_rate == Decimal("0.7500")  # 3 / 4
    assert (result.imported_reads, result.imported_read_users) == (160, 130)  # 100 + 50 + 10; 80 + 40 + 10
    assert (result.imported_shares, result.imported_favourites) == (6, 2)
    # read-weighted over rows with a rate: (0.5 × 100 + 0.2 × 50) / 150 = 60 / 150
    assert result.imported_completion_rate == Decimal("0.4000")


def test_filters_select_the_article_events(articles):
    result = article_metrics(WEEK, Filters(source="oa"))

    assert (result.opens, result.cta_clicks) == (1, 0)


def test_top_articles_sum_each_articles_days_most_read_first(articles, django_assert_num_queries):
    # A_1: 100 + 50 reads over two days (no title: shown by msgid); B_1: 10 reads; an article
    # of another account and one of the next week are not this week's (wxoa only).
    ArticleStat.objects.create(app_id="wxother", date=date(2025, 11, 12), msgid="X_1", title="Other", reads=500)
    ArticleStat.objects.create(app_id="wxoa", date=date(2025, 11, 17), msgid="B_1", reads=999)

    with django_assert_num_queries(1):
        top = top_articles(WEEK, Filters(app_id="wxoa"), limit=5)

    assert top == [ArticleReads("A_1", 150, 120, 6, 2), ArticleReads("B_1", 10, 10, 0, 0)]
    assert [a.title for a in top_articles(WEEK, limit=1)] == ["Other"]


def test_followers_on_publishing_days_against_other_days(followers, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        result = follower_growth(WEEK)

    # 11-10 from the article stats, 11-13 from WeChat's mass-send-finished push
    assert result.publishing_days == [date(2025, 11, 10), date(2025, 11, 13)]
    pub, other = result.publishing, result.other
    assert (pub.days, pub.follows, pub.unfollows) == (2, 5, 2)  # follows 3 + 2, unfollows 1 + 1
    assert pub.net_growth_per_day == Decimal("1.50")  # (5 − 2) / 2
    # unfollows 1 + 1 over followers the evening before: 1000 (11-09) + 500 (11-12) → 2 / 1500
    assert pub.unfollow_rate == Decimal("0.0013")
    assert (other.days, other.follows, other.unfollows) == (5, 2, 1)  # 11-11 and 11-15; 11-12
    assert other.net_growth_per_day == Decimal("0.20")  # (2 − 1) / 5
    # only 11-12 has a base (400 on 11-11): its 1 unfollow / 400; the per-source row is ignored
    assert other.unfollow_rate == Decimal("0.0025")


def test_menu_ctr_is_visits_with_a_menu_click_over_official_account_visits(articles, followers):
    save(
        event("menu_click", "m1", at("2025-11-14", "09:00")),
        event("menu_click", "m1", at("2025-11-14", "10:00")),
        event("menu_click", "m1", at("2025-11-15")),
        event("oa_message", "m2", at("2025-11-14")),  # an official_account event from the tracking plan
    )

    result = menu_ctr(WEEK)

    # visits (person, day): r1 10+11, r2 10, r3 12, f1–f3 10, f4 11, f5–f6 13, f7 15, u1 10, u2 12,
    # u3 13, m1 14+15, m2 14 = 2+1+1+3+1+2+1+1+1+1+2+1 = 17
    assert result.oa_visits == 17
    assert result.visits_with_menu_click == 3  # r2 on 11-10, m1 on 11-14 and 11-15
    assert result.menu_clicks == 4
    assert result.ctr == Decimal("0.1765")  # 3 / 17


@pytest.fixture
def shoppers(db):
    def visit(user, day, *pages, pay_page="checkout"):
        rows = []
        for minute, page in enumerate(pages):
            name = "add_to_cart" if page.endswith("+cart") else "page_view"
            rows.append(event(name, user, at(day, f"09:{minute:02d}"), page=page.removesuffix("+cart")))
        rows.append(event("pay_success", user, at(day, "10:00"), page=pay_page, value="10"))
        return rows

    same_person("P-x6", "oa-x6", "mp-x6")
    save(
        *visit("x1", "2025-11-10", "home", "PDP", "PDP+cart", "cart"),  # add_to_cart on PDP collapses
        *visit("x2", "2025-11-11", "category", "home", "PDP", "cart"),
        *visit("x3", "2025-11-12", "PDP", "cart"),
        *visit("x4", "2025-11-12", "home", "PDP", "cart"),
        event("page_view", "x4", at("2025-11-13", "09:00"), page="order"),
        event("pay_success", "x4", at("2025-11-13", "10:00"), page="checkout"),  # not x4's first payment
        *visit("x5", "2025-11-17", "home", "PDP", "cart"),  # next week
        event("page_view", "oa-x6", at("2025-11-14", "08:00"), page="article:spring-sale"),
        *visit("mp-x6", "2025-11-14", "PDP", "cart"),
    )


def test_top_paths_count_people_by_their_last_three_pages_before_paying(shoppers, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        paths = top_paths(WEEK)

    assert [(p.pages, p.people) for p in paths] == [
        (("home", "PDP", "cart"), 3),  # x1, x2 (category dropped: only the last 3), x4
        (("PDP", "cart"), 1),  # x3 saw two pages
        (("article:spring-sale", "PDP", "cart"), 1),  # x6 read on the OA, bought in the Mini Program
    ]


def test_top_paths_look_back_30_days_from_each_payment_not_from_the_period_start(db):
    """docs/metrics.md: the pages "within 30 days" before the person's payment. A monthly
    period starting 1 Nov must not reach pages of 15 Oct for a payment on 30 Nov (46 days
    before it), although 15 Oct is within 30 days of the period's start."""
    month = Period.month(2025, 11)
    save(
        # y: home on 15 Oct (46 days before paying), cart on 31 Oct (30 days before: in,
        # the limit is inclusive), pays on 30 Nov → path (cart,)
        event("page_view", "y", at("2025-10-15", "12:00"), page="home"),
        event("page_view", "y", at("2025-10-31", "12:00"), page="cart"),
        event("pay_success", "y", at("2025-11-30", "12:00"), value="10"),
        # z: PDP on 31 Oct at 11:59:59 (30 days and 1 s before paying): out → no path at all
        event("page_view", "z", at("2025-10-31", "11:59:59"), page="PDP"),
        event("pay_success", "z", at("2025-11-30", "12:00"), value="10"),
    )

    assert [(p.pages, p.people) for p in top_paths(month)] == [(("cart",), 1)]


def test_all_content_metrics_run_in_a_fixed_number_of_queries(
    articles, followers, shoppers, django_assert_max_num_queries
):
    with django_assert_max_num_queries(7):
        result = content_metrics(WEEK)

    assert result.articles.opens == 4
    assert result.followers.publishing.follows == 5
    assert result.top_paths[0].people == 3
