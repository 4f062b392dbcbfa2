from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils import timezone

from campaigns.models import Placement, SourceAlias
from events.models import Event, RejectedRow
from events.shortlinks import REPEAT_COOKIE_MAX_PLACEMENTS, REPEAT_COOKIE_SALT, VISITOR_COOKIE_SALT, _recent_links
from tests.events.write_cost import write_statements

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()  # the per-address scan counters
    yield
    cache.clear()


def visitor_in(response) -> str:
    """The visitor id inside the signed cookie a response set."""
    request = RequestFactory().get("/", HTTP_COOKIE=f"wxa_vid={response.cookies['wxa_vid'].value}")
    return request.get_signed_cookie("wxa_vid", salt=VISITOR_COOKIE_SALT)


def signed_window_cookie(payload: str) -> str:
    """The repeat-window cookie's value for `payload`, signed as the short link signs it."""
    response = HttpResponse()
    response.set_signed_cookie("wxa_rw", payload, salt=REPEAT_COOKIE_SALT)
    return response.cookies["wxa_rw"].value


@pytest.fixture
def poster(campaign):
    return Placement.objects.create(
        campaign=campaign,
        name="Store poster",
        scene="p7Kx2",
        target_url="https://shop.example.com/landing?ref=poster&utm_source=old",
        utm_medium=" QR ",
        utm_content="store-42",
    )


def test_a_scan_is_recorded_with_full_attribution_and_redirects_with_utms_and_a_signed_hand_over(
    client, poster, campaign
):
    response = client.get("/r/p7Kx2")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example.com", "/landing")
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    handover = {name: query.pop(name) for name in ("wxa_v", "wxa_p", "wxa_c", "wxa_e", "wxa_sig")}
    assert query == {
        "ref": "poster",
        "utm_source": "wechat",
        "utm_medium": "qr",
        "utm_campaign": "23Q4-Sale",
        "utm_content": "store-42",
    }
    assert (handover["wxa_p"], handover["wxa_c"]) == ("p7Kx2", "23Q4-Sale")
    event = Event.objects.get()
    visitor = response.cookies["wxa_vid"]
    assert (event.event_name, event.campaign, event.placement, event.user_id) == (
        "qr_scan",
        campaign,
        poster,
        visitor_in(response),
    )
    assert event.properties == {
        "via": "short_link",
        "scene": "p7Kx2",
        "utm_source": "wechat",
        "utm_medium": "qr",
        "utm_campaign": "23Q4-Sale",
        "utm_content": "store-42",
    }
    assert visitor["httponly"] is True
    assert visitor["max-age"] == 365 * 24 * 3600


def test_source_and_medium_go_through_the_alias_table(client, poster):
    SourceAlias.objects.update_or_create(alias="wx", defaults={"canonical": "wechat"})
    poster.utm_source = " WX "
    poster.save()

    response = client.get("/r/p7Kx2")

    assert parse_qs(urlsplit(response["Location"]).query)["utm_source"] == ["wechat"]
    assert Event.objects.get().source == "wechat"


def test_the_same_visitor_retrying_the_same_request_counts_once(client, poster, time_machine):
    time_machine.move_to("2025-11-01T10:00:05Z", tick=False)
    first = client.get("/r/p7Kx2")

    time_machine.shift(20)
    client.get("/r/p7Kx2")

    assert first.status_code == 302
    assert Event.objects.count() == 1
    assert not RejectedRow.objects.exists()  # a duplicate, not a conflict left for review


def test_two_visitors_are_two_scans(client, poster):
    client.get("/r/p7Kx2")
    client.cookies.clear()

    client.get("/r/p7Kx2")

    assert Event.objects.values("user_id").distinct().count() == 2


def test_query_parameters_never_change_where_we_redirect(client, poster):
    response = client.get("/r/p7Kx2", {"next": "https://evil.example", "url": "//evil.example", "target": "x"})

    location = urlsplit(response["Location"])
    assert location.netloc == "shop.example.com"
    assert "evil" not in response["Location"]


