"""seed_demo (deterministic, idempotent) and ensure_demo_admin (DEBUG only)."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from campaigns.demo import seed_definitions
from campaigns.models import KPI, Campaign, Creative, Placement, WeChatApp

pytestmark = pytest.mark.django_db


def _snapshot(*, scenes: bool = True) -> list:
    placement_fields = ["campaign__code", "name", "kind", "qr_kind", "utm_content"] + (["scene"] if scenes else [])
    return sorted(Placement.objects.values_list(*placement_fields)) + sorted(
        Creative.objects.values_list("campaign__code", "name", "lander_type", "external_id")
    )


def test_seed_definitions_creates_a_realistic_set():
    summary = seed_definitions(seed=42)

    assert summary.kpis == 3
    assert KPI.objects.filter(is_active=True).count() == 3
    assert Campaign.objects.count() == 4
    assert Placement.objects.values("kind").distinct().count() >= 5
    assert set(Creative.objects.values_list("lander_type", flat=True)) == {"article", "mini_program", "h5"}
    assert not WeChatApp.objects.exclude(secret="").exists()


def test_seed_definitions_is_idempotent():
    seed_definitions(seed=42)
    before = _snapshot()

    summary = seed_definitions(seed=42)

    assert (summary.kpis, summary.campaigns, summary.placements, summary.creatives) == (0, 0, 0, 0)
    assert _snapshot() == before


def test_seed_definitions_is_deterministic_for_a_seed():
    seed_definitions(seed=7)
    first = _snapshot(scenes=False)
    Campaign.objects.all().delete()

    seed_definitions(seed=7)

    # Scenes differ (a scene is never reused); everything else is the same.
    assert _snapshot(scenes=False) == first


def test_seed_definitions_keeps_the_teams_own_three_active_kpis():
    for n in range(3):
        KPI.objects.create(name=f"Team KPI {n}", metric_kind="event_count", event_name="follow", target=1)

    seed_definitions(seed=42)

    assert KPI.objects.filter(is_active=True).count() == 3
    assert not KPI.objects.filter(name="Qualified leads per week", is_active=True).exists()


def test_seed_demo_command_reports_what_it_did():
    out = io.StringIO()

    call_command("seed_demo", "--days", "3", "--users", "10", stdout=out)

    assert "definitions: 3 KPIs, 4 campaigns" in out.getvalue()


def test_seed_demo_refuses_nonsense_arguments():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--days", "0")


def test_ensure_demo_admin_creates_and_resets_the_demo_login(settings):
    settings.DEBUG = True
    call_command("ensure_demo_admin", stdout=io.StringIO())
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed")
    user.save()

    call_command("ensure_demo_admin", stdout=io.StringIO())

    user.refresh_from_db()
    assert user.is_superuser and user.check_password("demo-password")


def test_ensure_demo_admin_refuses_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG=0"):
        call_command("ensure_demo_admin")

    assert not get_user_model().objects.filter(username="demo").exists()
