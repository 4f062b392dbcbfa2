from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.ingest import ingest_rows
from events.models import Event, RejectedRow

pytestmark = pytest.mark.django_db


def row(**overrides):
    base = {
        "event_name": "pay_success",
        "user_id": "a1b2c3",
        "session_id": "s-001",
        "source": "wechat_ad",
        "campaign": "23Q4-Sale",
        "page": "checkout",
        "value": "199.00",
        "currency": "CNY",
        "ts": "2025-11-01T10:15:23Z",
    }
    base.update(overrides)
    return base


def test_a_mixed_batch_stores_good_rows_and_reports_bad_and_duplicate_ones(campaign):
    rows = [row(), row(user_id=""), row(), row(event_name="add_to_cart", value="-")]

    result = ingest_rows(rows, channel="api", source="server")

    assert (result.accepted, result.duplicates, result.conflicts) == (2, 1, 0)
    assert [(e.index, e.errors) for e in result.rejected] == [(1, {"user_id": "is required."})]
    stored = Event.objects.get(event_name="pay_success")
    assert stored.campaign == campaign
    assert stored.campaign_code == "23Q4-Sale"
    assert stored.value == Decimal("199.00")
    assert stored.ts == datetime(2025, 11, 1, 10, 15, 23, tzinfo=UTC)
    rejected = RejectedRow.objects.get()
    assert rejected.row_index == 1
    assert rejected.channel == "api"
    assert '"user_id": ""' in rejected.raw


def test_sending_the_same_batch_twice_stores_it_once():
    rows = [row(), row(event_name="add_to_cart", ts="2025-11-01T10:14:01Z")]
    ingest_rows(rows, channel="csv", source="server")

    again = ingest_rows(rows, channel="csv", source="server")

    assert (again.accepted, again.duplicates) == (0, 2)
    assert Event.objects.count() == 2


def test_a_different_payload_under_a_used_event_id_is_a_conflict_kept_for_review():
    ingest_rows([row(event_id="order-1")], channel="api", source="server")

    result = ingest_rows([row(event_id="order-1", value="299.00")], channel="api", source="server")

    assert (result.accepted, result.duplicates, result.conflicts) == (0, 0, 1)
    assert result.rejected[0].reason == "conflict"
    assert RejectedRow.objects.get().reason == RejectedRow.Reason.CONFLICT
    assert Event.objects.get().value == Decimal("199.00")


def test_the_same_event_id_from_another_sender_is_a_different_event():
    ingest_rows([row(event_id="1")], channel="api", source="crm")

    result = ingest_rows([row(event_id="1", value="5.00")], channel="api", source="mini_program")

    assert result.accepted == 1


def test_a_conflict_inside_one_batch_is_reported_not_dropped():
    result = ingest_rows([row(event_id="x"), row(event_id="x", value="1.00")], channel="api", source="s")

    assert (result.accepted, result.conflicts) == (1, 1)
    assert result.rejected[0].index == 1


def test_the_event_name_is_stored_normalised_to_lower_snake_case():
    # The rules, case by case, are unit-tested in test_validate_unit.py.
    ingest_rows([row(event_name="Add To Cart")], channel="api", source="s")

    assert Event.objects.get().event_name == "add_to_cart"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ts", "2025-11-01T10:15:23", "has no time zone; add Z or an offset such as +08:00."),
        ("ts", "yesterday", "'yesterday' is not an ISO 8601 timestamp (e.g. 2025-11-01T10:15:23Z)."),
        ("value", "NaN", "must be a finite number."),
        ("value", "Infinity", "must be a finite number."),
        ("value", "-1", "must not be negative (send refunds as refund events with a positive value)."),
        ("value", "1e20", "is larger than 999,999,999,999.99."),
        ("value", "1.234", "has more than 2 decimal places."),
        ("value", "12,5", "'12,5' is not a decimal number (use a dot, e.g. 199.00)."),
        ("currency", "XYZ", "'XYZ' is not an ISO 4217 currency code (e.g. CNY, USD)."),
        ("user_id", "u" * 10_000, "is 10,000 characters long; at most 128 allowed."),
        ("properties", [1, 2], "must be a JSON object, got list."),
        (
            "event_name",
            "支付",
            "'支付' does not make a lower snake case name (letters, digits, '_', starting with a letter).",
        ),
    ],
)
def test_bad_fields_are_rejected_with_a_precise_message(field, value, message):
    result = ingest_rows([row(**{field: value})], channel="api", source="s")

    assert result.rejected[0].errors == {field: message}
    assert Event.objects.count() == 0


