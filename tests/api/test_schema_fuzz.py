"""Fuzz every API operation from its own OpenAPI schema (schemathesis): no 5xx, and every
response matches the schema. A fixed number of examples per operation keeps CI's time bounded."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from wxanalytics.wsgi import application

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EXAMPLES_PER_OPERATION = 12

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: requests must not close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db, django_user_model, keep_test_connection):
    """A superuser's API token, and an ingest key for the event endpoints."""
    from rest_framework.authtoken.models import Token

    from events.models import IngestKey

    admin = django_user_model.objects.create_superuser("fuzz", "fuzz@example.com", "fuzz-password-1")
    token = Token.objects.create(user=admin)
    _, ingest_key = IngestKey.generate(name="fuzz", source="server", kind="server")
    return {"api": f"Token {token.key}", "ingest": f"Bearer {ingest_key}"}


def uses_ingest_key(path: str) -> bool:
    return path.rstrip("/") in {"/api/v1/events", "/api/v1/identify"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error_or_breaks_its_schema(case, auth_headers):
    header = auth_headers["ingest"] if uses_ingest_key(case.path) else auth_headers["api"]

    case.call_and_validate(headers={"Authorization": header}, checks=[not_a_server_error, response_schema_conformance])
