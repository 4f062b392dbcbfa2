"""K1: one to three active KPIs; a fourth is refused in admin and API with the reason."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse

from campaigns import services
from campaigns.models import KPI

pytestmark = pytest.mark.django_db


def _kpi(name: str, **fields) -> KPI:
    defaults = {"metric_kind": KPI.MetricKind.EVENT_COUNT, "event_name": "pay_success", "target": Decimal("10")}
    return KPI(name=name, **{**defaults, **fields})


@pytest.fixture
def three_active_kpis():
    return [services.kpi_save(_kpi(f"KPI {n}")) for n in range(3)]


def test_the_service_refuses_a_fourth_active_kpi(three_active_kpis):
    with pytest.raises(services.KPILimitExceeded, match="one to three"):
        services.kpi_save(_kpi("Fourth"))

    assert KPI.objects.filter(is_active=True).count() == 3


def test_an_inactive_fourth_kpi_is_fine_and_can_be_activated_after_another_is_retired(three_active_kpis):
    spare = services.kpi_save(_kpi("Spare", is_active=False))
    three_active_kpis[0].is_active = False
    services.kpi_save(three_active_kpis[0])

    spare.is_active = True
    services.kpi_save(spare)

    assert set(KPI.objects.filter(is_active=True).values_list("name", flat=True)) == {"KPI 1", "KPI 2", "Spare"}


def test_saving_an_already_active_kpi_does_not_count_itself(three_active_kpis):
    kpi = three_active_kpis[1]
    kpi.target = Decimal("99")

    services.kpi_save(kpi)

    assert KPI.objects.get(pk=kpi.pk).target == Decimal("99")


def test_admin_refuses_a_fourth_active_kpi_with_the_reason(client, analyst, three_active_kpis):
    client.force_login(analyst)

    response = client.post(
        reverse("admin:campaigns_kpi_add"),
        {
            "name": "Fourth",
            "metric_kind": "event_count",
            "event_name": "follow",
            "target": "5",
            "direction": "up",
            "period": "week",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "The playbook asks for one to three business outcomes" in response.content.decode()
    assert not KPI.objects.filter(name="Fourth").exists()


def test_the_api_refuses_a_fourth_active_kpi_with_the_reason(api_client_for, analyst, three_active_kpis):
    response = api_client_for(analyst).post(
        "/api/v1/kpis/",
        {"name": "Fourth", "metric_kind": "unique_users", "event_name": "follow", "target": "5"},
        format="json",
    )

    assert response.status_code == 400
    assert "one to three business outcomes" in response.json()["is_active"][0]
    assert not KPI.objects.filter(name="Fourth").exists()


def test_the_api_refuses_activating_a_fourth_kpi_by_update(api_client_for, analyst, three_active_kpis):
    spare = services.kpi_save(_kpi("Spare", is_active=False))

    response = api_client_for(analyst).patch(f"/api/v1/kpis/{spare.pk}/", {"is_active": True}, format="json")

    assert response.status_code == 400
    assert KPI.objects.get(pk=spare.pk).is_active is False


@pytest.mark.parametrize("kind", ["conversion_rate", "median_time"])
def test_two_event_kinds_need_a_second_event(api_client_for, analyst, kind):
    response = api_client_for(analyst).post(
        "/api/v1/kpis/",
        {"name": "Rate", "metric_kind": kind, "event_name": "add_to_cart", "target": "0.3"},
        format="json",
    )

    assert response.status_code == 400
    assert "needs a second event" in response.json()["second_event_name"][0]


def test_the_api_creates_a_conversion_kpi(api_client_for, analyst):
    response = api_client_for(analyst).post(
        "/api/v1/kpis/",
        {
            "name": "Cart to paid",
            "metric_kind": "conversion_rate",
            "event_name": "add_to_cart",
            "second_event_name": "pay_success",
            "target": "0.35",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert KPI.objects.get(name="Cart to paid").second_event_name == "pay_success"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_activations_cannot_both_become_the_third():
    services.kpi_save(_kpi("One"))
    services.kpi_save(_kpi("Two"))
    outcome = {}

    def other_session():
        try:
            services.kpi_save(_kpi("Concurrent"))
            outcome["result"] = "saved"
        except services.KPILimitExceeded:
            outcome["result"] = "refused"
        finally:
            connection.close()

    with transaction.atomic():
        services.kpi_save(_kpi("Three"))  # holds the lock until this block commits
        thread = threading.Thread(target=other_session)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # waiting on the lock, not counting stale rows
    thread.join(timeout=10)

    assert outcome["result"] == "refused"
    assert KPI.objects.filter(is_active=True).count() == 3
