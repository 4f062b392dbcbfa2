"""The daily and monthly builders on small hand-made data, and the scale/stop rule."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from campaigns.models import Campaign
from events.models import AdSpend
from reports.metrics.ads import AdRow
from reports.snapshots import build
from reports.snapshots.ads_sections import campaign_signal
from tests.reports.metrics_data import at, event, save
from tests.reports.snapshot_data import SHANGHAI


def test_the_daily_health_check_flags_a_metric_far_from_its_7_day_average(db):
    day = date(2025, 11, 12)
    rows = [event("qr_scan", f"u{i}", at(str(day - timedelta(days=i)))) for i in range(1, 8)]  # 1 a day
    rows += [event("qr_scan", f"v{i}", at(str(day), "09:00")) for i in range(5)]  # 5 on the day
    save(*rows)

    snapshot = build.build_snapshot("daily", "2025-11-12")

    section = snapshot.section("health")
    health = {row[0]: row for row in section["rows"]}
    assert health["QR scans"][1:4] == ["5", "1", "400"] and health["QR scans"][4] == "▲ high · good news"
    assert health["Orders (pay_success)"][4] == ""
    # More scans is good news: shown in green (section["good"]), not as an alert.
    scans_row = [row[0] for row in section["rows"]].index("QR scans")
    assert scans_row in section["good"] and scans_row not in section["flagged"]
    assert snapshot.data["flags"] == []
    assert snapshot.data["good_news"] == ["Good news: QR scans is 400.0% above its 7-day average (5 vs 1)."]
    trend = snapshot.section("health_trend")
    assert len(trend["rows"]) == 8 and trend["rows"][-1][0] == "2025-11-12" and trend["chart"]["type"] == "line"


def test_a_drop_in_follows_is_an_alert_and_a_drop_in_unfollows_is_good_news(db):
    day = date(2025, 11, 12)
    rows = []
    for i in range(1, 8):  # 2 follows and 2 unfollows a day before; none on the day
        rows += [
            event(name, f"{name}{i}{n}", at(str(day - timedelta(days=i))))
            for name in ("follow", "unfollow")
            for n in range(2)
        ]
    save(*rows)

    snapshot = build.build_snapshot("daily", "2025-11-12")

    health = {row[0]: row for row in snapshot.section("health")["rows"]}
    # 0 against 14 / 7 = 2: −100 % for both; only the follows are bad news
    assert health["Follows"][3:5] == ["-100", "▼ low · bad news"]
    assert health["Unfollows"][3:5] == ["-100", "▼ low · good news"]
    assert snapshot.data["flags"] == ["Follows is 100.0% below its 7-day average (0 vs 2)."]
    assert snapshot.data["good_news"] == ["Good news: Unfollows is 100.0% below its 7-day average (0 vs 2)."]


def test_a_payment_retry_rate_from_four_checkouts_is_not_flagged(db, settings):
    settings.REPORTS_MIN_RATE_SAMPLE = 30
    # 1 retry in 4 checkouts = 25 %, past the 10 % line, but 4 < 30 checkouts
    rows = [event("start_checkout", f"c{n}", at("2025-11-12", "10:00")) for n in range(4)]
    rows.append(event("payment_retry", "c0", at("2025-11-12", "10:01")))
    save(*rows)

    snapshot = build.build_snapshot("daily", "2025-11-12")

    mp = snapshot.section("miniprogram")
    retry_row = [row[0] for row in mp["rows"]].index("payment_retry %")
    assert mp["rows"][retry_row][1] == "25"
    assert retry_row not in mp["flagged"]
    assert not any("payment_retry" in line for line in snapshot.data["flags"])


def test_a_quiet_normal_day_has_no_flags(db):
    snapshot = build.build_snapshot("daily", "2025-11-12")

    assert snapshot.data["flags"] == []
    assert snapshot.data["summary"][-1] == "Every health metric is within 30% of its 7-day average."
    # An empty day is said to be missing data, not shown as 0 orders.
    assert "No event was received for 2025-11-12: its numbers are missing, not zero." in snapshot.data["summary"]
    assert snapshot.data["headline"]["orders"] is None


def test_the_monthly_snapshot_gives_each_campaign_a_signal_with_its_reason(db):
    good = Campaign.objects.create(code="GOOD", name="good")
    bad = Campaign.objects.create(code="BAD", name="bad")
    AdSpend.objects.create(date=date(2025, 10, 3), campaign_code="GOOD", campaign=good, spend=Decimal("100.00"))
    AdSpend.objects.create(date=date(2025, 10, 3), campaign_code="BAD", campaign=bad, spend=Decimal("500.00"))
    rows = []
    for i in range(6):  # six buyers touched by GOOD pay 100 each: ROAS 6
        rows.append(event("qr_scan", f"g{i}", at("2025-10-04", "10:00"), campaign=good))
        rows.append(event("pay_success", f"g{i}", at("2025-10-04", "11:00"), value="100.00"))
    rows.append(event("qr_scan", "b0", at("2025-10-05", "10:00"), campaign=bad))
    rows.append(event("pay_success", "b0", at("2025-10-05", "11:00"), value="50.00"))  # ROAS 0.1
    save(*rows)

    snapshot = build.build_snapshot("monthly", "2025-10")

    signals = {row[0]: row for row in snapshot.section("signals")["rows"]}
    assert signals["GOOD"][1] == "scale" and "ROAS 6" in signals["GOOD"][2]
    assert signals["BAD"][1] == "stop" and "below 1.0" in signals["BAD"][2]
    assert (
        snapshot.data["headline"]["orders"] == 7 and snapshot.data["headline"]["revenue"] == "650.00"
    )  # headline keeps Decimal text
    assert any(line.startswith("Stop BAD") for line in snapshot.data["summary"])
    assert "Ad spend ¥600.00: 7 attributed orders, revenue ¥650.00, ROAS 1.08." in snapshot.data["summary"]
    cohort_total = snapshot.section("cohorts_week")["rows"][-1]
    assert cohort_total[:2] == ["All", 7] and snapshot.data["headline"]["new_people"] == 7
    assert {"kpis", "signals", "cohorts_ad_group", "cohorts_entry_point", "attribution", "ads", "fatigue"} <= {
        s["key"] for s in snapshot.sections
    }


@pytest.mark.parametrize(
    ("row", "signal", "words"),
    [
        (AdRow(None, "x"), "watch", "No ad spend"),
        (AdRow(None, "x", spend=Decimal("10"), orders=0), "stop", "without one attributed order"),
        (AdRow(None, "x", spend=Decimal("10"), orders=2, revenue=Decimal("5"), roas=Decimal("0.50")), "stop", "below"),
        (
            AdRow(
                None,
                "x",
                spend=Decimal("900"),
                orders=3,
                revenue=Decimal("1800"),
                roas=Decimal("2.00"),
                cost_per_order=Decimal("300.00"),
            ),
            "fix",
            "above the ¥150.00 target",
        ),
        (
            AdRow(None, "x", spend=Decimal("90"), orders=9, revenue=Decimal("360"), roas=Decimal("4.00")),
            "scale",
            "add budget",
        ),
        (
            AdRow(None, "x", spend=Decimal("90"), orders=2, revenue=Decimal("360"), roas=Decimal("4.00")),
            "keep",
            "within bounds",
        ),
        # ROAS 0.996 shows as 1.00 but is below 1: the rule uses revenue and spend, not the rounded ROAS
        (
            AdRow(None, "x", spend=Decimal("250"), orders=2, revenue=Decimal("249"), roas=Decimal("1.00")),
            "stop",
            "below",
        ),
    ],
)
def test_the_scale_or_stop_rule(row, signal, words):
    got, reason = campaign_signal(row)

    assert got == signal and words in reason


def test_periods_use_shanghai_days(db):
    # 23:30 UTC on 11 Nov is 07:30 on 12 Nov in Shanghai: counted on the 12th.
    save(event("qr_scan", "late-night-utc", at("2025-11-12", "07:30")))

    snapshot = build.build_snapshot("daily", "2025-11-12")

    assert snapshot.data["headline"]["qr_scans"] == "1"
    assert snapshot.period_start.astimezone(SHANGHAI).hour == 0


def test_a_month_without_imported_spend_says_its_roas_is_unknown_rather_than_showing_a_fatigue_note(db):
    camp = Campaign.objects.create(code="C1", name="one")
    # Impressions and clicks were imported without spend: the creative is over its frequency cap.
    for day, clicks in ((20, 300), (21, 300), (27, 100), (28, 100)):
        AdSpend.objects.create(
            date=date(2025, 10, day),
            campaign_code="C1",
            campaign=camp,
            creative_name="K",
            spend=0,
            impressions=10000,
            clicks=clicks,
            reach=5000,
        )
    save(event("qr_scan", "u1", at("2025-10-04", "10:00"), campaign=camp))

    summary = build.build_snapshot("monthly", "2025-10").data["summary"]

    assert "No ad spend imported for this period: ROAS and cost per order are unknown, not 0." in summary
    assert not any(line.startswith("Creative K") for line in summary)
