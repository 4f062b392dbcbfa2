"""The short link → H5 hand-over signature (events/handover.py). Pure functions: no database."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from django.test import override_settings

from events.handover import (
    MAX_AGE_SECONDS,
    HandoverTarget,
    InvalidHandover,
    handover_query,
    sign_handover,
    verify_handover,
    with_handover,
)

NOW = 1_795_000_000  # 2026-11-18, Unix seconds


def signed(**overrides):
    return sign_handover(visitor="Vq3kZ8aQmT1xYp0w", placement="p7Kx2", campaign="cny-2027", now=NOW, **overrides)


def test_a_hand_over_made_by_the_server_verifies_with_its_visitor_placement_and_campaign():
    params = signed()

    handover = verify_handover({**params, "utm_source": "poster"}, now=NOW + 60)

    assert (handover.visitor, handover.placement, handover.campaign) == ("Vq3kZ8aQmT1xYp0w", "p7Kx2", "cny-2027")
    assert handover.expires_at == NOW + MAX_AGE_SECONDS
    assert set(params) == {"wxa_v", "wxa_p", "wxa_c", "wxa_e", "wxa_sig"}
    assert len(params["wxa_sig"]) == 22  # 16 bytes, base64url without padding: short enough for a URL


@pytest.mark.parametrize("field", ["wxa_v", "wxa_p", "wxa_c", "wxa_e"])
def test_it_refuses_a_hand_over_whose_signed_field_was_changed(field):
    params = signed()
    params[field] = "9999999999" if field == "wxa_e" else params[field] + "x"

    with pytest.raises(InvalidHandover, match="does not match"):
        verify_handover(params, now=NOW)


def test_it_refuses_a_signature_moved_between_fields():
    # "ab" + "c" and "a" + "bc" must not sign the same message.
    one = sign_handover(visitor="visitor-aaaaaaaaaaaaaab", placement="c", now=NOW)
    moved = {**one, "wxa_v": "visitor-aaaaaaaaaaaaaa", "wxa_p": "bc"}

    with pytest.raises(InvalidHandover, match="does not match"):
        verify_handover(moved, now=NOW)


def test_it_refuses_an_expired_hand_over():
    params = signed(max_age=600)

    assert verify_handover(params, now=NOW + 600).placement == "p7Kx2"
    with pytest.raises(InvalidHandover, match="expired"):
        verify_handover(params, now=NOW + 601)


def test_a_hand_over_signed_with_another_secret_key_is_forged():
    with override_settings(SECRET_KEY="another-installation-another-key-xxxxxxxxxxxxxxxxx"):
        theirs = signed()

    with pytest.raises(InvalidHandover, match="does not match"):
        verify_handover(theirs, now=NOW)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "needs wxa_v, wxa_p, wxa_e and wxa_sig"),
        ({"wxa_v": "v" * 20, "wxa_p": "p7Kx2", "wxa_e": "soon", "wxa_sig": "A" * 22}, "Unix seconds"),
        ({"wxa_v": "v" * 20, "wxa_p": "p7Kx2", "wxa_e": str(NOW), "wxa_sig": "short"}, "not a hand-over signature"),
        ({"wxa_v": ["v"], "wxa_p": "p7Kx2", "wxa_e": str(NOW), "wxa_sig": "A" * 22}, "must be a string"),
        ({"wxa_v": "v" * 500, "wxa_p": "p7Kx2", "wxa_e": str(NOW), "wxa_sig": "A" * 22}, "longer than 128"),
    ],
)
def test_it_names_what_is_wrong_with_a_malformed_hand_over(params, message):
    with pytest.raises(InvalidHandover, match=message):
        verify_handover(params, now=NOW)


def test_it_will_not_sign_a_hand_over_without_a_visitor():
    with pytest.raises(ValueError, match="wxa_v must not be empty"):
        sign_handover(visitor="", placement="p7Kx2", now=NOW)


def test_the_redirect_target_keeps_its_query_and_gets_one_fresh_hand_over_that_verifies():
    target = "https://shop.example.com/landing?ref=poster&utm_source=poster&wxa_sig=old&wxa_v=someone#top"

    url = with_handover(target, visitor="Vq3kZ8aQmT1xYp0w", placement="p7Kx2", campaign="cny-2027", now=NOW)

    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    assert (parts.netloc, parts.path, parts.fragment) == ("shop.example.com", "/landing", "top")
    assert [k for k, _ in query] == ["ref", "utm_source", "wxa_v", "wxa_p", "wxa_c", "wxa_e", "wxa_sig"]
    assert verify_handover(dict(query), now=NOW).visitor == "Vq3kZ8aQmT1xYp0w"


def test_the_query_a_redirect_appends_is_exactly_the_signed_parameters_encoded():
    signed = {"visitor": "Vq3kZ8aQmT1xYp0w", "placement": "p 7&x", "campaign": "cny/2027", "now": NOW}

    query = handover_query(**signed)

    assert query == urlencode(sign_handover(**signed))


def test_a_target_split_once_gives_the_url_of_re_encoding_its_whole_query_per_scan():
    target = "https://shop.example.com/landing?ref=a+b&utm_source=poster&wxa_sig=old&empty=#top"
    signed = {"visitor": "Vq3kZ8aQmT1xYp0w", "placement": "p7Kx2", "campaign": "cny-2027", "now": NOW}
    parts = urlsplit(target)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("wxa_")]
    re_encoded = urlunsplit(parts._replace(query=urlencode(kept + list(sign_handover(**signed).items()))))

    url = HandoverTarget.of(target).with_handover(**signed)

    assert url == re_encoded


def test_a_target_without_a_query_gets_one():
    url = HandoverTarget.of("https://shop.example.com/landing").with_handover(
        visitor="Vq3kZ8aQmT1xYp0w", placement="p7Kx2", now=NOW
    )

    assert url.startswith("https://shop.example.com/landing?wxa_v=Vq3kZ8aQmT1xYp0w&wxa_p=p7Kx2&wxa_c=&wxa_e=")
