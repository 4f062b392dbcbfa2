"""Unplanned events (K2): names outside the tracking plan received in the last 30 days, with
counts and first/last seen, and one admin action that adds them to the plan."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import EventDefinition
from events.unplanned import unplanned_events
from tests.reports.metrics_data import at, event, save

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # window: from 21 Oct 12:00


@pytest.fixture
def received(db):
    save(
        # scroll_depth: 3 events, first on 1 Oct (before the window), last on 19 Nov.
        event("scroll_depth", "a", at("2025-10-01")),
        event("scroll_depth", "a", at("2025-11-01")),
        event("scroll_depth", "b", at("2025-11-19", "08:30")),
        # video_play: 1 event on 21 Oct 12:00, the window's first instant.
        event("video_play", "a", at("2025-10-21", "12:00")),
        # old_banner_click: only before the window, not listed.
        event("old_banner_click", "a", at("2025-10-21", "11:59")),
        # pay_success and qr_scan are in the plan (the default plan's migration): never listed.
        event("pay_success", "a", at("2025-11-10"), value="10"),
        event("qr_scan", "a", at("2025-11-10")),
    )


def test_it_lists_unplanned_names_of_the_last_30_days_with_counts_and_first_and_last_seen(
    received, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = unplanned_events(now=NOW)

    # scroll_depth: 2 events in the window (1 Nov, 19 Nov); first seen 1 Oct, last 19 Nov.
    # video_play: 1 (the window includes its start).
    assert [(u.name, u.count, u.capped, u.first_seen, u.last_seen) for u in found] == [
        ("scroll_depth", 2, False, at("2025-10-01"), at("2025-11-19", "08:30")),
        ("video_play", 1, False, at("2025-10-21", "12:00"), at("2025-10-21", "12:00")),
    ]


@pytest.fixture
def recent(db):
    """Two unplanned names with events two days ago (the admin page looks back from now)."""
    two_days_ago = timezone.now() - timedelta(days=2)
    save(event("scroll_depth", "a", two_days_ago), event("video_play", "a", two_days_ago))


def test_the_tracking_plan_links_to_the_page_and_one_action_adds_the_selected_names(client, analyst, recent):
    client.force_login(analyst)
    plan = client.get(reverse("admin:campaigns_eventdefinition_changelist")).content.decode()
    page = client.get(reverse("admin:events_event_unplanned")).content.decode()

    response = client.post(
        reverse("admin:events_event_unplanned"), {"names": ["scroll_depth"], "category": "key_action"}, follow=True
    )

    assert reverse("admin:events_event_unplanned") in plan
    assert "scroll_depth" in page and "video_play" in page
    assert EventDefinition.objects.get(name="scroll_depth").category == "key_action"
    assert "Added to the tracking plan: scroll_depth" in response.content.decode()
    assert [u.name for u in unplanned_events()] == ["video_play"]


def test_a_marketer_sees_the_list_but_cannot_add_to_the_plan(client, marketer, recent):
    client.force_login(marketer)

    page = client.get(reverse("admin:events_event_unplanned"))
    post = client.post(reverse("admin:events_event_unplanned"), {"names": ["video_play"], "category": "key_action"})

    assert page.status_code == 200 and "video_play" in page.content.decode()
    assert "Add the selected names" not in page.content.decode()
    assert post.status_code == 403
    assert not EventDefinition.objects.filter(name="video_play").exists()
