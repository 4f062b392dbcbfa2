"""The Mini Program section shared by the daily and weekly snapshots: key actions,
operational events and performance (page load p50/p95, api_error and payment_retry rates)."""

from django.conf import settings

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
        "Mini Program",
        ["Metric", "Value", "Detail"],
        note="Key actions, operational events and performance signals. Rates are flagged only from "
        f"{settings.REPORTS_MIN_RATE_SAMPLE} page views or checkouts up.",
    )
    flags = []
    for action in metrics.key_actions:
        section.add(action.event_name, action.events, f"{action.people} people")
    for item in metrics.operational:
        section.add(item.event_name, item.events, f"{item.people} people")
    slow = perf.page_load_p95_ms is not None and perf.page_load_p95_ms > SLOW_P95_MS
    section.add("page_load_time p50 (ms)", perf.page_load_p50_ms, f"{perf.page_load_samples} samples")
    section.add("page_load_time p95 (ms)", perf.page_load_p95_ms, f"flag above {SLOW_P95_MS} ms", flag=slow)
    # A rate from a handful of page views or checkouts is noise: not flagged below the minimum.
    minimum = settings.REPORTS_MIN_RATE_SAMPLE
    errors = perf.api_error_rate is not None and perf.api_error_rate > ERROR_RATE and perf.page_views >= minimum
    section.add(
        "api_error %", pct(perf.api_error_rate), f"{perf.api_errors} of {perf.page_views} page views", flag=errors
    )
    retries = perf.payment_retry_rate is not None and perf.payment_retry_rate > RETRY_RATE and perf.checkouts >= minimum
    section.add(
        "payment_retry %",
        pct(perf.payment_retry_rate),
        f"{perf.payment_retries} of {perf.checkouts} checkouts",
        flag=retries,
    )
    if slow:
        flags.append(f"Pages load slowly: p95 {perf.page_load_p95_ms} ms (over {SLOW_P95_MS} ms).")
    if errors:
        flags.append(f"api_error rate {pct(perf.api_error_rate)}% of page views (over {pct(ERROR_RATE)}%).")
    if retries:
        flags.append(f"payment_retry rate {pct(perf.payment_retry_rate)}% of checkouts (over {pct(RETRY_RATE)}%).")
    return section, flags, metrics
