"""Changes made through the API land in the same admin history as changes made in admin."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry

from campaigns.models import KPI, Campaign

pytestmark = pytest.mark.django_db


def history(obj) -> list[tuple[int, str, str]]:
    entries = LogEntry.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name)
    return [(e.action_flag, e.user.username, e.change_message) for e in entries.order_by("action_time")]


def test_creating_and_changing_a_campaign_through_the_api_is_recorded_with_who(client, marketer):
    client.force_login(marketer)

    created = client.post(
        "/api/v1/campaigns/", {"code": "24Q1-Test", "name": "Spring"}, content_type="application/json"
    )
    campaign = Campaign.objects.get(code="24Q1-Test")
    client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "Spring sale"}, content_type="application/json")

    assert created.status_code == 201
    assert history(campaign) == [
        (ADDITION, "mia", "Added through the API."),
        (CHANGE, "mia", "Changed through the API: name."),
    ]


def test_deleting_a_kpi_through_the_api_is_recorded(client, analyst):
    kpi = KPI.objects.create(name="Orders", metric_kind="event_count", event_name="pay_success", target=10)
    client.force_login(analyst)

    response = client.delete(f"/api/v1/kpis/{kpi.pk}/")

    assert response.status_code == 204
    assert history(kpi) == [(DELETION, "ann", "Deleted through the API.")]


def test_revoking_keys_from_the_admin_action_is_recorded_with_who(client, analyst):
    from events.models import IngestKey

    key, _ = IngestKey.generate(name="mp", source="mini_program", kind="client")
    client.force_login(analyst)

    client.post("/admin/events/ingestkey/", {"action": "revoke", "_selected_action": [key.pk]})

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert history(key) == [(CHANGE, "ann", "Revoked.")]


def test_deactivating_kpis_from_the_admin_action_is_recorded_with_who(client, analyst):
    kpi = KPI.objects.create(name="Orders", metric_kind="event_count", event_name="pay_success", target=10)
    client.force_login(analyst)

    client.post("/admin/campaigns/kpi/", {"action": "deactivate", "_selected_action": [kpi.pk]})

    kpi.refresh_from_db()
    assert kpi.is_active is False
    assert history(kpi) == [(CHANGE, "ann", "Deactivated.")]
