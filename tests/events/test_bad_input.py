"""Named hostile inputs and property tests for the parsers: each gets a precise 4xx or a
per-row error, nothing is stored wrongly, and nothing raises."""

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.ingest.parse import BodyError, parse_csv
from events.ingest.validate import validate_row
from events.models import Event

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)
SQL_LOOKING = "'; DROP TABLE events_event; --"
HTML_LOOKING = "<script>alert('x')</script>"


def test_a_10_mb_body_is_413_and_stores_nothing(post_events):
    body = b"[" + b" " * (10 * 1024 * 1024) + b"]"

    response = post_events(body)

    assert response.status_code == 413
    assert "at most 1,000 events and 5 MB per request" in response.json()["error"]
    assert Event.objects.count() == 0


def test_sql_and_html_looking_strings_are_stored_verbatim_and_shown_escaped(post_events, admin_client):
    response = post_events(
        f'{{"event_name": "page_view", "user_id": "{SQL_LOOKING}", "page": "{HTML_LOOKING}",'
        ' "ts": "2025-11-03T10:00:00+08:00"}'
    )
    stored = Event.objects.get()

    page = admin_client.get(f"/admin/events/event/{stored.pk}/change/").content.decode()
    listing = admin_client.get("/admin/events/event/").content.decode()

    assert response.status_code == 200
    assert (stored.user_id, stored.page) == (SQL_LOOKING, HTML_LOOKING)
    assert HTML_LOOKING not in page and HTML_LOOKING not in listing
    assert "&lt;script&gt;" in page


cells = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=12), max_size=20))
def test_the_csv_parser_returns_rows_or_a_body_error_for_any_text(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["event_name", "user_id", "ts", "page"])
    writer.writerows(rows)

    try:
        parsed = parse_csv(buffer.getvalue())
    except BodyError as error:
        assert 400 <= error.status < 500
        return
    assert all(isinstance(row, dict) for row in parsed)
    assert len(parsed) <= len(rows)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    row=st.dictionaries(
        st.sampled_from(
            ["event_name", "user_id", "session_id", "source", "campaign", "page", "value", "currency", "ts",
             "event_id", "properties"]
        ),
        json_values,
    )
)  # fmt: skip
def test_the_validator_either_cleans_a_row_or_explains_every_problem(row):
    clean, errors = validate_row(row, now=NOW)

    assert (clean is None) == bool(errors)
    assert all(isinstance(message, str) and message for message in errors.values())
