"""The liveness probe answers without touching the database."""

import pytest


@pytest.mark.django_db
def test_healthz_answers_204_with_no_body_and_no_database_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.django_db
def test_healthz_refuses_a_post(client):
    response = client.post("/healthz")

    assert response.status_code == 405
