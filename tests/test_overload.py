"""A request that waited too long for a worker is refused before any work (wxanalytics.overload)."""

import time

import pytest
from django.test import override_settings

from campaigns.models import Placement
from events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def poster(campaign):
    return Placement.objects.create(
        campaign=campaign, name="Mall screen", scene="mall1", target_url="https://shop.example.com/"
    )


def waited(seconds: float) -> dict:
    """The header scripts/serve.py's nginx sets, for a request handed over `seconds` ago."""
    return {"HTTP_X_REQUEST_START": f"t={time.time() - seconds:.3f}"}


def test_a_scan_that_waited_longer_than_the_limit_is_refused_with_503_and_not_recorded(client, poster):
    response = client.get("/r/mall1", **waited(11))

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert not Event.objects.exists()


def test_a_scan_that_waited_less_is_served_and_recorded(client, poster):
    response = client.get("/r/mall1", **waited(1))

    assert response.status_code == 302
    assert Event.objects.get().event_name == "qr_scan"


def test_a_stale_single_event_gets_the_apis_json_error_and_is_not_stored(client):
    response = client.post("/api/v1/events", data={}, content_type="application/json", **waited(30))

    assert response.status_code == 503
    assert "too busy" in response.json()["error"]
    assert not Event.objects.exists()


@override_settings(REQUEST_QUEUE_TIMEOUT_SECONDS=0)
def test_a_limit_of_zero_refuses_nothing(client, poster):
    assert client.get("/r/mall1", **waited(600)).status_code == 302


@pytest.mark.parametrize("header", [None, "garbage", "t=not-a-number"])
def test_without_a_readable_start_time_nothing_is_refused(client, poster, header):
    extra = {"HTTP_X_REQUEST_START": header} if header is not None else {}

    assert client.get("/r/mall1", **extra).status_code == 302
