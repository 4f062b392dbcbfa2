"""K1: one to three active KPIs; a fourth is refused in admin and API with the reason."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse

from campaigns import services
from campaigns.models import KPI
from tests.faults.services import wait_until

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
            "target": "35",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    kpi = KPI.objects.get(name="Cart to paid")
    assert kpi.second_event_name == "pay_success"
    # entered in percent, stored as the share the metric measures
    assert kpi.target == Decimal("0.3500")
    assert (response.json()["target"], response.json()["target_unit"]) == ("35.0000", "%")


@pytest.mark.parametrize(
    ("kind", "target", "message"),
    [
        ("conversion_rate", "3500", "Enter a conversion target in percent, from 0 to 100 (35 means 35 %); got 3500."),
        ("event_count", "1.5", "A target in events is a whole number."),
        ("value_sum", "-3", "A target cannot be negative."),
        ("median_time", "0", "Enter the median time target in minutes (90 means 1 h 30 min)."),
    ],
)
def test_the_api_refuses_a_target_that_cannot_be_meant_in_the_kpis_unit(api_client_for, analyst, kind, target, message):
    response = api_client_for(analyst).post(
        "/api/v1/kpis/",
        {"name": "K", "metric_kind": kind, "event_name": "a_b", "second_event_name": "c_d", "target": target},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"target": [message]}


def test_a_median_time_target_is_entered_in_minutes_and_stored_in_seconds(api_client_for, analyst):
    response = api_client_for(analyst).post(
        "/api/v1/kpis/",
        {
            "name": "Ticket time",
            "metric_kind": "median_time",
            "event_name": "ticket_created",
            "second_event_name": "ticket_resolved",
            "target": "90",
            "direction": "down",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert KPI.objects.get().target == Decimal("5400")  # 90 min × 60
    assert (response.json()["target"], response.json()["target_unit"]) == ("90.0000", "min")


def test_changing_the_kind_asks_for_the_target_in_the_new_unit(api_client_for, analyst):
    kpi = services.kpi_save(_kpi("Orders"))  # 10 events

    response = api_client_for(analyst).patch(
        f"/api/v1/kpis/{kpi.pk}/",
        {"metric_kind": "conversion_rate", "second_event_name": "pay_success"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"target": ["Give the target again in the unit of Conversion rate A → B (%)."]}


def test_the_admin_form_takes_and_shows_a_conversion_target_in_percent(admin_client):
    data = {
        "name": "Cart to paid",
        "metric_kind": "conversion_rate",
        "event_name": "add_to_cart",
        "second_event_name": "pay_success",
        "target": "35",
        "direction": "up",
        "period": "week",
        "is_active": "on",
    }

    refused = admin_client.post(reverse("admin:campaigns_kpi_add"), {**data, "target": "3500"})
    assert refused.status_code == 200
    assert "Enter a conversion target in percent, from 0 to 100" in refused.content.decode()
    admin_client.post(reverse("admin:campaigns_kpi_add"), data)

    kpi = KPI.objects.get()
    assert kpi.target == Decimal("0.3500")
    page = admin_client.get(reverse("admin:campaigns_kpi_change", args=[kpi.pk])).content.decode()
    assert 'value="35"' in page and "Target (%)" in page
    listing = admin_client.get(reverse("admin:campaigns_kpi_changelist")).content.decode()
    assert "35 %" in listing


def test_the_migration_reads_a_conversion_target_above_one_as_percent():
    import importlib

    from django.apps import apps as django_apps

    migration = importlib.import_module("campaigns.migrations.0011_conversion_targets_in_percent")
    typo = KPI.objects.create(
        name="typed 35", metric_kind="conversion_rate", event_name="a", second_event_name="b", target=35
    )
    right = KPI.objects.create(
        name="typed 0.35", metric_kind="conversion_rate", event_name="a", second_event_name="b", target="0.35"
    )
    count = KPI.objects.create(name="count", metric_kind="event_count", event_name="a", target=35)

    migration.percent_to_share(django_apps, None)

    assert [KPI.objects.get(pk=k.pk).target for k in (typo, right, count)] == [
        Decimal("0.3500"),  # 35 % was meant: 3500 % is no conversion rate
        Decimal("0.3500"),
        Decimal("35"),  # counts are left alone
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_activations_cannot_both_become_the_third():
    services.kpi_save(_kpi("One"))
    services.kpi_save(_kpi("Two"))
    outcome = {}

    def other_session():
        try:
            connection.ensure_connection()
            outcome["pid"] = connection.connection.info.backend_pid
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
        # Waiting on the lock, not counting stale rows.
        wait_until(lambda: _waits_for_a_lock(outcome.get("pid")), 10, "the other session to wait for the lock")
        assert thread.is_alive()
    thread.join(timeout=10)

    assert outcome["result"] == "refused"
    assert KPI.objects.filter(is_active=True).count() == 3


def _waits_for_a_lock(pid: int | None) -> bool:
    if pid is None:
        return False
    # pg_locks, not pg_stat_activity: the latter is read once per transaction, and this polls
    # from inside the transaction that holds the lock.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND NOT granted", [pid])
        return cursor.fetchone() is not None
