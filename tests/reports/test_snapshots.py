from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from events.models import AdSpend
from reports.metrics.funnel import Funnel, FunnelStep
from reports.models import Snapshot
from reports.periods import PeriodError, closed_periods, last_closed, parse_label
from reports.snapshots import build
from reports.snapshots.friction import friction_point
from tests.reports.metrics_data import at, event, save
from tests.reports.snapshot_data import (
    AFTER_WEEK,
    SHANGHAI,
    WEEK,
    built,
    ensure_funnel_plan,
    journeys_week_46,
    orders_kpi,
)

# --- periods -------------------------------------------------------------------------


def test_labels_parse_to_periods_cut_in_the_reporting_time_zone():
    week = parse_label("weekly", "2025-W46")
    month = parse_label("monthly", "2025-02")
    day = parse_label("daily", "2025-11-03")

    assert (week.start, week.end) == (
        datetime(2025, 11, 10, tzinfo=SHANGHAI),
        datetime(2025, 11, 17, tzinfo=SHANGHAI),
    )
    assert (month.first_day, month.last_day, month.label) == (date(2025, 2, 1), date(2025, 2, 28), "2025-02")
    assert (day.start, day.label) == (datetime(2025, 11, 3, tzinfo=SHANGHAI), "2025-11-03")


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        ("weekly", "2025-46"),
        ("weekly", "2025-W54"),
        ("daily", "2025-02-30"),
        ("monthly", "2025-13"),
        ("yearly", "2025"),
    ],
)
def test_a_label_that_names_no_period_is_refused(kind, label):
    with pytest.raises(PeriodError):
        parse_label(kind, label)


def test_the_last_closed_period_follows_the_reporting_day_not_utc():
    # 2025-11-11 17:30 UTC is already Wednesday 12 Nov 01:30 in Shanghai.
    now = datetime(2025, 11, 11, 17, 30, tzinfo=UTC)

    assert last_closed("daily", now).label == "2025-11-11"
    assert last_closed("weekly", now).label == "2025-W45"
    assert last_closed("monthly", now).label == "2025-10"
    assert [p.label for p in closed_periods("monthly", 3, now)] == ["2025-08", "2025-09", "2025-10"]


# --- building ------------------------------------------------------------------------


def test_a_weekly_build_stores_kpis_funnel_friction_placements_and_content(db):
    journeys_week_46()
    orders_kpi(target="5")

    snapshot = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)

    assert snapshot.status == Snapshot.Status.BUILT
    assert snapshot.built_at == AFTER_WEEK and snapshot.duration_ms is not None and snapshot.builds == 1
    assert {"kpis", "funnel", "placements", "content", "top_articles", "top_paths"} <= {
        s["key"] for s in snapshot.sections
    }
    kpis = snapshot.section("kpis")
    assert kpis["rows"][0][:3] == ["Weekly orders", "1", "5"] and kpis["rows"][0][5] == "behind"
    funnel = {row[0]: row for row in snapshot.section("funnel")["rows"]}
    assert funnel["qr_scan"][1] == 4 and funnel["add_to_cart"][1] == 0  # follow (step 2) stops everyone
    assert snapshot.data["headline"]["entered"] == 4
    assert snapshot.data["friction"]["to_event"] == "follow"
    assert "Fix first" in snapshot.data["friction"]["sentence"]


def test_a_weekly_build_shows_session_depth_time_on_page_and_clicks_in_its_engagement_part(db):
    save(
        # s1: 2 pages, s2: 1 page (both h5, no campaign); one view without a session.
        *[
            event("page_view", "v1", at(day), session_id=s, source="h5", page="home")
            for day, s in (("2025-11-11", "s1"), ("2025-11-11", "s1"), ("2025-11-12", "s2"))
        ],
        event("page_view", "v2", at("2025-11-12"), source="h5", page="home"),
        event("page_leave", "v1", at("2025-11-11"), page="home", properties={"duration_ms": 4200}),
        event("element_click", "v1", at("2025-11-11"), page="home", properties={"element_id": "buy"}),
    )

    snapshot = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)

    depth = snapshot.section("engagement")
    # All: 2 sessions, 3 pages, 1 person → 1.5 pages a session (median rank 1 of [1, 2] = 1), 2 sessions a person.
    assert depth["rows"][0][2:] == [2, 3, 1, "1.50", 1, "2.00"]
    assert depth["rows"][1][:3] == ["h5", "(none)", 2]
    assert "1 page views carried no session id" in depth["note"]
    assert snapshot.section("time_on_page")["rows"] == [["home", 1, "4200", "4200", 0]]
    assert snapshot.section("top_elements")["rows"] == [["home", "buy", "–", 1, 1]]
    assert snapshot.data["headline"]["sessions"] == 2


