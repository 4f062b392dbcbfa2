from datetime import date
from decimal import Decimal

import pytest

from events.models import AdSpend
from reports.metrics.health import health_check
from tests.reports.metrics_data import at, event, save

DAY = date(2025, 11, 12)  # trailing week: 11-05 … 11-11


@pytest.fixture
def week_of_business(db):
    for day in range(5, 13):
        AdSpend.objects.create(
            date=date(2025, 11, day),
            campaign_code="C1",
            ad_group="G",
            creative_name=f"K{day}",
            spend=Decimal("140" if day == 12 else "100"),
            impressions=1000,
            clicks=25 if day == 12 else 20,
        )
    rows = []
    for day in range(5, 12):
        rows += [event("pay_success", f"o{day}{n}", at(f"2025-11-{day:02d}"), value="50") for n in range(2)]
        rows += [event("qr_scan", f"s{day}{n}", at(f"2025-11-{day:02d}")) for n in range(2)]
    rows += [event("follow", f"f6{n}", at("2025-11-06")) for n in range(3)]
    rows += [event("follow", f"f8{n}", at("2025-11-08")) for n in range(4)]
    rows += [
        event("pay_success", "o12", at("2025-11-12"), value="150"),
        event("follow", "f12", at("2025-11-12")),
        event("unfollow", "u1", at("2025-11-12")),
        event("unfollow", "u2", at("2025-11-12")),
        event("qr_scan", "s121", at("2025-11-12", "08:00")),
        event("qr_scan", "s122", at("2025-11-12", "12:00")),
        event("qr_scan", "s123", at("2025-11-12", "23:59")),
        event("qr_scan", "s13", at("2025-11-13", "00:00")),  # the next day
        event("pay_success", "o4", at("2025-11-04"), value="999"),  # before the trailing week
    ]
    save(*rows)


def test_each_metric_against_its_trailing_week_with_flags(week_of_business, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        check = health_check(DAY)

    m = {metric.key: metric for metric in check.metrics}
    # spend 140 against 700 / 7 = 100: +40 % → flagged
    assert (m["spend"].value, m["spend"].trailing_average, m["spend"].change) == (
        Decimal("140.00"),
        Decimal("100.00"),
        Decimal("0.4000"),
    )
    assert m["spend"].flagged
    # CTR 25 / 1000 against 140 / 7000 = 0.02: +25 % → not flagged
    assert (m["ctr"].value, m["ctr"].trailing_average, m["ctr"].flagged) == (
        Decimal("0.0250"),
        Decimal("0.0200"),
        False,
    )
    # 1 order against 14 / 7 = 2: −50 %; value 150 against 700 / 7 = 100: +50 %
    assert (m["orders"].value, m["orders"].trailing_average, m["orders"].change) == (
        Decimal(1),
        Decimal("2.00"),
        Decimal("-0.5000"),
    )
    assert m["orders"].flagged and m["revenue"].flagged
    assert m["revenue"].value == Decimal("150.00")
    # 1 follow against 7 / 7 = 1: no change
    assert (m["follows"].change, m["follows"].flagged) == (Decimal("0.0000"), False)
    # 2 unfollows against none: change undefined, not flagged
    assert (m["unfollows"].value, m["unfollows"].change, m["unfollows"].flagged) == (Decimal(2), None, False)
    # 3 scans (23:59 counts, 00:00 next day does not) against 14 / 7 = 2: +50 %
    assert (m["qr_scans"].value, m["qr_scans"].flagged) == (Decimal(3), True)
    assert [f.key for f in check.flagged] == ["spend", "orders", "revenue", "qr_scans"]
    assert m["spend"].series[0] == Decimal("100.00") and len(m["spend"].series) == 8


def test_a_higher_threshold_flags_less(week_of_business):
    check = health_check(DAY, threshold=Decimal("0.45"))

    assert [f.key for f in check.flagged] == ["orders", "revenue", "qr_scans"]


@pytest.fixture
def unfollow_week(db):
    """20 unfollows over 11-05 … 11-11 (3 a day, 2 on 11-11) and 2 follows a day."""
    rows = []
    for day in range(5, 12):
        rows += [event("unfollow", f"u{day}{n}", at(f"2025-11-{day:02d}")) for n in range(2 if day == 11 else 3)]
        rows += [event("follow", f"f{day}{n}", at(f"2025-11-{day:02d}")) for n in range(2)]
    save(*rows)


def test_a_change_of_exactly_the_threshold_is_not_flagged_because_it_is_computed_exactly(unfollow_week):
    save(*[event("unfollow", f"x{n}", at("2025-11-12")) for n in range(2)])

    unfollows = {m.key: m for m in health_check(DAY).metrics}["unfollows"]

    # 2 against 20 / 7: 2 / (20/7) − 1 = 14/20 − 1 = −0.3 exactly, and the rule is
    # |change| > 30 %. From the average rounded to cents (2.86) it was 2 / 2.86 − 1 = −30.07 % → flagged.
    assert unfollows.change == Decimal("-0.3000")
    assert unfollows.trailing_average == Decimal("2.9")  # 20 / 7 = 2.857…, rounded for display only
    assert unfollows.flagged is False


def test_fewer_unfollows_is_good_news_and_fewer_follows_is_bad_news(unfollow_week):
    save(event("unfollow", "x1", at("2025-11-12")), event("follow", "y1", at("2025-11-12")))

    check = health_check(DAY)
    m = {metric.key: metric for metric in check.metrics}

    # unfollows: 1 against 20 / 7: 7/20 − 1 = −65 % → past the threshold, and down is good
    assert (m["unfollows"].change, m["unfollows"].flagged, m["unfollows"].news) == (Decimal("-0.6500"), True, "good")
    # follows: 1 against 14 / 7 = 2: −50 %, and down is bad
    assert (m["follows"].change, m["follows"].flagged, m["follows"].news) == (Decimal("-0.5000"), True, "bad")
    assert [a.key for a in check.alerts] == ["follows"]  # the good news is not an alert


def test_a_ctr_from_a_handful_of_impressions_is_not_flagged(db, settings):
    settings.REPORTS_MIN_RATE_SAMPLE = 30
    for day in range(5, 12):  # 20 clicks in 1000 impressions a day: CTR 2 %
        AdSpend.objects.create(
            date=date(2025, 11, day), campaign_code="C1", creative_name="K", spend=10, impressions=1000, clicks=20
        )
    # the day: 1 click in 4 impressions = 25 %, +1150 % on 2 % — from 4 impressions
    AdSpend.objects.create(date=DAY, campaign_code="C1", creative_name="K", spend=10, impressions=4, clicks=1)

    ctr = {m.key: m for m in health_check(DAY).metrics}["ctr"]

    assert (ctr.value, ctr.change) == (Decimal("0.2500"), Decimal("11.5000"))  # 0.25 / 0.02 − 1
    assert (ctr.flagged, ctr.sample_too_small) == (False, True)

    settings.REPORTS_MIN_RATE_SAMPLE = 4  # 4 impressions are now enough
    ctr = {m.key: m for m in health_check(DAY).metrics}["ctr"]
    assert (ctr.flagged, ctr.news) == (True, "good")
