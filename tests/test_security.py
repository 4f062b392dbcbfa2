import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_pages_carry_a_content_security_policy(client):
    response = client.get("/admin/login/")

    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_admin_login_is_refused_after_repeated_failures(client, django_user_model, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    django_user_model.objects.create_user("amy", password="right-password-123", is_staff=True)
    for _ in range(3):
        failed = client.post("/admin/login/", {"username": "amy", "password": "wrong"})
        assert failed.status_code == 200  # the form again, with an error

    blocked = client.post("/admin/login/", {"username": "amy", "password": "right-password-123"})

    assert blocked.status_code == 429
    assert blocked["Retry-After"] == str(settings.LOGIN_FAILURE_WINDOW_SECONDS)


@pytest.mark.django_db
def test_a_correct_login_still_works_below_the_limit(client, django_user_model):
    django_user_model.objects.create_user("amy", password="right-password-123", is_staff=True)
    client.post("/admin/login/", {"username": "amy", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "amy", "password": "right-password-123"})

    assert response.status_code == 302
