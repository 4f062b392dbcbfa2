"""The campaign page: each placement this week and this month, the campaign's spend and ROAS,
and each code's status with its reason and download links."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Placement, WeChatApp
from events.models import AdSpend
from reports.results.campaign_page import campaign_page
from tests.reports.metrics_data import at, event, save

pytestmark = pytest.mark.postgres

WEDNESDAY = date(2025, 11, 12)  # ISO week 2025-W46 is 10–16 November


@pytest.fixture
def c1(db, marketer):
    c = Campaign.objects.create(code="C1", name="one", owner=marketer)
    poster = Placement.objects.create(campaign=c, name="poster", scene="s1")
    window = Placement.objects.create(campaign=c, name="window", scene="s2")
    save(
        # A scans the poster on Monday, follows five minutes later and pays ¥300 on Tuesday: this week's.
        event("qr_scan", "a", at("2025-11-10", "10:00"), placement=poster, properties={"via": "short_link"}),
        event("follow", "a", at("2025-11-10", "10:05")),
        event("pay_success", "a", at("2025-11-11"), value="300"),
        # B scans the window the week before and pays ¥100 then: this month's, not this week's.
        event("qr_scan", "b", at("2025-11-03"), placement=window, properties={"via": "short_link"}),
        event("pay_success", "b", at("2025-11-04"), value="100"),
    )
    AdSpend.objects.create(date=date(2025, 11, 10), campaign_code="C1", campaign=c, spend=Decimal("100.00"))
    AdSpend.objects.create(date=date(2025, 11, 3), campaign_code="C1", campaign=c, spend=Decimal("50.00"))
    return c


def test_each_placement_shows_scans_follows_payers_and_revenue_this_week_and_this_month(
    c1, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15):  # 2 per placement report, 5 per ads report + spend check, placements
        page = campaign_page(c1, today=WEDNESDAY)

    shown = {line.placement.name: (line.week_shown, line.month_shown) for line in page.lines}
    assert shown == {
        "poster": ("1 → 1 → 1 → ¥300.00", "1 → 1 → 1 → ¥300.00"),
        "window": ("0 → 0 → 0 → ¥0.00", "1 → 0 → 1 → ¥100.00"),
    }
    assert (page.week.label, page.month.label) == ("2025-W46", "2025-11")


def test_the_query_count_does_not_grow_with_placements(c1, django_assert_num_queries):
    with django_assert_num_queries(15):
        campaign_page(c1, today=WEDNESDAY)
    Placement.objects.bulk_create(Placement(campaign=c1, name=f"shop {n}", scene=f"x{n}") for n in range(20))

    with django_assert_num_queries(15):
        page = campaign_page(c1, today=WEDNESDAY)

    assert len(page.lines) == 22


def test_roas_is_the_campaigns_revenue_over_its_imported_spend(c1):
    page = campaign_page(c1, today=WEDNESDAY)

    # This week: ¥300 / ¥100 = 3.00. This month: (300 + 100) / (100 + 50) = 2.666… → 2.67.
    assert (page.week_money.spend, page.week_money.revenue, page.week_money.roas) == (
        Decimal("100.00"),
        Decimal("300.00"),
        Decimal("3.00"),
    )
    assert (page.month_money.spend, page.month_money.orders, page.month_money.roas_shown) == (
        Decimal("150.00"),
        2,
        "2.67",
    )


def test_without_imported_spend_roas_is_unknown_not_zero(c1):
    AdSpend.objects.all().delete()

    page = campaign_page(c1, today=WEDNESDAY)

    assert page.week_money.spend is None and page.week_money.roas is None
    assert page.week_money.revenue == Decimal("300.00")  # the revenue is still known
    assert (page.week_money.spend_shown, page.week_money.roas_shown) == ("—", "—")


def test_the_page_shows_spend_roas_qr_status_with_reason_and_downloads(client, marketer, c1):
    app = WeChatApp.objects.create(appid="wx-no-secret", name="Shop OA")
    # Saved before Placement.clean() refused it: an Official Account code whose app has no AppSecret.
    legacy = Placement.objects.create(
        campaign=c1, name="menu", scene="s3", qr_kind=Placement.QRKind.OA_TEMPORARY, wechat_app=app
    )
    client.force_login(marketer)

    html = client.get(reverse("campaign-placements", args=[c1.pk])).content.decode()

    assert 'short link: <span class="wxa-muted">the app has no AppSecret</span>' in html
    assert 'short link: <span class="wxa-muted">a web short link was chosen</span>' in html
    png = reverse("placement-qr", kwargs={"pk": legacy.pk, "fmt": "png"})
    svg = reverse("placement-qr", kwargs={"pk": legacy.pk, "fmt": "svg"})
    assert f"{png}?download=1" in html and f"{svg}?download=1" in html
    assert f"{reverse('placement-print-sheet')}?placement={legacy.pk}" in html
    assert "Ad spend and ROAS" in html and "This week" in html and "This month" in html


def test_the_page_says_spend_is_missing_and_links_to_the_import(client, marketer, c1):
    AdSpend.objects.all().delete()
    client.force_login(marketer)

    html = client.get(reverse("campaign-placements", args=[c1.pk])).content.decode()

    assert "unknown: no ad spend imported for this period" in html
    assert reverse("admin:events_adspend_import") in html


def test_a_campaign_without_placements_says_how_to_add_one(client, marketer):
    empty = Campaign.objects.create(code="C9", name="nine", owner=marketer)
    client.force_login(marketer)

    html = client.get(reverse("campaign-placements", args=[empty.pk])).content.decode()

    assert "No placement yet" in html
    assert f"{reverse('admin:campaigns_placement_add')}?campaign={empty.pk}" in html


@pytest.mark.parametrize(
    ("fields", "label", "reason", "attention"),
    [
        ({}, "short link", "a web short link was chosen", False),
        ({"qr_error": "40001 invalid credential"}, "WeChat refused", "40001 invalid credential", True),
        ({"qr_kind": "oa_permanent", "qr_url": "https://weixin.qq.com/q/x"}, "issued by WeChat", "permanent", False),
        ({"qr_kind": "oa_temporary", "qr_url": "u", "qr_expires_at": timedelta(days=3)}, "expires", "temporary", True),
        (
            {"qr_kind": "oa_temporary", "qr_url": "u", "qr_expires_at": timedelta(days=20)},
            "expires",
            "temporary",
            False,
        ),
        ({"qr_kind": "oa_temporary", "qr_url": "u", "qr_expires_at": timedelta(days=-1)}, "expired", "renew", True),
        ({"qr_kind": "mini_program"}, "short link", "no WeChat app is chosen", True),
    ],
)
def test_a_codes_status_comes_with_its_reason(db, campaign, fields, label, reason, attention):
    now = timezone.now()
    if "qr_expires_at" in fields:
        fields = {**fields, "qr_expires_at": now + fields["qr_expires_at"]}
    placement = Placement(campaign=campaign, name="p", scene="z1", **fields)

    state = placement.qr_state(now=now)

    assert state.label.startswith(label) and reason in state.reason and state.needs_attention is attention
