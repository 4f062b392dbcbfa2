"""The person on the event and the first-touch table (events.people, events.ingest.write)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from campaigns.models import Campaign, Placement
from events import identity
from events.ingest import ingest_rows
from events.ingest.validate import validate_row
from events.ingest.write import _insert_portable
from events.models import Event, FirstTouch, Identity, PersonChange
from events.people import rebuild_first_touches, rewrite_pending_people
from reports.models import Snapshot

TS = datetime(2025, 11, 3, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, Monday 3 Nov 2025


def event(name: str, user_id: str, ts: datetime = TS, **extra) -> dict:
    return {"event_name": name, "user_id": user_id, "ts": ts.isoformat(), **extra}


def stored_people() -> dict[str, str | None]:
    return dict(Event.objects.values_list("user_id", "person_id"))


def week_snapshot(weeks_after: int = 0) -> Snapshot:
    """A built weekly snapshot of the week of TS, or of the week `weeks_after` it (built
    after that week ended)."""
    start = datetime(2025, 11, 2, 16, tzinfo=UTC) + timedelta(weeks=weeks_after)
    return Snapshot.objects.create(
        kind="weekly",
        period_start=start,
        period_end=start + timedelta(weeks=1),
        period_label=f"2025-W{45 + weeks_after}",
        status=Snapshot.Status.BUILT,
        built_at=TS + timedelta(days=9, weeks=weeks_after),
    )


@pytest.mark.django_db
def test_ingest_writes_the_known_person_on_the_event_and_nothing_for_an_unknown_id():
    Identity.objects.create(user_id="oMP_1", person_id="union-1")

    ingest_rows([event("page_view", "oMP_1"), event("page_view", "stranger")], channel="test")

    assert stored_people() == {"oMP_1": "union-1", "stranger": None}


@pytest.mark.django_db
def test_a_unionid_anywhere_in_the_batch_is_the_new_ids_person_at_insert_so_nothing_is_rewritten():
    rows = [event("app_launch", "oMP_1"), event("page_view", "oMP_1", TS + timedelta(minutes=1), unionid="union-1")]

    ingest_rows(rows, channel="test")
    rewritten = rewrite_pending_people()

    assert stored_people() == {"oMP_1": "union-1"}
    assert rewritten.events == 0


@pytest.mark.django_db
def test_the_staged_batch_path_writes_the_person_too():
    Identity.objects.create(user_id="oMP_1", person_id="union-1")
    rows = [event("page_view", "oMP_1", TS + timedelta(seconds=i)) for i in range(150)]  # ≥ STAGING_THRESHOLD

    result = ingest_rows(rows, channel="test")

    assert result.accepted == 150
    assert set(Event.objects.values_list("person_id", flat=True)) == {"union-1"}


@pytest.mark.django_db
def test_the_portable_write_sets_the_person_and_first_touch():
    Identity.objects.create(user_id="oMP_1", person_id="union-1")
    rows = []
    for index, raw in enumerate([event("page_view", "oMP_1", TS + timedelta(hours=1)), event("follow", "oMP_1")]):
        row, errors = validate_row(raw, now=TS + timedelta(days=1))
        assert not errors
        row.source, row.dedupe_key, row.content_hash = "test", uuid.UUID(int=index + 1), uuid.UUID(int=index + 1)
        rows.append(row)

    _insert_portable(rows, received_at=TS)

    assert stored_people() == {"oMP_1": "union-1"}
    touch = FirstTouch.objects.get()
    assert (touch.person, touch.ts) == ("union-1", TS)


@pytest.mark.django_db
def test_a_merge_rewrites_the_losing_persons_events_and_marks_their_snapshots_stale():
    ingest_rows(
        [event("follow", "oOA_1"), event("pay_success", "oMP_1", TS + timedelta(days=8), value="10")], channel="test"
    )
    week = week_snapshot()
    later_week = week_snapshot(weeks_after=2)

    identity.link("oOA_1", unionid="union-1")
    identity.link("oMP_1", alias="oOA_1")  # the Mini Program id joins the unionid's person
    assert stored_people() == {"oOA_1": None, "oMP_1": None}  # not yet: the worker does it

    result = rewrite_pending_people()

    assert stored_people() == {"oOA_1": "union-1", "oMP_1": "union-1"}
    assert result.events == 2
    assert not PersonChange.objects.exists()
    week.refresh_from_db()
    later_week.refresh_from_db()
    assert (week.stale, later_week.stale) == (True, False)
    assert list(FirstTouch.objects.values_list("person", "ts")) == [("union-1", TS)]


@pytest.mark.django_db
def test_the_rewrite_works_in_bounded_rounds_and_a_rerun_changes_nothing():
    ingest_rows([event("page_view", f"o{i}", TS + timedelta(seconds=i)) for i in range(7)], channel="test")
    for i in range(1, 7):
        identity.link(f"o{i}", alias="o0")

    first = rewrite_pending_people(ids_per_round=2, rows_per_statement=1)
    again = rewrite_pending_people()

    person = identity.person_of("o0")  # an alias link keeps the newer id's person: o6
    assert sorted(stored_people().items()) == [(f"o{i}", None if f"o{i}" == person else person) for i in range(7)]
    assert first.events == 6
    assert (again.ids, again.events) == (0, 0)


@pytest.mark.django_db
def test_an_erased_person_leaves_no_first_touch_or_pending_change():
    from events.privacy.erase import erase_person

    ingest_rows([event("follow", "oOA_1")], channel="test")
    identity.link("oOA_1", unionid="union-1")

    erase_person("oOA_1")

    assert not FirstTouch.objects.exists()
    assert not PersonChange.objects.exists()


# --- the first-touch table against a full recomputation ----------------------------------

USERS = ("a", "b", "c", "d", "e")
SCENES = ("", "", "ft-s1", "ft-s2")


def first_touches_by_hand() -> dict[str, tuple]:
    """Plain Python over the stored rows: each person's (ts, id) -first event and first
    event with a placement, the person from the identity table."""
    persons = dict(Identity.objects.values_list("user_id", "person_id"))
    firsts: dict[str, tuple] = {}
    entries: dict[str, tuple] = {}
    for pk, user_id, ts, campaign, placement, source in Event.objects.values_list(
        "id", "user_id", "ts", "campaign_id", "placement_id", "source"
    ):
        person = persons.get(user_id, user_id)
        if person not in firsts or (ts, pk) < firsts[person][:2]:
            firsts[person] = (ts, pk, campaign, placement, source)
        if placement is not None and (person not in entries or (ts, pk) < entries[person][:2]):
            entries[person] = (ts, pk, placement)
    return {person: (*first, *entries.get(person, (None, None, None))) for person, first in firsts.items()}


def first_touch_table() -> dict[str, tuple]:
    return {
        row[0]: row[1:]
        for row in FirstTouch.objects.values_list(
            "person", "ts", "event_ref", "campaign_id", "placement_id", "source", "entry_ts", "entry_ref",
            "entry_placement_id",
        )
    }  # fmt: skip


step = st.one_of(
    st.tuples(
        st.just("events"),
        st.lists(
            st.tuples(st.sampled_from(USERS), st.integers(0, 40), st.sampled_from(SCENES), st.booleans()),
            min_size=1,
            max_size=8,
        ),
    ),
    st.tuples(st.just("link"), st.sampled_from(USERS), st.sampled_from((*USERS, "union-1", "union-2"))),
)


class FirstTouchTableTests(HypothesisTestCase):
    @classmethod
    def setUpTestData(cls):
        campaign = Campaign.objects.create(code="FT-A", name="First touch A")
        Placement.objects.create(campaign=campaign, name="poster", scene="ft-s1")
        Placement.objects.create(campaign=campaign, name="store", scene="ft-s2")

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(steps=st.lists(step, min_size=1, max_size=8))
    def test_the_table_kept_at_ingest_and_through_links_equals_a_full_recomputation(self, steps):
        batch = 0
        for kind, *args in steps:
            if kind == "events":
                batch += 1
                rows = [
                    event(
                        "page_view",
                        user,
                        # Whole hours, often equal: ties at one instant go to the lower id.
                        TS + timedelta(hours=hour // 3),
                        event_id=f"{batch}-{index}",
                        placement_scene=scene,
                        campaign="FT-A" if coded else "",
                    )
                    for index, (user, hour, scene, coded) in enumerate(args[0])
                ]
                assert ingest_rows(rows, channel="test").rejected == []
            else:
                user, other = args
                if other.startswith("union-"):
                    identity.link(user, unionid=other)
                elif other != user:
                    identity.link(user, alias=other)
        rewrite_pending_people()

        expected = first_touches_by_hand()
        assert first_touch_table() == expected
        assert {user: person for user, person in stored_people().items() if person} == {
            user: person
            for user, person in Identity.objects.values_list("user_id", "person_id")
            if person != user and Event.objects.filter(user_id=user).exists()
        }
        rebuild_first_touches()
        assert first_touch_table() == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the partitioned table is PostgreSQL's")
@pytest.mark.django_db
def test_a_late_event_earlier_than_the_stored_first_touch_replaces_it():
    ingest_rows([event("page_view", "a", TS + timedelta(days=2), placement_scene="")], channel="test")

    ingest_rows([event("follow", "a", TS)], channel="test")

    assert FirstTouch.objects.get(person="a").ts == TS


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_link_queues_the_rewrite_and_a_real_worker_moves_the_events():
    """No one calls the rewrite here: the link's commit sends person_changes_recorded, the
    receiver in events.tasks queues the task, and a worker on the Redis broker runs it."""
    from tests.worker import purged_broker, solo_worker, wait_until

    purged_broker()
    ingest_rows([event("page_view", "oMP_9"), event("page_view", "guest-9", TS + timedelta(minutes=1))], channel="t")
    assert len({person or user_id for user_id, person in stored_people().items()}) == 2
    with solo_worker("default") as lines:
        identity.link("guest-9", alias="oMP_9")
        wait_until(lambda: not PersonChange.objects.exists(), seconds=60, lines=lines)

    people = {person or user_id for user_id, person in stored_people().items()}
    assert people == {identity.person_of("oMP_9")} == {identity.person_of("guest-9")}


@pytest.mark.django_db
def test_a_person_that_a_unionid_in_the_batch_carries_gets_a_first_touch_on_either_write():
    # The portable write once computed first touches from the identity table, which links
    # oMP_1 to union-1 only after the insert: union-1 had no first touch on SQLite.
    rows = [event("app_launch", "oMP_1"), event("page_view", "oMP_1", TS + timedelta(minutes=1), unionid="union-1")]

    ingest_rows(rows, channel="test")

    assert dict(FirstTouch.objects.values_list("person", "ts")) == {"union-1": TS}
    assert stored_people() == {"oMP_1": "union-1"}
