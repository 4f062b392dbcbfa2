"""`manage.py rebuild_snapshots`: after a release that changes a definition, one command
rebuilds every existing snapshot with the new numbers, with progress."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reports.models import Snapshot
from tests.reports.snapshot_data import built, journeys_week_46


def run(*args) -> str:
    out = StringIO()
    call_command("rebuild_snapshots", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_rebuilds_every_existing_snapshot_with_todays_definitions_and_shows_progress(db):
    journeys_week_46()
    # Two snapshots built by an older release: their stored numbers are not today's.
    old_week = built("weekly", "2025-W46", stale=True, data={"title": "old", "summary": [], "sections": []})
    old_day = built("daily", "2025-11-14", data={"title": "old", "summary": [], "sections": []})

    output = run()

    assert "[1/2] weekly 2025-W46: rebuilt" in output and "[2/2] daily 2025-11-14: rebuilt" in output
    week, day = Snapshot.objects.get(pk=old_week.pk), Snapshot.objects.get(pk=old_day.pk)
    # Four people entered the week-46 funnel (tests/reports/snapshot_data.py).
    funnel = next(s for s in week.sections if s["key"] == "funnel")
    assert funnel["rows"][0][:2] == ["qr_scan", 4]
    assert week.stale is False and week.builds == 1 and day.data["title"] != "old"
    assert Snapshot.objects.count() == 2  # rebuilt in place, nothing new


def test_it_can_rebuild_only_one_kind_or_only_the_stale_ones(db):
    journeys_week_46()
    stale_week = built("weekly", "2025-W46", stale=True)
    fresh_week = built("weekly", "2025-W45")
    day = built("daily", "2025-11-14", stale=True)

    assert "[1/1] weekly 2025-W46" in run("--kind", "weekly", "--stale-only")

    builds = dict(Snapshot.objects.values_list("pk", "builds"))
    assert (builds[stale_week.pk], builds[fresh_week.pk], builds[day.pk]) == (1, 0, 0)


def test_it_says_which_snapshots_could_not_be_rebuilt_and_fails(db):
    # A snapshot row for a period that has not ended (made by hand) cannot be rebuilt.
    open_day = built("daily", "2999-01-01")

    with pytest.raises(CommandError, match="1 of 1 rebuilds failed"):
        run()
    assert Snapshot.objects.get(pk=open_day.pk).builds == 0