def test_a_weekly_build_without_sessions_says_engagement_is_not_measured_rather_than_zero(db):
    journeys_week_46()

    snapshot = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)

    depth = snapshot.section("engagement")
    assert depth["rows"] == [["All sources", "All campaigns", 0, 0, 0, None, None, None]]
    assert "session depth cannot be computed" in depth["note"]
    assert "time on page is not measured" in snapshot.section("time_on_page")["note"]
    assert "Time on page: no page_leave events this week." in snapshot.data["summary"]


def test_a_weekly_build_sends_a_fixed_number_of_queries(db, django_assert_max_num_queries):
    journeys_week_46()
    build.build_snapshot("weekly", "2025-W45", now=AFTER_WEEK)  # the same work on less data

    # 35 metric queries (the headline 5, placements 2, engagement 3), session settings, the writes
    with django_assert_max_num_queries(41):
        build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)


def test_rebuilding_a_period_replaces_its_snapshot_in_the_same_row(db):
    ensure_funnel_plan()
    save(event("qr_scan", "a", at("2025-11-10")))
    first = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)
    save(event("qr_scan", "b", at("2025-11-11")))

    second = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK + timedelta(hours=1))

    assert second.pk == first.pk and Snapshot.objects.count() == 1
    assert second.builds == 2
    assert second.data["headline"]["entered"] == 2


def test_a_period_that_has_not_ended_is_not_built(db):
    with pytest.raises(build.SnapshotError, match="has not ended"):
        build.build_snapshot("weekly", WEEK, now=datetime(2025, 11, 16, 23, 0, tzinfo=SHANGHAI))

    assert not Snapshot.objects.exists()


def test_a_failed_rebuild_keeps_the_previous_data_and_records_the_error(db, monkeypatch):
    good = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)

    def broken(period):
        raise RuntimeError("metric exploded")

    monkeypatch.setitem(build.BUILDERS, "weekly", broken)
    with pytest.raises(RuntimeError):
        build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)

    failed = Snapshot.objects.get()
    assert failed.status == Snapshot.Status.FAILED
    assert failed.error == "RuntimeError: metric exploded"
    assert failed.data == good.data and failed.built_at == good.built_at


# --- staleness -----------------------------------------------------------------------


def test_events_received_after_the_build_mark_the_snapshot_stale(db):
    snapshot = built("weekly", WEEK, built_at=AFTER_WEEK)
    save(event("qr_scan", "late", at("2025-11-12"), received_at=AFTER_WEEK + timedelta(hours=2)))

    marked = build.mark_stale_snapshots(now=AFTER_WEEK + timedelta(hours=3))

    snapshot.refresh_from_db()
    assert marked == 1
    assert snapshot.stale and snapshot.stale_since == AFTER_WEEK + timedelta(hours=3)


def test_events_received_before_the_build_or_outside_the_period_leave_it_fresh(db):
    snapshot = built("weekly", WEEK, built_at=AFTER_WEEK)
    save(
        event("qr_scan", "early", at("2025-11-12"), received_at=AFTER_WEEK - timedelta(hours=1)),
        event("qr_scan", "next-week", at("2025-11-18"), received_at=AFTER_WEEK + timedelta(hours=1)),
    )

    marked = build.mark_stale_snapshots(now=AFTER_WEEK + timedelta(hours=3))

    snapshot.refresh_from_db()
    assert marked == 0 and not snapshot.stale


def test_a_late_event_late_on_sunday_in_shanghai_belongs_to_that_week(db):
    w46 = built("weekly", "2025-W46", built_at=AFTER_WEEK)
    w47 = built("weekly", "2025-W47", built_at=AFTER_WEEK)
    save(event("qr_scan", "late", at("2025-11-16", "23:30"), received_at=AFTER_WEEK + timedelta(hours=1)))  # 15:30 UTC

    build.mark_stale_snapshots(now=AFTER_WEEK + timedelta(hours=2))

    w46.refresh_from_db()
    w47.refresh_from_db()
    assert w46.stale and not w47.stale


def test_the_stale_check_costs_three_queries_however_many_snapshots(db, django_assert_num_queries):
    for day in range(1, 29):
        built("daily", f"2025-10-{day:02d}", built_at=AFTER_WEEK)
    save(
        *[
            event("qr_scan", f"u{d}", at(f"2025-10-{d:02d}"), received_at=AFTER_WEEK + timedelta(hours=1))
            for d in (3, 9)
        ]
    )

    with django_assert_num_queries(3):  # arrivals by day, imports by day, one UPDATE
        marked = build.mark_stale_snapshots(now=AFTER_WEEK + timedelta(hours=2))

    assert marked == 2


