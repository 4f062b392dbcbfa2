"""Ingest believes a short link's hand-over only when its signature holds (events/ingest/handover.py)."""

import time
from datetime import UTC, datetime

import pytest
from django.db import connection

from campaigns.models import Campaign, Placement
from events.handover import sign_handover
from events.ingest import ingest_rows
from events.models import Event, RejectedRow
from events.partitions import ensure_partitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def poster(campaign):
    return Placement.objects.create(campaign=campaign, name="Store poster", scene="p7Kx2")


@pytest.fixture
def other_placement(marketer):
    other = Campaign.objects.create(code="Spring", name="Spring", status=Campaign.Status.ACTIVE, owner=marketer)
    return Placement.objects.create(campaign=other, name="Bus stop", scene="bus9")


def h5_event(handover, *, event_id="e1", **fields):
    """An event as the H5 snippet sends it after landing from /r/<code>."""
    return {
        "event_name": "page_view",
        "user_id": handover["wxa_v"],
        "ts": "2025-11-03T10:00:00+08:00",
        "source": "h5",
        "campaign": handover["wxa_c"],
        "placement_scene": handover["wxa_p"],
        "event_id": event_id,
        "properties": {"handover": handover},
        **fields,
    }


def signed(**overrides):
    facts = {"visitor": "v-scan-1", "placement": "p7Kx2", "campaign": "23Q4-Sale", "now": time.time()}
    return sign_handover(**{**facts, **overrides})


def test_a_verified_hand_over_attributes_the_event_to_its_placement_and_campaign(client_key, campaign, poster):
    result = ingest_rows([h5_event(signed())], channel="api", ingest_key=client_key[0])

    event = Event.objects.get()
    assert (result.accepted, result.rejected) == (1, [])
    assert (event.placement_id, event.campaign_id, event.user_id) == (poster.pk, campaign.pk, "v-scan-1")
    assert event.properties["handover_status"] == "verified"
    assert "handover_error" not in event.properties


def test_the_signed_placement_wins_over_what_the_row_itself_claims(client_key, campaign, poster, other_placement):
    # A client keeps a genuine hand-over but names another placement in the row.
    row = h5_event(signed(), placement_scene="bus9", campaign="Spring")

    ingest_rows([row], channel="api", ingest_key=client_key[0])

    event = Event.objects.get()
    assert (event.placement_id, event.campaign_id, event.campaign_code) == (poster.pk, campaign.pk, "23Q4-Sale")
    assert event.properties["scene"] == "p7Kx2"


def test_a_forged_hand_over_is_stored_without_attribution_and_says_why(client_key, poster, other_placement):
    handover = {**signed(), "wxa_p": "bus9", "wxa_c": "Spring"}  # the signature was made for p7Kx2

    result = ingest_rows([h5_event(handover)], channel="api", ingest_key=client_key[0])

    event = Event.objects.get()
    assert (result.accepted, result.rejected, RejectedRow.objects.count()) == (1, [], 0)
    assert (event.placement_id, event.campaign_id, event.campaign_code) == (None, None, "")
    assert "scene" not in event.properties  # attribution's fallback would otherwise credit bus9
    assert event.properties["handover_status"] == "forged"
    assert "was not made by this server" in event.properties["handover_error"]
    assert event.properties["handover"]["wxa_p"] == "bus9"  # the claim stays readable as sent


def test_an_expired_hand_over_is_ignored_for_attribution(client_key, poster):
    old = signed(now=time.time() - 2 * 24 * 3600)

    ingest_rows([h5_event(old)], channel="api", ingest_key=client_key[0])

    event = Event.objects.get()
    assert (event.placement_id, event.properties["handover_status"]) == (None, "expired")
    assert event.properties["handover_error"] == "the hand-over has expired"


def test_a_hand_over_without_a_signature_is_malformed_and_ignored(client_key, poster):
    handover = {**signed(), "wxa_sig": ""}

    ingest_rows([h5_event(handover)], channel="api", ingest_key=client_key[0])

    event = Event.objects.get()
    assert (event.placement_id, event.properties["handover_status"]) == (None, "malformed")


def test_a_retry_after_the_hand_over_expired_is_still_a_duplicate(client_key, poster, time_machine):
    time_machine.move_to("2025-11-03T02:00:00Z", tick=False)
    row = h5_event(signed(now=time.time()))
    ingest_rows([row], channel="api", ingest_key=client_key[0])
    time_machine.shift(25 * 3600)

    retry = ingest_rows([row], channel="api", ingest_key=client_key[0])

    assert (retry.accepted, retry.duplicates, retry.conflicts) == (0, 1, 0)
    assert Event.objects.get().properties["handover_status"] == "verified"


def test_the_mini_programs_unsigned_hand_over_is_left_as_a_claim(client_key, poster):
    row = {
        "event_name": "page_view",
        "user_id": "oMP_1",
        "ts": "2025-11-03T10:00:00+08:00",
        "placement_scene": "p7Kx2",
        "properties": {"handover": "mini_program"},
    }

    ingest_rows([row], channel="api", ingest_key=client_key[0])

    event = Event.objects.get()
    assert event.placement_id == poster.pk
    assert "handover_status" not in event.properties


@pytest.mark.parametrize("path", ["json", "copy", "portable"])
def test_every_write_path_applies_the_same_rule(client_key, campaign, poster, other_placement, path, monkeypatch):
    filler = 150 if path == "copy" else 0  # write.STAGING_THRESHOLD is 100
    if path == "portable":
        # The SQLite demo's path (bulk_create after look-ups), run here on PostgreSQL.
        monkeypatch.setattr(connection, "vendor", "portable")
    good = signed()
    rows = [
        h5_event(good, event_id="verified"),
        h5_event({**good, "wxa_p": "bus9"}, event_id="forged"),
        *(
            {"event_name": "tick", "user_id": "f", "ts": "2025-11-03T10:00:00+08:00", "event_id": f"f{i}"}
            for i in range(filler)
        ),
    ]
    if path == "portable":
        ensure_partitions([datetime(2025, 11, 3, 2, tzinfo=UTC)])  # the SQL paths do this themselves

    result = ingest_rows(rows, channel="api", ingest_key=client_key[0])

    assert result.accepted == 2 + filler
    stored = {
        e.event_id: (e.placement_id, e.campaign_id, e.properties["handover_status"])
        for e in Event.objects.filter(event_id__in=["verified", "forged"])
    }
    assert stored == {"verified": (poster.pk, campaign.pk, "verified"), "forged": (None, None, "forged")}
