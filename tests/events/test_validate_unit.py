"""Row validation as the plain function it is: no database (pytest-django refuses any query
here, since no test asks for `db`), a fixed clock, and the exact message a sender reads."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from events.ingest.validate import (
    MAX_FIELDS_PER_ROW,
    MAX_PROPERTIES_CHARS,
    MAX_PROPERTIES_DEPTH,
    MAX_PROPERTIES_ITEMS,
    CleanRow,
    snake_case,
    validate_row,
)

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)


def row(**overrides):
    base = {"event_name": "pay_success", "user_id": "a1b2c3", "ts": "2025-11-01T10:15:23Z"}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not ...}


def errors_of(**overrides) -> dict[str, str]:
    clean, errors = validate_row(row(**overrides), now=NOW)
    assert clean is None
    return errors


def clean_of(raw: dict) -> CleanRow:
    clean, errors = validate_row(raw, now=NOW)
    assert errors == {}
    return clean


# Required fields


def test_a_minimal_row_is_clean_with_empty_optional_fields():
    clean = clean_of(row())

    assert clean == CleanRow(
        event_name="pay_success",
        user_id="a1b2c3",
        ts=datetime(2025, 11, 1, 10, 15, 23, tzinfo=UTC),
        properties_json="{}",
    )


@pytest.mark.parametrize("name", ["event_name", "user_id", "ts"])
@pytest.mark.parametrize("missing", [..., None, "", "  ", "-"])
def test_each_required_field_missing_or_blank_is_required(name, missing):
    assert errors_of(**{name: missing}) == {name: "is required."}


def test_all_errors_of_a_row_are_reported_together():
    errors = errors_of(event_name=..., user_id=..., ts=..., value="abc", currency="ZZZ")

    assert errors == {
        "event_name": "is required.",
        "user_id": "is required.",
        "ts": "is required.",
        "value": "'abc' is not a decimal number (use a dot, e.g. 199.00).",
        # No value was understood, yet a currency sent must still be a currency.
        "currency": "'ZZZ' is not an ISO 4217 currency code (e.g. CNY, USD).",
    }


@pytest.mark.parametrize(("raw", "kind"), [([], "list"), ("pay_success", "str"), (42, "int"), (None, "NoneType")])
def test_a_row_that_is_not_an_object_is_refused_as_a_whole(raw, kind):
    assert validate_row(raw, now=NOW) == (None, {"row": f"must be an object with event fields, got {kind}."})


def test_a_row_with_too_many_fields_is_refused_before_any_field_is_read():
    wide = row(**{f"extra_{n}": "x" for n in range(MAX_FIELDS_PER_ROW)})

    assert validate_row(wide, now=NOW) == (
        None,
        {"row": f"has {len(wide):,} fields; at most {MAX_FIELDS_PER_ROW} (put the rest in properties)."},
    )


# Event names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("API_error", "api_error"),
        ("Add To Cart", "add_to_cart"),
        ("addToCart", "add_to_cart"),
        ("page-view", "page_view"),
        ("  share  ", "share"),
        ("step2Done", "step2_done"),
    ],
)
def test_event_names_are_normalised_to_lower_snake_case(raw, expected):
    assert clean_of(row(event_name=raw)).event_name == expected
    assert snake_case(raw) == expected


@pytest.mark.parametrize("raw", ["支付", "2fa_sent", "___", "_"])
def test_a_name_that_does_not_make_snake_case_is_refused_with_what_was_sent(raw):
    assert errors_of(event_name=raw) == {
        "event_name": f"{raw!r} does not make a lower snake case name (letters, digits, '_', starting with a letter)."
    }


def test_an_event_name_longer_than_its_column_is_refused_not_truncated():
    assert errors_of(event_name="a" * 65) == {"event_name": "is 65 characters long; at most 64 allowed."}


# Timestamps


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-11-01T18:15:23+08:00", datetime(2025, 11, 1, 10, 15, 23, tzinfo=UTC)),
        ("2025-11-01T10:15:23.250Z", datetime(2025, 11, 1, 10, 15, 23, 250_000, tzinfo=UTC)),
        ("2025-11-01 05:15:23-05:00", datetime(2025, 11, 1, 10, 15, 23, tzinfo=UTC)),
        (
            datetime(2025, 11, 1, 18, 15, 23, tzinfo=ZoneInfo("Asia/Shanghai")),
            datetime(2025, 11, 1, 10, 15, 23, tzinfo=UTC),
        ),
    ],
)
def test_a_timestamp_with_a_zone_is_stored_in_utc(raw, expected):
    ts = clean_of(row(ts=raw)).ts

    assert ts == expected
    assert ts.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2025-11-01T10:15:23", "has no time zone; add Z or an offset such as +08:00."),
        (datetime(2025, 11, 1, 10, 15, 23), "has no time zone; add Z or an offset such as +08:00."),
        ("yesterday", "'yesterday' is not an ISO 8601 timestamp (e.g. 2025-11-01T10:15:23Z)."),
        ("1" * 41, "is too long for a timestamp."),
        (1_730_456_123, "must be an ISO 8601 string, got int."),
        (1_730_456_123.5, "must be an ISO 8601 string, got float."),
        (
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59-01:00 is out of range (the year 9999 with a negative offset).",
        ),
        ("1999-12-31T23:59:59Z", "is before 2000-01-01; check the clock or the unit."),
        ("2025-11-04T12:00:01Z", "is more than a day in the future (server time 2025-11-03T12:00:00Z)."),
    ],
)
def test_a_bad_timestamp_is_refused_with_a_precise_message(raw, message):
    assert errors_of(ts=raw) == {"ts": message}


def test_a_timestamp_exactly_a_day_ahead_or_on_the_earliest_instant_is_accepted():
    assert clean_of(row(ts=(NOW + timedelta(days=1)).isoformat())).ts == NOW + timedelta(days=1)
    assert clean_of(row(ts="2000-01-01T00:00:00Z")).ts == datetime(2000, 1, 1, tzinfo=UTC)


# Value and currency


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("199", "199.00"), (" 199.5 ", "199.50"), (199, "199.00"), (19.9, "19.90"), ("0", "0.00"), ("1e2", "100.00")],
)
def test_a_value_is_a_decimal_with_two_places_and_defaults_to_cny(raw, expected):
    clean = clean_of(row(value=raw))

    assert (clean.value, clean.currency) == (Decimal(expected), "CNY")
    assert str(clean.value) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("NaN", "must be a finite number."),
        ("-Infinity", "must be a finite number."),
        (float("inf"), "must be a finite number."),
        ("-1", "must not be negative (send refunds as refund events with a positive value)."),
        ("1e20", "is larger than 999,999,999,999.99."),
        ("1000000000000", "is larger than 999,999,999,999.99."),
        ("1.234", "has more than 2 decimal places."),
        ("12,5", "'12,5' is not a decimal number (use a dot, e.g. 199.00)."),
        ("9" * 41, "is too long for a number."),
        (True, "must be a decimal number, got bool."),
        ([1], "must be a decimal number, got list."),
    ],
)
def test_a_bad_value_is_refused_with_a_precise_message(raw, message):
    assert errors_of(value=raw) == {"value": message}


def test_the_largest_value_the_column_holds_is_accepted():
    assert clean_of(row(value="999999999999.99")).value == Decimal("999999999999.99")


@pytest.mark.parametrize(("value", "currency"), [(..., ...), ("-", "-"), ("", "-"), (None, None)])
def test_no_value_means_no_currency(value, currency):
    clean = clean_of(row(value=value, currency=currency))

    assert (clean.value, clean.currency) == (None, "")


@pytest.mark.parametrize(("raw", "expected"), [("usd", "USD"), (" jpy ", "JPY"), ("-", "CNY"), (None, "CNY")])
def test_a_currency_is_an_upper_case_iso_code_or_the_default(raw, expected):
    assert clean_of(row(value="10", currency=raw)).currency == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("RMB", "'RMB' is not an ISO 4217 currency code (e.g. CNY, USD)."),
        ("yuan renminbi", "'YUAN RENMI…' is not an ISO 4217 currency code (e.g. CNY, USD)."),
        (156, "must be a 3-letter ISO 4217 code such as CNY."),
    ],
)
def test_a_bad_currency_is_refused_with_a_precise_message(raw, message):
    assert errors_of(value="10", currency=raw) == {"currency": message}


def test_a_page_load_time_is_a_measurement_without_a_currency():
    clean = clean_of(row(event_name="page_load_time", value="840"))

    assert (clean.value, clean.currency) == (Decimal("840.00"), "")
    assert errors_of(event_name="page_load_time", value="840", currency="CNY") == {
        "currency": "page_load_time's value is a measurement, not money: send it without a currency."
    }


# Short text fields


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("user_id", "u" * 10_000, "is 10,000 characters long; at most 128 allowed."),
        ("page", "p" * 201, "is 201 characters long; at most 200 allowed."),
        ("app_id", "wx" + "0" * 31, "is 33 characters long; at most 32 allowed."),
        ("session_id", ["s-1"], "must be text, got list."),
        ("source", 1.5, "must be text, got float."),
        ("campaign", True, "must be text, got bool."),
        ("page", "a\x00b", "contains a NUL character."),
        ("user_id", "u\ud800", "contains invalid Unicode (a lone surrogate)."),
    ],
)
def test_a_bad_text_field_is_refused_with_a_precise_message(name, raw, message):
    assert errors_of(**{name: raw}) == {name: message}


def test_text_fields_are_trimmed_ids_sent_as_numbers_become_text_and_the_source_is_lower_case():
    clean = clean_of(row(user_id=10086, session_id="  s-1 ", source="WeChat_Ad", campaign="-", page="商品详情"))

    assert (clean.user_id, clean.session_id, clean.source, clean.campaign_code, clean.page) == (
        "10086",
        "s-1",
        "wechat_ad",
        "",
        "商品详情",
    )


# Properties


def test_properties_sent_as_json_text_are_parsed_and_dumped_once():
    clean = clean_of(row(properties='{"template": "PDP", "标签": [1, 2]}'))

    assert clean.properties == {"template": "PDP", "标签": [1, 2]}
    assert clean.properties_json == '{"template": "PDP", "标签": [1, 2]}'


def test_unknown_fields_are_kept_as_snake_case_properties_without_overriding_sent_ones():
    clean = clean_of(row(properties={"coupon": "SENT"}, Coupon="EXTRA", **{"Gift Card": "G1", "empty": "-"}))

    assert clean.properties == {"coupon": "SENT", "gift_card": "G1"}


def test_a_placement_scene_is_kept_as_the_scene_and_as_a_property():
    clean = clean_of(row(placement_scene="pos-7"))

    assert (clean.scene, clean.properties) == ("pos-7", {"scene": "pos-7"})


@pytest.mark.parametrize(("scene", "expected"), [("pos-7", "pos-7"), (1047, "1047"), (True, ""), ("s" * 65, "")])
def test_a_scene_property_fills_the_scene_when_it_fits_the_column(scene, expected):
    assert clean_of(row(properties={"scene": scene})).scene == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2], "must be a JSON object, got list."),
        ("[1, 2]", "must be a JSON object, got list."),
        ("template=PDP", 'is text that is not a JSON object (e.g. {"template": "PDP"}).'),
        ("x" * (MAX_PROPERTIES_CHARS + 1), "are larger than 16,000 characters as JSON."),
        ({"note": "x" * MAX_PROPERTIES_CHARS}, "are larger than 16,000 characters as JSON."),
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", f"are nested more than {MAX_PROPERTIES_DEPTH} levels deep."),
        ({"n": float("nan")}, "contain NaN or Infinity, which JSON cannot store."),
        ({"note": "a\x00b"}, "contain a NUL character."),
        ({"note": "a\ud800"}, "contain invalid Unicode (a lone surrogate)."),
    ],
)
def test_bad_properties_are_refused_with_a_precise_message(raw, message):
    assert errors_of(properties=raw) == {"properties": message}


def nested(depth: int) -> dict:
    node: dict = {}
    for _ in range(depth - 1):
        node = {"k": node}
    return node


def test_properties_may_nest_ten_levels_and_no_more():
    assert clean_of(row(properties=nested(MAX_PROPERTIES_DEPTH))).properties == nested(MAX_PROPERTIES_DEPTH)
    assert errors_of(properties=nested(MAX_PROPERTIES_DEPTH + 1)) == {
        "properties": "are nested more than 10 levels deep."
    }


def test_properties_may_hold_a_thousand_keys_and_items_and_no_more():
    # One key holding a list: the key counts as one item, so 999 list items reach the limit.
    at_limit = {"ids": list(range(MAX_PROPERTIES_ITEMS - 1))}

    assert clean_of(row(properties=at_limit)).properties == at_limit
    assert errors_of(properties={"ids": list(range(MAX_PROPERTIES_ITEMS))}) == {
        "properties": "have more than 1,000 keys and items."
    }


def test_an_unknown_field_with_a_name_longer_than_64_characters_is_refused():
    assert errors_of(**{"k" * 65: "v"}) == {"properties": "has a field name longer than 64 characters."}