def test_arrivals_older_than_the_window_were_seen_by_earlier_runs(db):
    snapshot = built("weekly", WEEK, built_at=AFTER_WEEK)
    save(event("qr_scan", "late", at("2025-11-12"), received_at=AFTER_WEEK + timedelta(hours=1)))

    marked = build.mark_stale_snapshots(now=AFTER_WEEK + build.STALE_WINDOW + timedelta(hours=2))

    snapshot.refresh_from_db()
    assert marked == 0 and not snapshot.stale


def test_an_ad_spend_import_after_the_build_marks_the_day_stale(db):
    snapshot = built("daily", "2025-11-12", built_at=AFTER_WEEK - timedelta(days=10))
    AdSpend.objects.create(date=date(2025, 11, 12), campaign_code="C1", spend=Decimal("10.00"))

    build.mark_stale_snapshots(now=AFTER_WEEK)

    snapshot.refresh_from_db()
    assert snapshot.stale


def test_a_rebuild_clears_the_stale_flag(db):
    built("weekly", WEEK, built_at=AFTER_WEEK, stale=True, stale_since=AFTER_WEEK)

    rebuilt = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK + timedelta(hours=1))

    assert not rebuilt.stale and rebuilt.stale_since is None


# --- due periods ---------------------------------------------------------------------


def test_due_periods_are_the_closed_periods_without_a_good_snapshot(db):
    now = datetime(2025, 11, 20, 9, 0, tzinfo=SHANGHAI)  # Thursday
    built("weekly", "2025-W46")
    built("weekly", "2025-W45", status=Snapshot.Status.FAILED, built_at=None)

    due = build.due_periods(now=now, catch_up={"daily": 2, "weekly": 3, "monthly": 1})

    assert {(d.kind, d.label, d.reason) for d in due} == {
        ("daily", "2025-11-18", "missing"),
        ("daily", "2025-11-19", "missing"),
        ("weekly", "2025-W44", "missing"),
        ("weekly", "2025-W45", "failed"),
        ("monthly", "2025-10", "missing"),
    }


def test_a_build_stuck_in_building_for_hours_is_due_again(db):
    now = datetime(2025, 11, 20, 9, 0, tzinfo=SHANGHAI)
    built(
        "weekly", "2025-W46", status=Snapshot.Status.BUILDING, built_at=None, build_started_at=now - timedelta(hours=3)
    )

    due = build.due_periods(now=now, catch_up={"daily": 1, "weekly": 1, "monthly": 1})

    assert ("weekly", "2025-W46", "stuck") in {(d.kind, d.label, d.reason) for d in due}


# --- the friction point --------------------------------------------------------------


def _funnel(*people: int) -> Funnel:
    names = ["qr_scan", "add_to_cart", "start_checkout", "pay_success"]
    steps = []
    for i, count in enumerate(people):
        rate = (
            None
            if i == 0 or not people[i - 1]
            else (Decimal(count) / Decimal(people[i - 1])).quantize(Decimal("0.0001"))
        )
        lost = 0 if i == 0 else people[i - 1] - count
        steps.append(FunnelStep(i + 1, names[i], count, count, rate, None, lost))
    return Funnel("w", 604800, None, steps, people[0], people[-1], None)


def test_without_a_sharp_decline_the_friction_point_is_the_worst_step():
    current = _funnel(100, 60, 50, 10)  # 60 %, 83 %, 20 %
    previous = _funnel(100, 62, 52, 11)

    point = friction_point(current, previous)

    assert point.step == "start_checkout → pay_success" and point.reason == "worst drop"
    assert point.rate_pct == Decimal("20.0") and point.people_lost == 40
    assert "pay page" in point.sentence


def test_a_step_that_fell_sharply_since_last_week_is_the_friction_point():
    current = _funnel(100, 60, 40, 30)  # cart → checkout 66.7 % (last week 90 %), pay 75 %
    previous = _funnel(100, 60, 54, 10)

    point = friction_point(current, previous)

    assert point.step == "add_to_cart → start_checkout" and point.reason == "decline"
    assert point.previous_rate_pct == Decimal("90.0") and point.change_points == Decimal("-23.3")
    assert "fell from 90.0% to 66.7%" in point.sentence


def test_nobody_entering_means_no_friction_point():
    assert friction_point(_funnel(0, 0, 0, 0), None) is None


# --- the command ---------------------------------------------------------------------


