"""The two writes of events.ingest.write resolve a row by the same rules.

PostgreSQL stores a batch with one statement that resolves campaign codes (ignoring case),
placement scenes (a placement's campaign fills in for a missing or unknown code) and source
aliases in SQL joins; the portable write (the SQLite demo) resolves them with look-ups in
Python. The rules are written twice, so this test feeds both the same random batches on
PostgreSQL (where both can run) and compares every stored column.
"""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.ingest.dedupe import content_hash, dedupe_key, digest
from events.ingest.validate import validate_row
from events.ingest.write import STAGING_THRESHOLD, _insert_from_json, _insert_from_staging, _insert_portable
from events.models import Event, EventKey

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = datetime(2025, 11, 20, tzinfo=UTC)
# Every column a write sets: what differs between the paths is a drifted rule.
COMPARED = [field.attname for field in Event._meta.concrete_fields if field.attname not in {"id", "received_at"}]

# Codes in several cases, one that matches nothing and none; scenes of placements in the
# same and in another campaign, an unknown scene and none; an aliased source in both cases.
CODES = ["23Q4-Sale", "23q4-SALE", "Spring", "nothing-like-it", ""]
SCENES = ["sc-sale", "sc-spring", "sc-unknown", ""]
SOURCES = ["wechat_ad", "fb", "FB", ""]

rows = st.lists(
    st.fixed_dictionaries(
        {
            "event_name": st.sampled_from(["qr_scan", "pay_success", "page_view"]),
            "user_id": st.sampled_from(["u1", "u2", "u3"]),
            "campaign": st.sampled_from(CODES),
            "placement_scene": st.sampled_from(SCENES),
            "source": st.sampled_from(SOURCES),
            "minute": st.integers(0, 600),
            "with_id": st.booleans(),
        }
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def lookups(db, campaign, marketer):
    from campaigns.models import Campaign, Placement, SourceAlias

    spring = Campaign.objects.create(code="Spring", name="Spring", owner=marketer)
    Placement.objects.create(campaign=campaign, name="Sale poster", scene="sc-sale")
    Placement.objects.create(campaign=spring, name="Spring poster", scene="sc-spring")
    SourceAlias.objects.update_or_create(alias="fb", defaults={"canonical": "facebook"})


def clean_rows(drawn: list[dict]):
    """The rows as ingest_rows hands them to the write: validated, keyed, sorted by key."""
    keyed = {}
    for number, raw in enumerate(drawn):
        ts = NOW - timedelta(minutes=raw["minute"])
        row = {
            "event_name": raw["event_name"],
            "user_id": raw["user_id"],
            "campaign": raw["campaign"] or "-",
            "placement_scene": raw["placement_scene"],
            "source": raw["source"] or "-",
            "value": "9.90" if raw["event_name"] == "pay_success" else "-",
            "currency": "CNY" if raw["event_name"] == "pay_success" else "-",
            "ts": ts.isoformat(),
            "event_id": f"e{number}" if raw["with_id"] else "",
        }
        clean, errors = validate_row(row, now=NOW)
        assert not errors, errors
        clean.source = clean.source or "sender"
        content = content_hash(clean)
        clean.dedupe_key, clean.content_hash = (
            digest(dedupe_key(clean, scope="sender", content=content)),
            digest(content),
        )
        keyed.setdefault(clean.dedupe_key, clean)
    return sorted(keyed.values(), key=lambda clean: clean.dedupe_key)


def stored_by(write, batch) -> dict:
    write(batch, received_at=NOW)
    stored = {values["dedupe_key"]: values for values in Event.objects.values(*COMPARED)}
    Event.objects.all().delete()
    EventKey.objects.all().delete()
    return stored


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=rows)
def test_the_sql_write_and_the_portable_write_store_the_same_events(lookups, drawn):
    batch = clean_rows(drawn)

    portable = stored_by(_insert_portable, batch)
    sql = stored_by(_insert_from_json, batch)

    assert len(portable) == len(batch)
    assert sql == portable


def test_the_copy_staging_write_stores_what_the_portable_write_stores(lookups):
    # Above STAGING_THRESHOLD rows PostgreSQL takes the COPY path; same rules, same result.
    drawn = [
        {
            "event_name": "qr_scan",
            "user_id": f"u{n % 7}",
            "campaign": CODES[n % len(CODES)],
            "placement_scene": SCENES[n % len(SCENES)],
            "source": SOURCES[n % len(SOURCES)],
            "minute": n,
            "with_id": n % 2 == 0,
        }
        for n in range(STAGING_THRESHOLD + 20)
    ]
    batch = clean_rows(drawn)

    portable = stored_by(_insert_portable, batch)
    staged = stored_by(_insert_from_staging, batch)

    assert len(portable) == STAGING_THRESHOLD + 20
    assert {values["placement_id"] is not None for values in portable.values()} == {True, False}
    assert staged == portable
