"""K2: the default funnel and tracking plan, and the source alias table, from migrations."""

import pytest

from campaigns.models import SNAKE_CASE, EventDefinition, FunnelStage, SourceAlias

pytestmark = pytest.mark.django_db

SEED_EVENTS = {
    # §2 funnel
    "qr_scan", "ad_click", "search_exposure", "profile_view", "follow", "article_open", "menu_click",
    "session_start", "lead_form_submit", "booking", "pay_success", "first_payment", "repeat_purchase",
    "subscription_renewal",
    # §3 Official Account content
    "article_read_complete", "article_share", "cta_click", "unfollow",
    # §4 Mini Program
    "page_view", "add_to_cart", "start_checkout", "select_coupon", "refund_request", "return_approved",
    "ticket_created", "page_load_time", "api_error", "payment_retry",
    # §1 KPI example, payments
    "ticket_resolved", "refund_success",
}  # fmt: skip


def test_the_stages_are_discovery_engagement_conversion_retention():
    assert list(FunnelStage.objects.values_list("name", flat=True)) == [
        "Discovery",
        "Engagement",
        "Conversion",
        "Retention",
    ]


def test_the_plan_has_every_event_the_seed_names_in_lower_snake_case():
    names = set(EventDefinition.objects.values_list("name", flat=True))

    assert names >= SEED_EVENTS
    assert all(SNAKE_CASE.match(name) for name in names)
    assert not EventDefinition.objects.filter(description="").exists()


def test_page_views_list_the_seed_templates():
    page_view = EventDefinition.objects.get(name="page_view")

    assert page_view.category == EventDefinition.Category.PAGE_VIEW
    assert page_view.page_templates == "home, category, PDP, cart, checkout, order"


def test_the_default_funnel_runs_from_scan_to_repeat_purchase():
    steps = EventDefinition.objects.filter(funnel_position__isnull=False).order_by("funnel_position")

    assert [e.name for e in steps] == [
        "qr_scan",
        "follow",
        "page_view",
        "add_to_cart",
        "start_checkout",
        "pay_success",
        "repeat_purchase",
    ]


def test_performance_signals_and_operational_events_have_their_categories():
    categories = dict(EventDefinition.objects.values_list("name", "category"))

    assert {categories[n] for n in ("page_load_time", "api_error", "payment_retry")} == {"performance"}
    assert {categories[n] for n in ("refund_request", "return_approved", "ticket_created")} == {"operational"}


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (" FB ", "facebook"),
        ("wx", "wechat"),
        ("Weixin", "wechat"),
        ("moments", "wechat_moments"),
        ("Email", "email"),
        ("", ""),
    ],
)
def test_sources_are_normalised_through_the_alias_table(raw, canonical):
    assert SourceAlias.normalise(raw) == canonical


def test_funnel_stage_page_lists_its_events_inline(admin_client):
    from django.urls import reverse

    stage = FunnelStage.objects.get(name="Conversion")

    response = admin_client.get(reverse("admin:campaigns_funnelstage_change", args=[stage.pk]))

    assert "add_to_cart" in response.content.decode()


COLLECTED_EVENTS = {
    # Mini Program SDK, automatic (docs/tracking-plan.md)
    "session_start", "app_launch", "app_show", "app_hide", "page_view", "page_load_time", "share",
    # Mini Program SDK and H5 snippet, engagement depth (issue 18)
    "element_click", "page_leave",
    # Official Account push and short links
    "qr_scan", "follow", "unfollow", "menu_click", "oa_message",
    # WeChat Pay
    "pay_success", "refund_success", "refund_abnormal", "refund_closed",
}  # fmt: skip


def test_every_event_our_collectors_send_by_themselves_is_in_the_plan():
    names = set(EventDefinition.objects.values_list("name", flat=True))

    assert COLLECTED_EVENTS - names == set()


def test_the_sdks_engagement_events_sit_in_the_engagement_stage_and_say_the_sdks_collect_them():
    rows = {d.name: d for d in EventDefinition.objects.filter(name__in=["element_click", "page_leave"])}

    assert {name: d.stage.name for name, d in rows.items()} == {
        "element_click": "Engagement",
        "page_leave": "Engagement",
    }
    assert all("Mini Program SDK and H5 snippet" in d.description for d in rows.values())