def test_a_timestamp_more_than_a_day_ahead_is_rejected():
    ahead = (timezone.now() + timedelta(days=2)).isoformat()

    result = ingest_rows([row(ts=ahead)], channel="api", source="s")

    assert "in the future" in result.rejected[0].errors["ts"]


def test_currency_defaults_to_cny_when_a_value_is_given_and_dashes_mean_empty():
    ingest_rows([row(currency="-", campaign="-", session_id="")], channel="api", source="s")

    event = Event.objects.get()
    assert (event.currency, event.campaign_code, event.session_id) == ("CNY", "", "")


def test_an_aware_datetime_and_unknown_fields_are_accepted():
    moment = datetime(2025, 11, 1, 18, 0, tzinfo=timezone.get_fixed_timezone(480))

    ingest_rows([row(ts=moment, coupon="NEW10")], channel="wechat_push", source="official_account")

    event = Event.objects.get()
    assert event.ts == moment
    assert event.properties == {"coupon": "NEW10"}


def test_a_scene_resolves_to_the_placement_and_its_campaign(campaign):
    from campaigns.models import Placement

    placement = Placement.objects.create(campaign=campaign, name="Store poster", scene="sc01")

    ingest_rows([row(campaign="-", placement_scene="sc01")], channel="api", source="s")
    ingest_rows([row(campaign="-", properties={"scene": "sc01"}, user_id="other")], channel="api", source="s")

    assert (
        list(Event.objects.values_list("placement_id", "campaign_id", "campaign_code"))
        == [(placement.pk, campaign.pk, "23Q4-Sale")] * 2
    )


def test_a_campaign_code_that_matches_nothing_is_kept_as_sent():
    ingest_rows([row(campaign="23q4-sale")], channel="api", source="s")

    event = Event.objects.get()
    assert (event.campaign_id, event.campaign_code) == (None, "23q4-sale")


@pytest.mark.parametrize("filler", [0, 150], ids=["small batch: JSON parameter", "large batch: COPY staging"])
def test_an_event_matches_its_campaign_code_ignoring_case(campaign, filler):
    # On PostgreSQL both SQL paths (JSON parameter, COPY staging); on SQLite the portable
    # path. The code is kept as sent; the link ignores case.
    rows = [
        row(campaign="23Q4-SALE", event_id="upper"),
        row(campaign="23q4-sale", event_id="lower"),
        row(campaign="23Q4-Sale", event_id="exact"),
        row(campaign="23Q4-Sales", event_id="other"),
        *(row(event_id=f"filler-{i}", campaign="-") for i in range(filler)),
    ]

    ingest_rows(rows, channel="api", source="s")

    stored = dict(Event.objects.exclude(event_id__startswith="filler-").values_list("event_id", "campaign_id"))
    assert stored == {"upper": campaign.pk, "lower": campaign.pk, "exact": campaign.pk, "other": None}
    assert Event.objects.get(event_id="upper").campaign_code == "23Q4-SALE"


def test_a_page_load_time_is_milliseconds_and_never_gets_a_currency():
    timing = row(event_name="page_load_time", value="840", currency="-", page="home", event_id="t1")

    result = ingest_rows([timing, {**timing, "currency": "CNY", "event_id": "t2"}], channel="api", source="s")

    event = Event.objects.get()
    assert (event.value, event.currency) == (Decimal("840.00"), "")
    assert [(e.index, e.errors) for e in result.rejected] == [
        (1, {"currency": "page_load_time's value is a measurement, not money: send it without a currency."})
    ]


def test_a_page_load_time_hashes_as_before_it_lost_its_default_currency():
    # Until issue 12 the row was stored (and hashed) with currency CNY; a retry sent after
    # the change must stay a duplicate of it, not a new event.
    from events.ingest.dedupe import content_hash
    from events.ingest.validate import validate_row

    now = datetime(2025, 11, 2, tzinfo=UTC)
    new, _ = validate_row(row(event_name="page_load_time", value="840", currency="-"), now=now)
    old, _ = validate_row(row(event_name="pay_success", value="840", currency="-"), now=now)
    old.event_name = "page_load_time"  # as the old code stored it: with the default CNY

    assert (new.currency, old.currency) == ("", "CNY")
    assert content_hash(new) == content_hash(old)


