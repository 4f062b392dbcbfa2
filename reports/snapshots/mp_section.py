"""The Mini Program section shared by the daily and weekly snapshots: key actions,
operational events and performance (page load p50/p95, api_error and payment_retry rates)."""

from django.conf import settings
from django.utils.translation import gettext as _

from reports.metrics.miniprogram import MiniProgramMetrics, miniprogram_metrics
from reports.periods import Period
from reports.snapshots.sections import Section, pct

# Past these the row is flagged (seed §4: performance signals that cost conversions).
SLOW_P95_MS = 3000
ERROR_RATE = 0.02
RETRY_RATE = 0.10


def miniprogram_section(period: Period) -> tuple[Section, list[str], MiniProgramMetrics]:
    metrics = miniprogram_metrics(period)
    perf = metrics.performance
    section = Section(
        "miniprogram",
        _("Mini Program"),
        [_("Metric"), _("Value"), _("Detail")],
        note=_(
            "Key actions, operational events and performance signals. Rates are flagged only from %(reports_min_rate_sample)s page views or checkouts up."
        )
        % {"reports_min_rate_sample": settings.REPORTS_MIN_RATE_SAMPLE},
    )
    flags = []
    for action in metrics.key_actions:
        section.add(action.event_name, action.events, _("%(people)s people") % {"people": action.people})
    for item in metrics.operational:
        section.add(item.event_name, item.events, _("%(people)s people") % {"people": item.people})
    slow = perf.page_load_p95_ms is not None and perf.page_load_p95_ms > SLOW_P95_MS
    section.add(
        _("page_load_time p50 (ms)"),
        perf.page_load_p50_ms,
        _("%(samples)s samples") % {"samples": perf.page_load_samples},
    )
    section.add(
        _("page_load_time p95 (ms)"),
        perf.page_load_p95_ms,
        _("flag above %(slow_p95_ms)s ms") % {"slow_p95_ms": SLOW_P95_MS},
        flag=slow,
    )
    # A rate from a handful of page views or checkouts is noise: not flagged below the minimum.
    minimum = settings.REPORTS_MIN_RATE_SAMPLE
    errors = perf.api_error_rate is not None and perf.api_error_rate > ERROR_RATE and perf.page_views >= minimum
    section.add(
        _("api_error %"),
        pct(perf.api_error_rate),
        _("%(api_errors)s of %(page_views)s page views")
        % {"api_errors": perf.api_errors, "page_views": perf.page_views},
        flag=errors,
    )
    retries = perf.payment_retry_rate is not None and perf.payment_retry_rate > RETRY_RATE and perf.checkouts >= minimum
    section.add(
        _("payment_retry %"),
        pct(perf.payment_retry_rate),
        _("%(payment_retries)s of %(checkouts)s checkouts")
        % {"payment_retries": perf.payment_retries, "checkouts": perf.checkouts},
        flag=retries,
    )
    if slow:
        flags.append(
            _("Pages load slowly: p95 %(page_load_p95_ms)s ms (over %(slow_p95_ms)s ms).")
            % {"page_load_p95_ms": perf.page_load_p95_ms, "slow_p95_ms": SLOW_P95_MS}
        )
    if errors:
        flags.append(
            _("api_error rate %(api_error_rate)s%% of page views (over %(error_rate)s%%).")
            % {"api_error_rate": pct(perf.api_error_rate), "error_rate": pct(ERROR_RATE)}
        )
    if retries:
        flags.append(
            _("payment_retry rate %(payment_retry_rate)s%% of checkouts (over %(retry_rate)s%%).")
            % {"payment_retry_rate": pct(perf.payment_retry_rate), "retry_rate": pct(RETRY_RATE)}
        )
    return section, flags, metrics