def test_an_unknown_code_is_a_friendly_404(client, db):
    response = client.get("/r/nope")

    assert response.status_code == 404
    assert "This link does not exist" in response.content.decode()
    assert Event.objects.count() == 0


def test_a_placement_without_a_target_records_the_scan_and_shows_a_page(client, poster):
    poster.target_url = ""
    poster.save()

    response = client.get("/r/p7Kx2")

    assert response.status_code == 200
    assert "does not lead anywhere yet" in response.content.decode()
    assert Event.objects.count() == 1


def test_a_malformed_visitor_cookie_is_replaced(client, poster):
    client.cookies["wxa_vid"] = "<script>"

    response = client.get("/r/p7Kx2")

    assert response.cookies["wxa_vid"].value != "<script>"
    assert Event.objects.get().user_id == visitor_in(response)


def test_a_forged_visitor_cookie_is_ignored(client, poster):
    # Someone picks the id of a visitor they saw, unsigned, then signed with another secret.
    client.cookies["wxa_vid"] = "someone-elses-visitor-id"
    unsigned = client.get("/r/p7Kx2")
    with override_settings(SECRET_KEY="not-our-secret-" + "x" * 40):
        forged = HttpResponse()
        forged.set_signed_cookie("wxa_vid", "someone-elses-visitor-id", salt=VISITOR_COOKIE_SALT)
    client.cookies["wxa_vid"] = forged.cookies["wxa_vid"].value
    signed_elsewhere = client.get("/r/p7Kx2")

    assert unsigned.status_code == signed_elsewhere.status_code == 302
    assert "someone-elses-visitor-id" not in set(Event.objects.values_list("user_id", flat=True))
    assert Event.objects.count() == 2  # two new visitors, neither the one chosen


def test_a_visitor_keeps_their_id_through_the_signed_cookie(client, poster, time_machine):
    time_machine.move_to("2025-11-01T10:00:05Z", tick=False)
    first = client.get("/r/p7Kx2")
    time_machine.shift(3600)

    second = client.get("/r/p7Kx2")

    assert visitor_in(first) == visitor_in(second)
    assert set(Event.objects.values_list("user_id", flat=True)) == {visitor_in(first)}
    assert Event.objects.count() == 2  # an hour apart: two scans by one visitor


def test_repeated_scans_of_one_placement_by_one_visitor_within_the_window_count_once(
    client, poster, time_machine, settings
):
    settings.SHORT_LINK_REPEAT_WINDOW_SECONDS = 300
    time_machine.move_to("2025-11-01T10:00:05Z", tick=False)
    for _ in range(20):
        client.get("/r/p7Kx2")
        time_machine.shift(10)  # 20 scans in 200 s, within 300 s of the first
    time_machine.move_to("2025-11-01T10:05:04Z", tick=False)
    client.get("/r/p7Kx2")  # 299 s after the first scan: still the same scan

    time_machine.move_to("2025-11-01T10:05:30Z", tick=False)
    client.get("/r/p7Kx2")  # 325 s after it: a new scan, which opens the next window

    assert Event.objects.count() == 2
    assert not RejectedRow.objects.exists()  # repeats are duplicates, not conflicts for review
    assert sorted(Event.objects.values_list("ts", flat=True)) == [  # each at the scan that opened its window
        datetime(2025, 11, 1, 10, 0, 5, tzinfo=UTC),
        datetime(2025, 11, 1, 10, 5, 30, tzinfo=UTC),
    ]


def test_a_reload_a_second_later_across_a_five_minute_clock_boundary_is_the_same_scan(
    client, poster, time_machine, settings
):
    # The fixed clock windows this replaced stored this reload as a second scan.
    settings.SHORT_LINK_REPEAT_WINDOW_SECONDS = 300
    time_machine.move_to("2025-11-01T10:04:59.800Z", tick=False)
    first = client.get("/r/p7Kx2")
    time_machine.shift(1)

    reload = client.get("/r/p7Kx2")

    assert first.status_code == reload.status_code == 302
    assert list(Event.objects.values_list("ts", flat=True)) == [datetime(2025, 11, 1, 10, 4, 59, 800000, tzinfo=UTC)]
    assert not RejectedRow.objects.exists()