def test_the_command_backfills_a_range_and_reports_progress(db, capsys):
    call_command("build_snapshot", "daily", "--from", "2025-11-01", "--to", "2025-11-03")

    out = capsys.readouterr().out
    assert "[1/3] daily 2025-11-01" in out and "[3/3] daily 2025-11-03" in out
    assert list(Snapshot.objects.order_by("period_start").values_list("period_label", flat=True)) == [
        "2025-11-01",
        "2025-11-02",
        "2025-11-03",
    ]


def test_the_command_builds_the_last_closed_period_by_default(db):
    call_command("build_snapshot", "monthly")

    assert Snapshot.objects.get().period_label == last_closed("monthly").label


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["weekly", "--month", "2025-11"], "--month does not apply to weekly"),
        (["weekly", "--week", "2025-46"], "not a weekly period label"),
        (["daily", "--from", "2025-11-01"], "needs both --from and --to"),
        (["daily", "--from", "2025-11-03", "--to", "2025-11-01"], "is after"),
        (["daily", "--date", "2999-01-01"], "has not ended"),
    ],
)
def test_the_command_refuses_bad_input_with_a_clear_message(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("build_snapshot", *args)


# --- the beat schedule ---------------------------------------------------------------


def test_migrate_creates_the_beat_schedule_in_the_reporting_time_zone_with_expiry(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="reports.tasks.build_due_snapshots")

    assert str(task.crontab.timezone) == "Asia/Shanghai"
    assert task.expire_seconds and task.enabled


def test_syncing_the_schedule_again_keeps_edits_made_in_admin(db):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from reports.schedule import sync_beat_schedule

    task = PeriodicTask.objects.get(task="reports.tasks.mark_stale_snapshots")
    task.crontab = CrontabSchedule.objects.create(minute="5", hour="*", timezone="Asia/Shanghai")
    task.save()

    sync_beat_schedule()

    task.refresh_from_db()
    assert task.crontab.minute == "5"
    assert PeriodicTask.objects.filter(task="reports.tasks.mark_stale_snapshots").count() == 1


def test_a_decline_measured_on_a_handful_of_people_is_not_the_friction_point():
    current = _funnel(8, 6, 3, 3)  # cart → checkout 50 % (last week 100 %) but only 6 people
    previous = _funnel(8, 6, 6, 2)

    point = friction_point(current, previous)

    assert point.reason == "worst drop" and point.step == "add_to_cart → start_checkout"


# --- the demo ------------------------------------------------------------------------


def test_the_demo_builds_every_kind_once_and_re_running_replaces(db):
    from events.demo import seed_events
    from reports.demo import seed_reports

    # Sunday 29 November 2026, China time: events on 19–28 November.
    with time_machine.travel(datetime(2026, 11, 29, 12, tzinfo=settings.REPORTING_TZ), tick=True):
        seed_events(days=10, users=20, seed=1)
        first = seed_reports(days=10, seed=1)
        second = seed_reports(days=10, seed=1)

    # 10 days; W47 (16–22 Nov) but not W46 (no events); no closed month holds events (October has none).
    assert {kind: len(labels) for kind, labels in first.built.items()} == {"daily": 10, "weekly": 1}
    assert first.built == second.built
    assert Snapshot.objects.count() == 11 and set(Snapshot.objects.values_list("builds", flat=True)) == {2}


def test_the_demo_builds_only_periods_that_hold_events_and_prints_each_once(db):
    import io

    from django.core.management.base import OutputWrapper
    from django.db.models import Min
    from django.utils import timezone

    from events.demo import seed_events
    from events.models import Event
    from reports.demo import seed_reports

    assert seed_reports(days=35).built == {}  # no events, no all-zero snapshots
    with time_machine.travel(datetime(2026, 11, 29, 12, tzinfo=settings.REPORTING_TZ), tick=True):
        seed_events(days=3, users=10, seed=1)
        first_day = timezone.localtime(Event.objects.aggregate(first=Min("ts"))["first"]).date().isoformat()
        out = OutputWrapper(io.StringIO())
        built = seed_reports(days=35, stdout=out).built

    assert built["daily"] and all(label >= first_day for label in built["daily"])  # not 14 days back
    assert len(built["daily"]) == 3  # 26–28 November
    assert "weekly" not in built and "monthly" not in built  # W47 and October hold no events
    lines = out._out.getvalue().splitlines()
    assert len(lines) == sum(len(labels) for labels in built.values()) == len(set(lines))


def test_every_scheduled_task_is_registered_with_the_worker_app():
    from reports.schedule import SCHEDULE
    from wxanalytics.celery import app

    app.loader.import_default_modules()  # what a worker does at start

    assert {entry.task for entry in SCHEDULE} <= set(app.tasks)
