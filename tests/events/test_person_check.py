"""The check of the person on received events (events.people.check_people_on_received_events):
the one gap of the rewrite after a link, and the check that closes it."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from events import identity
from events.ingest import ingest_rows
from events.models import Event, FirstTouch, Identity, PersonChange, ReceivedCheckpoint
from events.people import CHECK_CHECKPOINT, check_people_on_received_events, rewrite_pending_people
from tests.events.test_people import week_snapshot

TS = datetime(2025, 11, 3, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, Monday 3 Nov 2025
NO_MARGIN = timedelta(0)  # the tests' received_at is taken inside the writing transaction, or before the check


def event(name: str, user_id: str, ts: datetime = TS, **extra) -> dict:
    return {"event_name": name, "user_id": user_id, "ts": ts.isoformat(), **extra}


def stored_people() -> dict[str, str | None]:
    return dict(Event.objects.values_list("user_id", "person_id"))


def checkpoint() -> tuple[datetime, int]:
    row = ReceivedCheckpoint.objects.get(name=CHECK_CHECKPOINT)
    return row.received_at, row.event_ref


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_ingest_committed_after_the_rewrite_of_a_link_it_raced_is_fixed_by_the_check():
    identity.link("oMP_1", unionid="union-1")
    ingest_rows([event("page_view", "oMP_1", TS + timedelta(days=1))], channel="test")
    week = week_snapshot()
    inserted, release = threading.Event(), threading.Event()

    def ingest_in_an_open_transaction():
        try:
            with transaction.atomic():
                Event.objects.exists()  # the transaction begins before ingest takes received_at
                ingest_rows([event("follow", "guest", TS)], channel="test")
                inserted.set()
                release.wait(30)
        finally:
            connection.close()

    writer = threading.Thread(target=ingest_in_an_open_transaction)
    writer.start()
    try:
        assert inserted.wait(30)
        identity.link("guest", alias="oMP_1")  # the guest joins union-1 while its event is uncommitted
        assert rewrite_pending_people().events == 0  # the round cannot see the guest's event
        held_back = check_people_on_received_events(margin=NO_MARGIN)
    finally:
        release.set()
        writer.join(30)

    # The gap: the event keeps the person read before the link, and nothing left would fix it.
    assert stored_people() == {"oMP_1": "union-1", "guest": None}
    assert identity.person_of("guest") == "union-1"
    assert (rewrite_pending_people().ids, stored_people()["guest"]) == (0, None)
    assert sorted(FirstTouch.objects.values_list("person", "ts")) == [
        ("guest", TS),
        ("union-1", TS + timedelta(days=1)),
    ]
    week.refresh_from_db()
    assert not week.stale
    # The check run while the ingest was open stopped before it instead of passing it by.
    guest_received = Event.objects.get(user_id="guest").received_at
    assert held_back.ids == 0
    assert checkpoint()[0] <= guest_received

    found = check_people_on_received_events(margin=NO_MARGIN)
    rewritten = rewrite_pending_people()

    assert found.ids == 1
    assert checkpoint()[0] > guest_received
    assert rewritten.events == 1
    assert stored_people() == {"oMP_1": "union-1", "guest": "union-1"}
    assert list(FirstTouch.objects.values_list("person", "ts")) == [("union-1", TS)]
    week.refresh_from_db()
    assert week.stale


@pytest.mark.django_db
def test_the_check_queues_ids_whose_events_carry_an_outdated_person_and_a_second_run_finds_nothing():
    ingest_rows([event("page_view", user_id) for user_id in ("a", "b", "c")], channel="test")
    # An identity that no rewrite followed (what the race leaves behind).
    Identity.objects.create(user_id="b", person_id="union-2")
    received = Event.objects.get(user_id="b").received_at

    first = check_people_on_received_events(margin=NO_MARGIN)

    assert (first.events, first.ids) == (3, 1)
    assert list(PersonChange.objects.values_list("user_id", flat=True)) == ["b"]
    assert checkpoint()[0] > received
    assert rewrite_pending_people().events == 1
    assert stored_people() == {"a": None, "b": "union-2", "c": None}

    again = check_people_on_received_events(margin=NO_MARGIN)

    assert (again.events, again.ids) == (0, 0)
    assert not PersonChange.objects.exists()


@pytest.mark.django_db
def test_the_check_works_in_chunks_through_events_that_share_one_received_at():
    ingest_rows([event("page_view", f"o{i}", TS + timedelta(seconds=i)) for i in range(7)], channel="test")
    assert Event.objects.values("received_at").distinct().count() == 1  # one batch, one received_at
    Identity.objects.create(user_id="o1", person_id="union-1")
    Identity.objects.create(user_id="o5", person_id="union-5")

    result = check_people_on_received_events(events_per_chunk=2, margin=NO_MARGIN)

    assert (result.chunks, result.events, result.ids) == (4, 7, 2)
    assert sorted(PersonChange.objects.values_list("user_id", flat=True)) == ["o1", "o5"]
    assert check_people_on_received_events(events_per_chunk=2, margin=NO_MARGIN).events == 0


@pytest.mark.django_db
def test_the_check_leaves_events_received_within_the_margin_for_a_later_run():
    ingest_rows([event("page_view", "a")], channel="test")
    Identity.objects.create(user_id="a", person_id="union-1")

    early = check_people_on_received_events()  # the default margin: minutes

    assert (early.events, early.ids) == (0, 0)
    assert check_people_on_received_events(margin=NO_MARGIN).ids == 1