def test_another_placement_scanned_within_the_window_is_its_own_scan(client, poster, campaign, time_machine):
    Placement.objects.create(campaign=campaign, name="Flyer", scene="f3Qz9", target_url="https://shop.example.com/f")
    time_machine.move_to("2025-11-01T10:00:05Z", tick=False)
    client.get("/r/p7Kx2")
    time_machine.shift(30)
    client.get("/r/f3Qz9")
    time_machine.shift(30)

    client.get("/r/p7Kx2")  # the poster's window still holds
    client.get("/r/f3Qz9")  # and the flyer's

    assert sorted(Event.objects.values_list("placement__scene", "ts")) == [
        ("f3Qz9", datetime(2025, 11, 1, 10, 0, 35, tzinfo=UTC)),
        ("p7Kx2", datetime(2025, 11, 1, 10, 0, 5, tzinfo=UTC)),
    ]


def test_the_window_cookie_reaches_short_links_only_and_expires_with_the_window(client, poster, settings):
    settings.SHORT_LINK_REPEAT_WINDOW_SECONDS = 300

    window = client.get("/r/p7Kx2").cookies["wxa_rw"]

    assert (window["path"], window["max-age"], window["httponly"]) == ("/r/", 300, True)


def test_both_cookies_are_django_signed_cookies(client, poster, time_machine):
    time_machine.move_to("2025-11-01T10:00:05Z", tick=False)
    response = client.get("/r/p7Kx2")
    cookies = "; ".join(f"{name}={response.cookies[name].value}" for name in ("wxa_vid", "wxa_rw"))
    request = RequestFactory().get("/", HTTP_COOKIE=cookies)

    visitor = request.get_signed_cookie("wxa_vid", salt=VISITOR_COOKIE_SALT)
    assert request.get_signed_cookie("wxa_rw", salt=REPEAT_COOKIE_SALT) == f"{visitor}~p7Kx2.1761991205000"


@pytest.mark.parametrize(
    "window_cookie",
    [
        pytest.param("garbage", id="unsigned"),
        pytest.param("{visitor}~p7Kx2.{start}:forged-signature", id="bad signature"),
        pytest.param("forged-with-another-key", id="signed with another key"),
        pytest.param("signed:{visitor}~p7Kx2.soon", id="signed but malformed"),
        pytest.param("signed:another-visitor-id~p7Kx2.{start}", id="another visitor's"),
    ],
)
def test_a_forged_or_malformed_window_cookie_is_ignored(client, poster, time_machine, window_cookie):
    time_machine.move_to("2025-11-01T10:00:05Z", tick=False)
    visitor = visitor_in(client.get("/r/p7Kx2"))
    claimed = f"{visitor}~p7Kx2.{int(datetime(2025, 11, 1, 10, 0, 5, tzinfo=UTC).timestamp() * 1000)}"
    value = window_cookie.format(visitor=visitor, start=claimed.rsplit(".", 1)[1])
    if value == "forged-with-another-key":
        with override_settings(SECRET_KEY="not-our-secret-" + "x" * 40):
            value = signed_window_cookie(claimed)
    elif value.startswith("signed:"):
        value = signed_window_cookie(value.removeprefix("signed:"))
    client.cookies["wxa_rw"] = value
    time_machine.shift(60)

    response = client.get("/r/p7Kx2")

    assert response.status_code == 302
    assert sorted(Event.objects.values_list("ts", flat=True)) == [  # the cookie opened no window: a new scan
        datetime(2025, 11, 1, 10, 0, 5, tzinfo=UTC),
        datetime(2025, 11, 1, 10, 1, 5, tzinfo=UTC),
    ]


