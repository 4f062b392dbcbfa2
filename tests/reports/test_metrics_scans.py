"""Mini Program launches from a placement's code are scans of that placement, once per scan,
wherever scans count: the health check, the default funnel's first step, attribution."""

from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import Campaign, Placement
from reports.metrics.attribution import attribution
from reports.metrics.common import Filters
from reports.metrics.funnel import funnel
from reports.metrics.health import health_check
from reports.metrics.scans import scans_sql
from reports.periods import Period
from tests.reports.metrics_data import at, event, fetch_scans, same_person, save

DAY = Period.day(date(2025, 11, 12))


@pytest.fixture
def scans(db):
    c = Campaign.objects.create(code="C1", name="one")
    poster = Placement.objects.create(campaign=c, name="poster", scene="s1")
    box = Placement.objects.create(campaign=c, name="box", scene="s2")
    same_person("PA", "oa-a", "mp-a")

    def launch(name, user, ts, placement, scene=1047):
        return event(name, user, ts, placement=placement, campaign=c, app_id="wxmp", properties={"wechat_scene": scene})

    save(
        # A: a short-link qr_scan of the poster (web visitor id joined to A), then the Mini
        # Program opens from the same code 40 s later (app_launch + app_show together): 1 scan.
        event("qr_scan", "oa-a", at("2025-11-12", "09:00"), placement=poster, properties={"via": "short_link"}),
        launch("app_launch", "mp-a", at("2025-11-12", "09:00:40"), poster),
        launch("app_show", "mp-a", at("2025-11-12", "09:00:40"), poster),
        # … back from the background 20 min later (WeChat keeps scene 1047): still the same scan;
        launch("app_show", "mp-a", at("2025-11-12", "09:20:40"), poster),
        # … then scans the box's Mini Program code by long-press (1048): a scan of the box;
        launch("app_launch", "mp-a", at("2025-11-12", "09:25"), box, scene=1048),
        # … and opens the poster's code again at 11:00, 99 min after the last poster launch: a second scan.
        launch("app_launch", "mp-a", at("2025-11-12", "11:00"), poster),
        # B: opens the Mini Program from a shared card (1007) carrying the poster: not a scan;
        # from the home screen (1001) without a placement: not a scan.
        launch("app_launch", "b", at("2025-11-12", "10:00"), poster, scene=1007),
        event("app_launch", "b", at("2025-11-12", "10:05"), app_id="wxmp", properties={"wechat_scene": 1047}),
        # C: scans an Official Account code without a placement twice in a minute: two scans
        # (a code we did not issue is never merged).
        event("qr_scan", "c", at("2025-11-12", "12:00")),
        event("qr_scan", "c", at("2025-11-12", "12:01")),
        # D: launched from the box's code at 23:50 the day before and again at 00:10 (20 min
        # later): the run began the day before, so no scan on the 12th.
        launch("app_launch", "d", at("2025-11-11", "23:50"), box),
        launch("app_show", "d", at("2025-11-12", "00:10"), box),
        # E: a barcode scan (1025 as text) of the poster at 23:59:59: one scan on the 12th.
        launch("app_launch", "e", at("2025-11-12", "23:59:59"), poster, scene="1025"),
        # A pays 30 min after scanning the box.
        event("pay_success", "mp-a", at("2025-11-12", "09:55"), value="80", app_id="wxmp"),
    )
    return poster, box


def test_launches_from_codes_are_scans_counted_once_per_person_placement_and_half_hour(scans):
    poster, box = scans

    rows = fetch_scans(scans_sql(DAY))

    # A: poster 09:00 (the short-link hit is the run's first event) + box 09:25 + poster 11:00;
    # C: 12:00 and 12:01; E: 23:59:59. B's shared card and placement-less launch, and D's run
    # that began on the 11th, are not scans of the 12th.
    assert sorted((p, pl or 0, via, ts.timestamp()) for p, pl, via, ts in rows) == sorted(
        [
            ("PA", poster.pk, "short_link", at("2025-11-12", "09:00").timestamp()),
            ("PA", box.pk, "mp_code", at("2025-11-12", "09:25").timestamp()),
            ("PA", poster.pk, "mp_code", at("2025-11-12", "11:00").timestamp()),
            ("c", 0, "oa_code", at("2025-11-12", "12:00").timestamp()),
            ("c", 0, "oa_code", at("2025-11-12", "12:01").timestamp()),
            ("e", poster.pk, "mp_code", at("2025-11-12", "23:59:59").timestamp()),
        ]
    )


def test_the_health_check_counts_code_launches_as_qr_scans(scans, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        check = health_check(date(2025, 11, 12))

    # 6 scans on the 12th (see above); D's 23:50 launch on the 11th is the only scan before.
    scans_metric = next(m for m in check.metrics if m.key == "qr_scans")
    assert scans_metric.value == Decimal(6)
    assert scans_metric.series[-2] == Decimal(1)


def test_the_health_check_filters_scans_by_placement(scans):
    poster, _ = scans

    check = health_check(date(2025, 11, 12), Filters(placement_id=poster.pk))

    # A's two poster scans and E's.
    assert next(m for m in check.metrics if m.key == "qr_scans").value == Decimal(3)


def test_the_funnel_enters_people_through_code_launches_and_counts_each_scan_once(scans):
    result = funnel(DAY, steps=["qr_scan", "pay_success"])

    # Entrants: A (PA), C, E — 3 people with 6 scans; A paid at 09:55, after entering at 09:00.
    assert (result.entered, result.steps[0].events) == (3, 6)
    assert (result.steps[1].people, result.steps[1].events) == (1, 1)


def test_attribution_touches_include_code_launches(scans):
    _, box = scans

    result = attribution(DAY)

    # A's last touch before paying at 09:55 is the box's Mini Program code (09:25).
    last = result.touches["last"]["placement"]
    assert [(r.key, r.converters, r.revenue) for r in last] == [(str(box.pk), 1, Decimal("80.00"))]
