"""The daily snapshot: yesterday's health check — spend, CTR, orders, payment value,
follows, unfollows and QR scans against their trailing 7-day average, flagged past the
threshold — plus the Mini Program signals and KPIs."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.metrics.health import HealthCheck, HealthMetric, health_check
from reports.periods import SNAPSHOT_KIND, Period
from reports.snapshots.headline_section import headline_section
from reports.snapshots.kpi_section import kpi_section
from reports.snapshots.mp_section import miniprogram_section
from reports.snapshots.sections import Section, cell, pct

THRESHOLD = Decimal("0.30")
NEWS = {"good": gettext_lazy("good news"), "bad": gettext_lazy("bad news"), "check": gettext_lazy("check")}
RATE_KEYS = {"ctr"}  # shown as percentages
TREND_KEYS = ("orders", "follows", "qr_scans")


def build_data(period: Period) -> dict:
    """Each part's numbers first, then the page: its sections and summary lines in the order
    they are read."""
    numbers, number_lines, numbers_values = headline_section(period)
    health = health_check(period.first_day, threshold=THRESHOLD)
    mp, mp_flags, _mp_values = miniprogram_section(period)
    kpis, behind = kpi_section(period)

    sections = [numbers, _health_section(health), _trend_section(health), mp, kpis]
    flags = [*(_flag_sentence(m) for m in health.alerts), *mp_flags]
    good_news = [_flag_sentence(m) for m in health.flagged if m.news == "good"]

    values = {m.key: m.value for m in health.metrics}
    return {
        "kind": SNAPSHOT_KIND[period.kind],
        "label": period.label,
        "title": _("Daily health check %(first_day)s") % {"first_day": format(period.first_day, "%a %d %b %Y")},
        "summary": number_lines
        + (flags + good_news + behind or [_("Every health metric is within 30% of its 7-day average.")]),
        "flags": flags,  # moves that need attention
        "good_news": good_news,  # moves past the threshold in the good direction
        "headline": {**values, **numbers_values},
        "sections": [s.as_dict() for s in sections],
    }


def _shown(metric: HealthMetric, value):
    return pct(value) if metric.key in RATE_KEYS else value


def _health_section(health: HealthCheck) -> Section:
    section = Section(
        "health",
        _("Health check vs the trailing 7 days"),
        [_("Metric"), _("Yesterday"), _("7-day average"), _("Change %"), _("Flag")],
        note=_(
            "Flagged when the day is more than %(threshold)s%% above or below its 7-day average (good news in green, bad news in orange). CTR in %%; it is not flagged below %(reports_min_rate_sample)s impressions."
        )
        % {"threshold": pct(health.threshold), "reports_min_rate_sample": settings.REPORTS_MIN_RATE_SAMPLE},
    )
    for metric in health.metrics:
        section.add(
            metric.label,
            _shown(metric, metric.value),
            _shown(metric, metric.trailing_average),
            pct(metric.change),
            _flag_text(metric),
            flag=metric.flagged and metric.news != "good",
            good=metric.news == "good",
        )
    return section


def _flag_text(metric: HealthMetric) -> str:
    if metric.sample_too_small and metric.change is not None and abs(metric.change) > THRESHOLD:
        return _("sample too small")
    if not metric.flagged:
        return ""
    arrow = _("▲ high") if metric.change > 0 else _("▼ low")
    return f"{arrow} · {NEWS[metric.news]}"


def _trend_section(health: HealthCheck) -> Section:
    by_key = {m.key: m for m in health.metrics}
    shown = [by_key[k] for k in TREND_KEYS if k in by_key]
    section = Section(
        "health_trend",
        _("The last 8 days"),
        [_("Day"), *[m.label for m in shown]],
        chart={"type": "line", "x": 0, "y": list(range(1, len(shown) + 1))},
    )
    days = len(shown[0].series) if shown else 0
    for i in range(days):
        day = health.day - timedelta(days=days - 1 - i)
        section.add(day.isoformat(), *[m.series[i] for m in shown])
    return section


def _flag_sentence(metric: HealthMetric) -> str:
    values = {
        "label": metric.label,
        "change": abs(pct(metric.change)),
        "value": cell(_shown(metric, metric.value)),
        "average": cell(_shown(metric, metric.trailing_average)),
    }
    # One whole sentence per case: a translation may need to reorder every part of it.
    above = (metric.change or 0) > 0
    if metric.news == "good":
        if above:
            return (
                _("Good news: %(label)s is %(change)s%% above its 7-day average (%(value)s vs %(average)s).") % values
            )
        return _("Good news: %(label)s is %(change)s%% below its 7-day average (%(value)s vs %(average)s).") % values
    if above:
        return _("%(label)s is %(change)s%% above its 7-day average (%(value)s vs %(average)s).") % values
    return _("%(label)s is %(change)s%% below its 7-day average (%(value)s vs %(average)s).") % values