def test_the_window_cookie_stays_small_when_a_phone_scans_many_placements(client, campaign, time_machine):
    scenes = [f"p{i:031d}" for i in range(30)]  # the longest scenes: 32 characters
    Placement.objects.bulk_create(
        Placement(campaign=campaign, name=scene, scene=scene, target_url="https://shop.example.com/")
        for scene in scenes
    )
    time_machine.move_to("2025-11-01T10:00:05Z", tick=False)
    for scene in scenes:
        window = client.get(f"/r/{scene}").cookies["wxa_rw"]
        time_machine.shift(1)

    for scene in scenes[-REPEAT_COOKIE_MAX_PLACEMENTS:]:
        client.get(f"/r/{scene}")  # the most recent placements' windows are still known

    assert len(window.OutputString()) < 1200
    assert window.value.count("~") == REPEAT_COOKIE_MAX_PLACEMENTS
    assert Event.objects.count() == 30


def test_one_address_cannot_flood_short_link_scans(client, poster, settings):
    settings.SHORT_LINK_RATE_LIMIT_PER_MINUTE = 5
    answers = []
    for _ in range(8):
        client.cookies.clear()  # a new visitor every time
        answers.append(client.get("/r/p7Kx2", REMOTE_ADDR="198.51.100.20"))

    elsewhere = client.get("/r/p7Kx2", REMOTE_ADDR="198.51.100.21")

    assert [a.status_code for a in answers] == [302] * 5 + [429] * 3
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    assert "https://shop.example.com/landing" in answers[-1].content.decode()  # the person can still go on
    assert elsewhere.status_code == 302
    assert Event.objects.count() == 6


def test_a_head_request_redirects_without_recording_a_scan(client, poster):
    response = client.head("/r/p7Kx2")

    assert response.status_code == 302
    assert Event.objects.count() == 0
    assert "wxa_rw" not in response.cookies  # no scan, so no window


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_gives_a_friendly_503_not_a_500(client):
    import socket

    from django.db import connection

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(dead_port))
    try:
        response = client.get("/r/p7Kx2")
    finally:
        connection.close()
        connection.settings_dict.update(saved)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Please try again in a moment" in response.content.decode()


def test_a_busy_code_costs_one_statement_per_scan(client, poster, django_assert_num_queries, monkeypatch):
    from events import partitions

    monkeypatch.setattr(partitions, "_known", set(partitions._known) | {partitions.month_of(timezone.now())})
    client.get("/r/p7Kx2")  # resolves the code: placement, campaign, aliases
    client.cookies.clear()  # another visitor

    with django_assert_num_queries(write_statements(campaign=True, placement=True)):  # then only the scan's write
        response = client.get("/r/p7Kx2")

    assert response.status_code == 302
    assert Event.objects.count() == 2


def test_an_edited_target_applies_at_once_in_the_process_that_saved_it(client, poster):
    client.get("/r/p7Kx2")
    poster.target_url = "https://shop.example.com/new"
    poster.save()

    response = client.get("/r/p7Kx2")

    assert urlsplit(response["Location"]).path == "/new"


def test_an_edit_made_elsewhere_applies_when_the_remembered_link_expires(client, poster, settings):
    client.get("/r/p7Kx2")
    Placement.objects.filter(pk=poster.pk).update(target_url="https://shop.example.com/new")  # no signal here

    assert urlsplit(client.get("/r/p7Kx2")["Location"]).path == "/landing"  # within SHORT_LINK_CACHE_SECONDS
    settings.SHORT_LINK_CACHE_SECONDS = 0
    _recent_links.clear()  # what expiry does
    assert urlsplit(client.get("/r/p7Kx2")["Location"]).path == "/new"


def test_the_redirects_hand_over_names_the_scans_visitor_and_placement_and_verifies(client, poster, campaign):
    import time

    from events.handover import verify_handover

    response = client.get("/r/p7Kx2")

    query = {name: values[0] for name, values in parse_qs(urlsplit(response["Location"]).query).items()}
    handover = verify_handover(query, now=time.time())
    assert (handover.visitor, handover.placement, handover.campaign) == (
        Event.objects.get().user_id,
        "p7Kx2",
        "23Q4-Sale",
    )
