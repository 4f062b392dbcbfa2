"""Campaign codes are unique ignoring case: refused in admin and the API, enforced by the
database, and existing twins stop the migration with a list of what to fix."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory

from campaigns.models import Campaign
from events.models import Event
from tests.reports.metrics_data import at, event, save

pytestmark = pytest.mark.django_db


def test_the_api_refuses_a_code_that_differs_only_in_case(api_client_for, marketer, campaign):
    response = api_client_for(marketer).post("/api/v1/campaigns/", {"code": "23q4-SALE", "name": "Twin"}, format="json")

    assert response.status_code == 400
    (message,) = response.json()["code"]
    assert "23q4-SALE" in message and "23Q4-Sale" in message and "ignoring case" in message
    assert Campaign.objects.count() == 1


def test_a_campaign_may_change_the_case_of_its_own_code(api_client_for, marketer, campaign):
    response = api_client_for(marketer).patch(f"/api/v1/campaigns/{campaign.pk}/", {"code": "23q4-sale"}, format="json")

    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.code == "23q4-sale"


def test_the_admin_form_refuses_a_case_twin_with_one_clear_message(admin_user, campaign):
    request = RequestFactory().post("/")
    request.user = admin_user
    form_class = admin.site._registry[Campaign].get_form(request)

    form = form_class(data={"code": "23Q4-SALE", "name": "Twin", "status": "draft", "currency": "CNY"})

    assert not form.is_valid()
    assert form.errors["code"] == [
        "Campaign code 23Q4-SALE is already taken by 23Q4-Sale (Q4 sale): codes are unique ignoring case, "
        "and events sent with either spelling go to that campaign. Choose another code."
    ]
    assert "__all__" not in form.errors  # the database constraint's message is not shown twice


def test_the_database_refuses_a_case_twin_written_past_validation(campaign):
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(code="23Q4-SALE", name="Twin")


@pytest.mark.postgres
def test_the_migration_stops_on_existing_case_twins_and_names_them(campaign):
    migration = importlib.import_module("campaigns.migrations.0010_campaign_code_unique_ignoring_case")
    constraint = next(c for c in Campaign._meta.constraints if c.name == "campaign_code_unique_ignoring_case")
    with connection.schema_editor() as editor:  # as before the migration (rolled back with the test)
        editor.remove_constraint(Campaign, constraint)
    twin = Campaign.objects.create(code="23q4-sale", name="Twin")
    Campaign.objects.create(code="Other", name="no twin")

    with pytest.raises(migration.CaseTwinsFound) as refused:
        migration.refuse_case_twins(django_apps, None)

    assert f"23Q4-Sale (id {campaign.pk}), 23q4-sale (id {twin.pk})" in str(refused.value)
    assert "Other" not in str(refused.value)
    twin.delete()
    migration.refuse_case_twins(django_apps, None)  # no twins left: passes


def test_the_data_migration_links_stored_events_whose_code_matches_ignoring_case(campaign):
    migration = importlib.import_module("events.migrations.0016_link_campaign_codes_ignoring_case")
    save(
        event("qr_scan", "u1", at("2025-11-10"), campaign_code="23Q4-SALE"),
        event("qr_scan", "u2", at("2025-11-10"), campaign_code="nothing"),
        event("qr_scan", "u3", at("2025-11-10"), campaign_code=""),
    )

    with connection.cursor() as cursor:
        cursor.execute(migration.LINK.format(table="events_event"))

    linked = dict(Event.objects.values_list("user_id", "campaign_id"))
    assert linked == {"u1": campaign.pk, "u2": None, "u3": None}