def test_an_empty_source_takes_the_senders_source_and_aliases_apply():
    from campaigns.models import SourceAlias

    SourceAlias.objects.update_or_create(alias="fb", defaults={"canonical": "facebook"})

    ingest_rows([row(source="-"), row(source="FB", user_id="u2")], channel="api", source="crm")

    assert sorted(Event.objects.values_list("source", flat=True)) == ["crm", "facebook"]


def test_a_row_that_is_not_an_object_is_rejected_and_kept():
    result = ingest_rows(["hello"], channel="api", source="s")

    assert result.rejected[0].errors == {"row": "must be an object with event fields, got str."}
    assert RejectedRow.objects.get().raw == "hello"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_sending_the_same_batch_at_once_store_it_once():
    import threading

    from django.db import connection

    batch = [row(user_id=f"u{i}", event_id=f"e{i}") for i in range(200)]
    results = []
    start = threading.Barrier(2)

    def send():
        start.wait()
        try:
            results.append(ingest_rows(batch, channel="api", source="server"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted((r.accepted, r.duplicates, r.conflicts) for r in results) == [(0, 200, 0), (200, 0, 0)]
    assert Event.objects.count() == 200


def test_nul_characters_and_lone_surrogates_are_rejected_and_kept_not_a_crash():
    rows = [
        row(user_id="a\x00b"),
        row(properties={"note": "\ud800"}),
        "\x00",
        row(page="\udfff"),
        row(properties={"ratio": float("nan")}),
        row(extra=float("inf")),
    ]

    result = ingest_rows(rows, channel="api", source="s")

    assert [sorted(e.errors) for e in result.rejected] == [
        ["user_id"],
        ["properties"],
        ["row"],
        ["page"],
        ["properties"],
        ["properties"],
    ]
    assert RejectedRow.objects.count() == 6


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from([float("nan"), float("inf"), "\x00", "\ud800"])
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["-", "", "2025-11-01T10:15:23Z", "199.00", "CNY", "API_error", "23Q4-Sale", "NaN", "1e400"]),
)


FUZZED_FIELDS = [*row(), "event_id", "properties", "placement_scene", "app_id", "extra"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.one_of(
            json_values,
            st.fixed_dictionaries({}, optional={name: field_values for name in FUZZED_FIELDS}),
            # Mostly valid rows with one or two fuzzed fields, so the write path is exercised.
            st.dictionaries(st.sampled_from(FUZZED_FIELDS), field_values, max_size=2).map(lambda d: row(**d)),
        ),
        max_size=6,
    )
)
def test_any_json_batch_is_fully_accounted_for_and_never_raises(rows):
    result = ingest_rows(rows, channel="api", source="fuzz")

    assert result.accepted + result.duplicates + len(result.rejected) == len(rows)


@pytest.mark.parametrize("filler", [0, 150], ids=["small batch: JSON parameter", "large batch: COPY staging"])
def test_both_write_paths_resolve_look_ups_and_dedupe_alike(campaign, filler):
    """A batch under STAGING_THRESHOLD travels as one JSON parameter, a larger one through
    COPY into a temp table; what is stored and reported must not depend on that."""
    from campaigns.models import Placement, SourceAlias
    from events.ingest.write import STAGING_THRESHOLD

    placement = Placement.objects.create(campaign=campaign, name="Store poster", scene="sc01")
    SourceAlias.objects.update_or_create(alias="fb", defaults={"canonical": "facebook"})
    rows = [
        row(campaign="-", placement_scene="sc01", event_id="scan"),
        row(campaign="unknown", placement_scene="sc01", event_id="unknown-code"),
        row(source="FB", event_id="aliased"),
        row(event_id="aliased"),  # same id, other payload: a conflict
        row(campaign="-", source="-", event_id="plain", properties={"n": 1}),
        *(row(event_id=f"filler-{i}", value="-") for i in range(filler)),
    ]
    assert (len(rows) >= STAGING_THRESHOLD) == (filler > 0)

    first = ingest_rows(rows, channel="api", source="crm")
    again = ingest_rows(rows, channel="api", source="crm")

    assert (first.accepted, first.duplicates, first.conflicts) == (4 + filler, 0, 1)
    assert (again.accepted, again.duplicates, again.conflicts) == (0, 4 + filler, 1)
    stored = {
        e.event_id: (e.source, e.campaign_id, e.campaign_code, e.placement_id)
        for e in Event.objects.exclude(event_id__startswith="filler-")
    }
    assert stored == {
        "scan": ("wechat_ad", campaign.pk, "23Q4-Sale", placement.pk),
        "unknown-code": ("wechat_ad", campaign.pk, "unknown", placement.pk),
        "aliased": ("facebook", campaign.pk, "23Q4-Sale", None),
        "plain": ("crm", None, "", None),
    }
    assert Event.objects.get(event_id="plain").properties == {"n": 1}
    assert Event.objects.filter(event_id__startswith="filler-", value__isnull=True).count() == filler


