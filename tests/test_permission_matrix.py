"""Who may read and who may change, for every admin page and every API list endpoint.

The expected answer for each group comes from the one role mapping (wxanalytics/roles.py);
the test walks the admin registry and the OpenAPI schema, so a new page or endpoint is
covered the day it is added. Anonymous visitors and a revoked ingest key get nothing.
"""

import pytest
from django.contrib import admin
from django.urls import resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from events.models import IngestKey
from wxanalytics.roles import ANALYST, MARKETER, REVIEW_OWNER, ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db

ROLES = [MARKETER, ANALYST, REVIEW_OWNER]


def holds(role: str, model, action: str) -> bool:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}" in ROLE_PERMISSIONS[role]


def admin_models() -> list:
    return sorted(admin.site._registry, key=lambda m: (m._meta.app_label, m._meta.model_name))


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def add_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


def api_list_endpoints() -> list[tuple[str, set[str]]]:
    """(path, methods) of every /api/v1/ collection without path parameters."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, {m.upper() for m in operations})
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/") and "{" not in path
    )


# Collections that answer 400 "choose …" when called without a query (a print sheet of nothing).
NEEDS_A_CHOICE = {"/api/v1/placements/print-sheet.pdf"}


def queryset_model(path: str):
    view_class = getattr(resolve(path).func, "cls", None)
    queryset = getattr(view_class, "queryset", None)
    return queryset.model if queryset is not None else None


@pytest.fixture
def users(make_user):
    return {role: make_user(role.lower().replace(" ", "_"), role) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_each_group_sees_exactly_the_admin_pages_its_role_allows(client, users, role):
    client.force_login(users[role])
    wrong = []

    for model in admin_models():
        may_read = holds(role, model, "view") or holds(role, model, "change")
        status = client.get(changelist_url(model)).status_code
        if (status == 200) != may_read or status not in (200, 403):
            wrong.append(f"{model._meta.label} changelist: {status}, expected {200 if may_read else 403}")

    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_no_group_can_open_an_add_form_its_role_does_not_allow(client, users, role, django_user_model):
    client.force_login(users[role])
    wrong = []

    for model in admin_models():
        status = client.get(add_url(model)).status_code
        if status == 200 and not holds(role, model, "add"):
            wrong.append(f"{model._meta.label} add form open to {role}")

    assert wrong == []


def test_anonymous_visitors_are_sent_to_the_login_page_from_every_admin_page(client):
    statuses = {model._meta.label: client.get(changelist_url(model)).status_code for model in admin_models()}

    assert set(statuses.values()) == {302}


@pytest.mark.parametrize("role", ROLES)
def test_each_group_reads_exactly_the_api_collections_its_role_allows(client, users, role):
    client.force_login(users[role])
    wrong = []

    for path, methods in api_list_endpoints():
        model = queryset_model(path)
        if model is None or "GET" not in methods:
            continue
        status = client.get(path).status_code
        expected = 200 if holds(role, model, "view") else 403
        if path in NEEDS_A_CHOICE and expected == 200:
            expected = 400  # past the permission check, it asks what to choose
        if status != expected:
            wrong.append(f"GET {path}: {status}, expected {expected}")

    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_no_group_can_create_through_the_api_without_the_add_permission(client, users, role):
    client.force_login(users[role])
    wrong = []

    for path, methods in api_list_endpoints():
        model = queryset_model(path)
        if model is None or "POST" not in methods or holds(role, model, "add"):
            continue
        status = client.post(path, {}, content_type="application/json").status_code
        if status != 403:
            wrong.append(f"POST {path}: {status}, expected 403")

    assert wrong == []


def test_anonymous_callers_get_nothing_from_the_api(client):
    statuses = {path: client.get(path).status_code for path, methods in api_list_endpoints() if "GET" in methods}

    assert statuses and set(statuses.values()) <= {401, 403}


def test_a_revoked_ingest_key_can_neither_send_events_nor_read_anything(client):
    key, raw_key = IngestKey.generate(name="old", source="server", kind="server")
    key.revoke()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}

    sent = client.post(
        "/api/v1/events",
        '{"event_name": "x", "user_id": "u", "ts": "2025-11-03T10:00:00+08:00"}',
        content_type="application/json",
        **auth,
    )
    read = {path: client.get(path, **auth).status_code for path, methods in api_list_endpoints() if "GET" in methods}

    assert sent.status_code == 401
    assert read and set(read.values()) <= {401, 403}
