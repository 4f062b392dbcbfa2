"""The one friction point of the week: the funnel step to fix first.

Rule: a step whose step-to-step rate fell by at least DECLINE_POINTS percentage points
since last week is the friction point (the largest fall wins), because something changed;
otherwise it is the step with the worst step-to-step rate (the biggest leak). Declines
measured on fewer than MIN_PEOPLE_FOR_DECLINE people are ignored as noise. The sentence
says where people leave and what to look at first.
"""

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from reports.metrics.common import (
    ARTICLE_OPEN,
    FOLLOW,
    LEAD_FORM_SUBMIT,
    PAGE_VIEW,
    PAY_SUCCESS,
    REPEAT_PURCHASE,
    START_CHECKOUT,
)
from reports.metrics.funnel import Funnel

DECLINE_POINTS = Decimal("5.0")
# A decline measured on fewer people than this at the step before is noise, not news.
MIN_PEOPLE_FOR_DECLINE = 10

# What to look at first when people stop before this step (seed §2–§5 vocabulary).
ADVICE = {
    FOLLOW: gettext_noop("make the follow prompt after the QR scan clearer and say what followers get"),
    ARTICLE_OPEN: gettext_noop("test the article title and cover image, and the time it is pushed"),
    PAGE_VIEW: gettext_noop("check that the QR code or link lands on a page that loads fast and matches the promise"),
    "view_product": gettext_noop("put the products the campaign promised on the landing page"),
    "add_to_cart": gettext_noop("check the product page: price, photos and an add-to-cart button above the fold"),
    START_CHECKOUT: gettext_noop("shorten the way from cart to checkout and check coupon selection"),
    "select_coupon": gettext_noop("make coupons easy to find and apply at checkout"),
    PAY_SUCCESS: gettext_noop("check the pay page: api_error and payment_retry rates, load time, and the amount shown"),
    LEAD_FORM_SUBMIT: gettext_noop("shorten the form and explain why each field is asked"),
    REPEAT_PURCHASE: gettext_noop("follow up buyers with a reason to come back (service message, coupon, new content)"),
}


@dataclass(frozen=True)
class FrictionPoint:
    step: str  # "add_to_cart → start_checkout"
    from_event: str
    to_event: str
    rate_pct: Decimal | None  # step-to-step rate this week, %
    previous_rate_pct: Decimal | None
    change_points: Decimal | None  # this week − last week, percentage points
    people_lost: int
    reason: str  # "decline" or "worst drop"
    sentence: str

    def as_dict(self) -> dict:
        return asdict(self)


def _pct(rate) -> Decimal | None:
    return None if rate is None else (Decimal(str(rate)) * 100).quantize(Decimal("0.1"))


def friction_point(current: Funnel, previous: Funnel | None) -> FrictionPoint | None:
    steps = current.steps
    if len(steps) < 2 or not current.entered:
        return None
    before = {s.position: s for s in (previous.steps if previous else [])}
    candidates = []
    for step in steps[1:]:
        rate = _pct(step.rate_from_previous)
        if rate is None:
            continue
        prev_step = before.get(step.position)
        prev_rate = (
            _pct(prev_step.rate_from_previous) if prev_step and prev_step.event_name == step.event_name else None
        )
        change = None if prev_rate is None else rate - prev_rate
        candidates.append((step, rate, prev_rate, change))
    if not candidates:
        return None
    people_before = {s.position: s.people for s in steps}
    declines = [
        c
        for c in candidates
        if c[3] is not None and -c[3] >= DECLINE_POINTS and people_before[c[0].position - 1] >= MIN_PEOPLE_FOR_DECLINE
    ]
    if declines:
        step, rate, prev_rate, change = min(declines, key=lambda c: c[3])
        reason = "decline"
    else:
        step, rate, prev_rate, change = min(candidates, key=lambda c: (c[1], -c[0].drop_off))
        reason = "worst drop"
    from_event = steps[step.position - 2].event_name
    advice = ADVICE.get(step.event_name) or _(
        "look at where people leave between %(from_event)s and %(to_event)s: load time, errors and the call to action"
    ) % {"from_event": from_event, "to_event": step.event_name}
    if reason == "decline":
        sentence = _(
            "%(from_event)s → %(to_event)s fell from %(previous)s%% to %(rate)s%% (%(change)s points) since last week; "
            "%(lost)s people stopped there. Fix first: %(advice)s."
        ) % {
            "from_event": from_event,
            "to_event": step.event_name,
            "previous": prev_rate,
            "rate": rate,
            "change": change,
            "lost": step.drop_off,
            "advice": advice,
        }
    else:
        sentence = _(
            "The biggest leak is %(from_event)s → %(to_event)s: only %(rate)s%% go on (%(lost)s people lost). "
            "Fix first: %(advice)s."
        ) % {
            "from_event": from_event,
            "to_event": step.event_name,
            "rate": rate,
            "lost": step.drop_off,
            "advice": advice,
        }
    return FrictionPoint(
        step=f"{from_event} → {step.event_name}",
        from_event=from_event,
        to_event=step.event_name,
        rate_pct=rate,
        previous_rate_pct=prev_rate,
        change_points=change,
        people_lost=step.drop_off,
        reason=reason,
        sentence=sentence,
    )