@pytest.mark.postgres
def test_the_staging_table_is_empty_after_a_large_batch_inside_a_callers_transaction():
    """Inside a caller's transaction ON COMMIT DELETE ROWS comes too late: the next batch
    would read this one's staged rows again."""
    from django.db import connection, transaction

    from events.ingest.write import STAGING_TABLE

    with transaction.atomic():
        one = ingest_rows([row(event_id=f"a{i}") for i in range(120)], channel="api", source="s")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {STAGING_TABLE}")  # noqa: S608
            staged = cursor.fetchone()[0]
        two = ingest_rows([row(event_id=f"b{i}") for i in range(130)], channel="api", source="s")

    assert staged == 0
    assert (one.accepted, two.accepted) == (120, 130)
    assert Event.objects.count() == 250


def test_the_content_hash_of_a_row_never_changes_across_versions():
    """Stored content hashes are compared with new ones (dedupe of rows without an
    event_id, conflict detection): the canonical form is a stored format. This digest was
    computed by the first version of content_hash."""
    from events.ingest.dedupe import content_hash
    from events.ingest.validate import CleanRow

    clean = CleanRow(
        event_name="pay_success",
        user_id="oAbc",
        ts=datetime(2025, 11, 1, 10, 15, 23, tzinfo=UTC),
        session_id="s-1",
        source="wechat_ad",
        campaign_code="23Q4-Sale",
        page="checkout",
        value=Decimal("199.00"),
        currency="CNY",
        app_id="wx1",
        scene="p1",
        properties={"城市": "上海", "b": [1, 2.5, None], "a": {"z": True}},
    )

    assert content_hash(clean) == "f7d2059a696ee7c7575e5b206f167322c4517482d4a9f6ea2a40740271c47bd9"


@pytest.mark.parametrize("filler", [0, 150], ids=["small batch: JSON parameter", "large batch: COPY staging"])
def test_an_event_stores_the_first_128_bits_of_its_key_and_content_hash(filler):
    """The stored form (uuid digests, issue 17's storage) is a stored format too: the key of
    an event with an id is pinned here, the key table holds the same digests, and only the
    content tells a duplicate from a conflict under that key."""
    from django.db import connection

    from events.models import EventKey

    rows = [row(event_id="order-1"), *(row(event_id=f"filler-{i}") for i in range(filler))]
    ingest_rows(rows, channel="api", source="server")

    stored = Event.objects.get(event_id="order-1")
    # sha256("id" ␟ "server" ␟ "order-1"), its first 32 hex digits.
    assert str(stored.dedupe_key) == "9fef4d2f-9c7f-8c32-97a7-e43f244b3ade"
    if connection.vendor == "postgresql":
        key = EventKey.objects.get(dedupe_key=stored.dedupe_key)
        assert (key.content_hash, key.ts) == (stored.content_hash, stored.ts)
    same = ingest_rows([row(event_id="order-1")], channel="api", source="server")
    other = ingest_rows([row(event_id="order-1", page="other")], channel="api", source="server")
    assert (same.accepted, same.duplicates, same.conflicts) == (0, 1, 0)
    assert (other.accepted, other.duplicates, other.conflicts) == (0, 0, 1)
    assert Event.objects.filter(event_id="order-1").count() == 1
