"""Demo review entries: three review owners and their last few weeks, so /review/ has
entries, a visible gap and last week's changes to look at. Deterministic for a given date
and idempotent (existing entries are left as they are)."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from campaigns.models import KPI

from .models import ReviewEntry
from .policy import REVIEW_OWNER_GROUP
from .services import link_week_snapshots, save_review_entry
from .weeks import this_week

OWNERS = [
    # (username, given name, family name): shown family name first, 林伟 (wxanalytics.people).
    ("lin.wei", "伟", "林"),
    ("zhang.min", "敏", "张"),
    ("chen.jie", "杰", "陈"),
]

# (insight, change, outcome note once the week is over), one list per owner, cycled by week.
ENTRIES = {
    "lin.wei": [
        (
            "Poster scans at the Jing'an store doubled after we moved the QR code to eye level.",
            "Move the QR code to eye level on the other three store posters.",
            "Scans up at two of three stores; the third poster is behind the queue barrier.",
        ),
        (
            "Article footers bring 4x more follows than the menu, but few of them reach the Mini Program.",
            "Add a Mini Program card right under the footer QR code in Tuesday's article.",
            "Follow → Mini Program visits went from 9 % to 14 % for that article.",
        ),
    ],
    "zhang.min": [
        (
            "Checkout starts are flat but pay_success fell: payment_retry spiked on Android.",
            "Ask the Mini Program team to ship the payment SDK update before the weekend sale.",
            "Shipped Thursday; retries back to normal, pay_success recovered by Saturday.",
        ),
        (
            "Coupon selection is the step with the worst drop in the funnel this week.",
            "Pre-select the best coupon for the cart instead of making people choose.",
            "Dropped: legal asked for an explicit choice; we shortened the list instead.",
        ),
    ],
    "chen.jie": [
        (
            "The KOL post's CPC rose 40 % over the week while its CTR fell: creative fatigue.",
            "Rotate in the new short-video creative for the KOL placement.",
            "CPC back to the first week's level after two days with the new creative.",
        ),
        (
            "Moments ads bring cheap clicks but the landing H5 loses most people before the form.",
            "Send Moments traffic to the Mini Program lead form instead of the H5 page.",
            "",
        ),
    ],
}


def seed_reviews(*, weeks: int = 4, now: datetime | None = None) -> int:
    """Entries for the last `weeks` closed weeks and this week (where the last owner has
    not logged yet, to show the gap). Returns how many entries were created."""
    current = this_week(now)
    group = Group.objects.get(name=REVIEW_OWNER_GROUP)
    kpis = list(KPI.objects.filter(is_active=True).order_by("name", "pk"))
    created = 0
    for index, (username, first, last) in enumerate(OWNERS):
        owner, made = get_user_model().objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com", "is_staff": True},
        )
        if made:  # demo people log in only through a real account's password reset
            owner.set_unusable_password()
            owner.save(update_fields=["password"])
        owner.groups.add(group)
        for back in range(weeks, -1, -1):
            week = current.previous(back)
            if back == 0 and index == len(OWNERS) - 1:
                continue
            if ReviewEntry.objects.filter(owner=owner, week=str(week)).exists():
                continue
            texts = ENTRIES[username]
            insight, change, outcome = texts[(week.first_day.isocalendar().week + index) % len(texts)]
            save_review_entry(
                ReviewEntry(
                    owner=owner,
                    week=str(week),
                    insight=insight,
                    change=change,
                    kpi=kpis[(week.first_day.isocalendar().week + index) % len(kpis)] if kpis else None,
                    change_status=_status(back, outcome),
                    outcome_note=outcome if back >= 1 else "",
                )
            )
            created += 1
    link_week_snapshots()
    return created


def _status(weeks_ago: int, outcome: str) -> str:
    if weeks_ago == 0:
        return ReviewEntry.ChangeStatus.PLANNED
    if outcome.startswith("Dropped"):
        return ReviewEntry.ChangeStatus.DROPPED
    return ReviewEntry.ChangeStatus.DONE if outcome else ReviewEntry.ChangeStatus.PLANNED
