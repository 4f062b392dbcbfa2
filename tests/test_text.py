"""wxanalytics.text: the one snake case and the one 'raw content → storable text'."""

import pytest

from wxanalytics.text import SNAKE_CASE, is_storable, snake_case, storable_text


@pytest.mark.parametrize(
    ("name", "expected"),
    [("API_error", "api_error"), ("Add To Cart", "add_to_cart"), ("addToCart", "add_to_cart"), ("--", "")],
)
def test_snake_case_splits_words_and_camel_humps(name, expected):
    assert snake_case(name) == expected


def test_wechat_names_in_capitals_are_only_lowered_and_joined():
    assert snake_case("TEMPLATESENDJOBFINISH", split_camel=False) == "templatesendjobfinish"
    assert snake_case("subscribe_msg_popupEvent", split_camel=False) == "subscribe_msg_popupevent"
    assert snake_case("REFUND.SUCCESS", split_camel=False) == "refund_success"


def test_the_snake_case_pattern_refuses_leading_digits_and_double_underscores():
    assert SNAKE_CASE.match("add_to_cart") and not SNAKE_CASE.match("2nd_step") and not SNAKE_CASE.match("a__b")


def test_raw_bytes_become_text_a_text_column_holds_with_nothing_dropped():
    text = storable_text(b"ok \xff\x00 \xe4\xbd\xa0")

    assert text == "ok \\xff\\x00 你"
    assert is_storable(text)


def test_a_lone_surrogate_from_json_is_kept_as_an_escape():
    assert not is_storable("a\ud800")
    assert storable_text("a\ud800\x00") == "a\\ud800\\x00"
