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


def fail_login(client, username: str, **meta):
    response = client.post("/admin/login/", {"username": username, "password": "wrong"}, **meta)
    assert response.status_code == 200  # the form again, with an error


@pytest.mark.django_db
def test_one_guesser_cannot_lock_a_colleague_out_from_another_address(client, django_user_model, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    django_user_model.objects.create_user("amy", password="right-password-123", is_staff=True)
    for _ in range(3):
        fail_login(client, "amy", REMOTE_ADDR="203.0.113.9")

    guesser = client.post("/admin/login/", {"username": "amy", "password": "x"}, REMOTE_ADDR="203.0.113.9")
    amy = client.post(
        "/admin/login/", {"username": "amy", "password": "right-password-123"}, REMOTE_ADDR="198.51.100.7"
    )

    assert guesser.status_code == 429
    assert amy.status_code == 302


@pytest.mark.django_db
def test_guesses_at_one_name_do_not_lock_out_a_colleague_behind_the_same_address(client, django_user_model, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    django_user_model.objects.create_user("amy", password="right-password-123", is_staff=True)
    for _ in range(3):
        fail_login(client, "admin", REMOTE_ADDR="203.0.113.9")

    amy = client.post("/admin/login/", {"username": "amy", "password": "right-password-123"}, REMOTE_ADDR="203.0.113.9")

    assert amy.status_code == 302


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_limit_uses_the_address_the_proxy_saw_not_a_forged_one(
    client, django_user_model, settings
):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1
    django_user_model.objects.create_user("amy", password="right-password-123", is_staff=True)
    for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        fail_login(client, "amy", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.9")

    guesser = client.post(
        "/admin/login/",
        {"username": "amy", "password": "x"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="4.4.4.4, 203.0.113.9",
    )
    amy = client.post(
        "/admin/login/",
        {"username": "amy", "password": "right-password-123"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    assert guesser.status_code == 429
    assert amy.status_code == 302


@pytest.mark.django_db
def test_one_address_trying_many_names_is_stopped_at_ten_times_the_limit(client, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for n in range(20):
        fail_login(client, f"user{n}", REMOTE_ADDR="203.0.113.9")

    sprayed = client.post("/admin/login/", {"username": "user99", "password": "x"}, REMOTE_ADDR="203.0.113.9")

    assert sprayed.status_code == 429


@pytest.mark.django_db
def test_a_correct_login_still_works_below_the_limit(client, django_user_model):
    django_user_model.objects.create_user("amy", password="right-password-123", is_staff=True)
    client.post("/admin/login/", {"username": "amy", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "amy", "password": "right-password-123"})

    assert response.status_code == 302
