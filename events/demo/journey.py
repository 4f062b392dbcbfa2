"""One person's journey through Official Account and Mini Program, as event rows.

Person i's journey depends only on (seed, days, i): their own random generator is seeded
with those, so the same person always does the same things at the same times.
"""

import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from campaigns.models import Campaign, Placement
from events.ingest.validate import MEASUREMENT_EVENTS

OA_APPID = "wxdemo00000000oa"  # campaigns.demo's demo apps
MP_APPID = "wxdemo00000000mp"

# How much more (or less) likely than average people from a campaign take each step.
CAMPAIGN_QUALITY = {"D11-Encore": 1.35, "W-Stores": 1.1, "OA-Series": 0.95, "KOL-Launch": 0.45}
CAMPAIGN_TRAFFIC = {"D11-Encore": 35, "W-Stores": 25, "OA-Series": 15, "KOL-Launch": 20}
ORGANIC_TRAFFIC = 20
UNIONID_SHARE = 0.7
# WeChat traffic peaks at lunch and in the evening (hours in the reporting time zone).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 9, 7, 6, 6, 6, 7, 9, 11, 11, 8, 4]
PRODUCTS = [
    ("sku-101", "Cashmere scarf", Decimal("199.00")),
    ("sku-102", "Wool beanie", Decimal("89.00")),
    ("sku-103", "Down jacket", Decimal("899.00")),
    ("sku-104", "Thermal gloves", Decimal("129.00")),
    ("sku-105", "Winter boots", Decimal("599.00")),
]
PAGES = {
    "home": ("pages/index/index", 650),
    "category": ("pages/category/index", 720),
    "PDP": ("pages/product/detail", 900),
    "cart": ("pages/cart/index", 700),
    "checkout": ("pages/checkout/index", 1150),
    "order": ("pages/order/detail", 600),
}
ARTICLE_TITLES = [
    "How to care for cashmere",
    "Five ways to wear a scarf",
    "Winter boots: a buyer's guide",
    "Behind the seams: our down jackets",
    "Gift ideas under ¥200",
    "Layering for a Beijing winter",
]


@dataclass(frozen=True)
class Entry:
    """Where a person first meets us: a placement of a campaign, or organic discovery."""

    campaign: str = ""
    source: str = "search"
    scene: str = ""
    kind: str = ""
    quality: float = 1.0
    starts_on: date | None = None
    ends_on: date | None = None
    weight: float = ORGANIC_TRAFFIC
    creatives: tuple[tuple[str, str, str], ...] = ()  # (ad group, creative ref, lander type)
    qr_kind: str = ""

    def active(self, day: date) -> bool:
        return (self.starts_on is None or self.starts_on <= day) and (self.ends_on is None or day <= self.ends_on)


@dataclass
class Stats:
    """Per-day counters for the imported statistics (bounded by days × pages/articles)."""

    follows: Counter = field(default_factory=Counter)  # (day, user_source) → follows
    unfollows: Counter = field(default_factory=Counter)  # day → unfollows
    article: dict = field(default_factory=lambda: defaultdict(Counter))  # (day, msgid) → counts
    pages: dict = field(default_factory=lambda: defaultdict(Counter))  # (day, path) → counts


def _hex(*parts: Any, length: int = 24) -> str:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).hexdigest()[:length]


class Window:
    def __init__(self, *, days: int, end_day: date):
        self.days = days
        self.end_day = end_day
        tz = settings.REPORTING_TZ
        self.start = datetime.combine(end_day - timedelta(days=days), datetime.min.time(), tzinfo=tz)
        self.end = datetime.combine(end_day, datetime.min.time(), tzinfo=tz)
        self.tz = tz

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


class Person:
    """One person's journey; `rows` collects their events in time order."""

    def __init__(self, i: int, *, seed: int, days: int, entry: Entry, window: Window, stats: Stats, articles):
        self.rng = random.Random(f"{seed}:{days}:{i}")
        self.i = i
        self.prefix = f"demo-{seed}-{days}-{i}-"
        self.entry = entry
        self.window = window
        self.stats = stats
        self.articles = articles
        self.oa_id = "o" + _hex(seed, i, "oa", length=27)
        self.mp_id = "o" + _hex(seed, i, "mp", length=27)
        self.unionid = "u" + _hex(seed, i, "union", length=27) if self.rng.random() < UNIONID_SHARE else ""
        self.q = entry.quality
        self.rows: list[dict] = []
        self.n = 0
        self.sessions = 0
        self.orders = 0
        self.told_oa = self.told_mp = False

    # --- output ---------------------------------------------------------------------

    def emit(self, name: str, ts: datetime, *, mp: bool, page: str = "", value=None, **properties) -> bool:
        if ts >= self.window.end:
            return False
        self.n += 1
        if self.unionid and not (self.told_mp if mp else self.told_oa):
            properties["unionid"] = self.unionid
            if mp:
                self.told_mp = True
            else:
                self.told_oa = True
        row = {
            "event_name": name,
            "user_id": self.mp_id if mp else self.oa_id,
            "session_id": f"s{self.i}-{self.sessions}" if mp else "",
            "source": self.entry.source,
            "campaign": self.entry.campaign,
            "page": page,
            "ts": ts,
            "event_id": self.prefix + str(self.n),
            "app_id": MP_APPID if mp else OA_APPID,
            "properties": properties,
        }
        if value is not None:
            row["value"] = value
            if name not in MEASUREMENT_EVENTS:  # a page load time is milliseconds, not yuan
                row["currency"] = "CNY"
        self.rows.append(row)
        return True

    def chance(self, p: float) -> bool:
        return self.rng.random() < min(p, 0.97)

    def later(self, ts: datetime, minutes: float) -> datetime:
        return ts + timedelta(seconds=max(1, int(minutes * 60)))

    # --- the journey ------------------------------------------------------------------

    def live(self, first: datetime) -> None:
        entry, rng = self.entry, self.rng
        t = first
        extra = {}
        lander = ""
        if entry.creatives:
            ad_group, creative_ref, lander = rng.choice(entry.creatives)
            extra = {"ad_group": ad_group, "creative_id": creative_ref}
        if entry.kind == Placement.Kind.MOMENTS_AD:
            self.emit("ad_click", t, mp=True, **extra)
            t = self.later(t, 0.2)
            if lander == "h5" and self.chance(0.3 * self.q):  # the H5 lander is a lead form
                self.emit("lead_form_submit", self.later(t, 1), mp=True, **extra)
        if entry.scene and entry.qr_kind == Placement.QRKind.MINI_PROGRAM:
            # A Mini Program code opens the app directly: the SDK sends app_launch and
            # app_show with WeChat's scene 1047 (scan) and the placement, no qr_scan.
            for name in ("app_launch", "app_show"):
                if self.emit(name, t, mp=True, wechat_scene=1047, path="pages/index/index"):
                    self.rows[-1]["placement_scene"] = entry.scene
        elif entry.scene:
            starts_in_mp = entry.kind in {Placement.Kind.MOMENTS_AD, Placement.Kind.KOL_POST, Placement.Kind.PACKAGING}
            if self.emit("qr_scan", t, mp=starts_in_mp, **extra):
                self.rows[-1]["placement_scene"] = entry.scene
        else:
            self.emit("search_exposure" if entry.source == "search" else "profile_view", t, mp=False)
        t = self.later(t, rng.uniform(0.2, 3))

        follow_p = {Placement.Kind.MOMENTS_AD: 0.3, Placement.Kind.KOL_POST: 0.25}.get(entry.kind, 0.55)
        followed = None
        if self.chance(follow_p * self.q):
            followed = t
            user_source = {"": "1", Placement.Kind.MOMENTS_AD: "100"}.get(entry.kind, "30")
            if self.emit("follow", t, mp=False) and entry.scene:
                self.rows[-1]["placement_scene"] = entry.scene
            self.stats.follows[(self.window.day_of(t), user_source)] += 1
            t = self.later(t, rng.uniform(1, 20))

        if not followed or self.chance(0.55 * self.q):
            self.session(t, buy_p=0.55)
        if followed:
            self.official_account(followed)
        self.returns(first)

    def official_account(self, followed: datetime) -> None:
        rng = self.rng
        unfollow_at = None
        if self.chance(0.08 / self.q):
            unfollow_at = self.later(followed, rng.uniform(60, 60 * 24 * 20))
        if self.chance(0.3):
            t = self.later(followed, rng.uniform(5, 60 * 24 * 5))
            button = rng.choice(["Shop", "Guides", "Service"])
            target = "mini_program" if button == "Shop" else "menu"
            if self.emit("menu_click", t, mp=False, menu=button, target=target) and button == "Shop":
                self.session(self.later(t, 0.1), buy_p=0.5)
        opened = 0
        for published, msgid in self.articles:
            if published < followed or (unfollow_at and published > unfollow_at) or opened >= 6:
                continue
            if not self.chance(0.22 * self.q):
                continue
            opened += 1
            t = self.later(published, rng.expovariate(1 / 600))
            if not self.emit("article_open", t, mp=False, msgid=msgid):
                continue
            counts = self.stats.article[(self.window.day_of(t), msgid)]
            counts["opens"] += 1
            if self.chance(0.58):
                self.emit("article_read_complete", self.later(t, rng.uniform(1, 6)), mp=False, msgid=msgid)
                counts["completes"] += 1
            if self.chance(0.07):
                self.emit("article_share", self.later(t, rng.uniform(1, 8)), mp=False, msgid=msgid)
                counts["shares"] += 1
            if self.chance(0.03):
                counts["favourites"] += 1
            if self.chance(0.14 * self.q):
                target = rng.choice(["mini_program", "mini_program", "menu", "form"])
                cta = self.later(t, rng.uniform(2, 8))
                self.emit("cta_click", cta, mp=False, msgid=msgid, target=target, **{"from": "article"})
                if target == "form" and self.chance(0.6):
                    self.emit("lead_form_submit", self.later(cta, 2), mp=False, msgid=msgid)
                elif target == "mini_program":
                    self.session(self.later(cta, 0.2), buy_p=0.45)
        if unfollow_at and self.emit("unfollow", unfollow_at, mp=False):
            self.stats.unfollows[self.window.day_of(unfollow_at)] += 1

    def view(self, template: str, t: datetime) -> datetime:
        path, median_ms = PAGES[template]
        if not self.emit("page_view", t, mp=True, page=template, path=path):
            return t
        self.stats.pages[(self.window.day_of(t), path)]["visits"] += 1
        if self.chance(0.5):  # the SDK samples load times
            ms = int(median_ms * math.exp(self.rng.gauss(0, 0.55)))
            self.emit("page_load_time", self.later(t, 0.02), mp=True, page=template, value=f"{ms}.00", path=path)
        return self.later(t, self.rng.uniform(0.3, 2.5))

    def session(self, t: datetime, *, buy_p: float) -> None:
        rng = self.rng
        if t >= self.window.end:
            return
        self.sessions += 1
        self.emit("session_start", t, mp=True)
        t = self.view("home", self.later(t, 0.05))
        if self.chance(0.015):
            self.emit("api_error", t, mp=True, endpoint=rng.choice(["/api/cart", "/api/products", "/api/coupons"]))
        if self.chance(0.7):
            t = self.view("category", t)
        product = None
        for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
            product = rng.choice(PRODUCTS)
            t = self.view("PDP", t)
        if product is None:
            return
        if self.chance(0.2 * self.q):
            self.emit("share", t, mp=True, page="PDP", sku=product[0])
        if not self.chance(0.42 * self.q):
            return
        quantity = rng.choice([1, 1, 1, 2])
        self.emit("add_to_cart", t, mp=True, page="PDP", value=str(product[2] * quantity), sku=product[0])
        t = self.view("cart", self.later(t, 0.3))
        if not self.chance(0.6 * self.q):
            return
        self.emit("start_checkout", t, mp=True, page="cart")
        t = self.view("checkout", self.later(t, 0.2))
        amount = product[2] * quantity
        if self.chance(0.4):
            self.emit("select_coupon", t, mp=True, page="checkout", coupon="WINTER10")
            amount = (amount * Decimal("0.9")).quantize(Decimal("0.01"))
        if self.chance(0.06):
            self.emit("payment_retry", self.later(t, 0.5), mp=True, page="checkout")
            t = self.later(t, 1)
        if not self.chance(buy_p * self.q + 0.2):
            return
        self.orders += 1
        order = f"demo{self.i}x{self.orders}"
        t = self.later(t, 0.5)
        self.emit("pay_success", t, mp=True, page="checkout", value=str(amount), order=order, sku=product[0])
        if self.orders == 1:
            self.emit("first_payment", t, mp=True, page="checkout", value=str(amount), order=order)
        else:
            self.emit("repeat_purchase", t, mp=True, page="checkout", value=str(amount), order=order)
        self.view("order", self.later(t, 0.1))
        self.after_sale(t, amount, order)

    def after_sale(self, paid: datetime, amount: Decimal, order: str) -> None:
        rng = self.rng
        ticket = self.chance(0.08)
        if self.chance(0.07):
            asked = self.later(paid, rng.uniform(60 * 12, 60 * 24 * 6))
            self.emit("refund_request", asked, mp=True, page="order", value=str(amount), order=order)
            ticket = ticket or self.chance(0.5)
            if self.chance(0.75):
                approved = self.later(asked, rng.uniform(60, 60 * 30))
                self.emit("return_approved", approved, mp=True, order=order)
                self.emit(
                    "refund_success", self.later(approved, rng.uniform(60 * 24, 60 * 72)), mp=True, value=str(amount)
                )
                self.rows[-1]["properties"]["order"] = order
        if ticket:
            opened = self.later(paid, rng.uniform(60, 60 * 24 * 4))
            self.emit("ticket_created", opened, mp=True, order=order)
            if self.chance(0.92):
                # Resolution time: log-normal, median about 3 hours.
                minutes = 180 * math.exp(rng.gauss(0, 0.9))
                self.emit("ticket_resolved", self.later(opened, minutes), mp=True, order=order)

    def returns(self, first: datetime) -> None:
        rng = self.rng
        t = first
        for _ in range(6):
            p = (0.45 if self.orders else 0.22) * self.q
            if not self.chance(p):
                return
            t = t + timedelta(days=1 + rng.expovariate(1 / 6), minutes=rng.randint(0, 600))
            if t >= self.window.end:
                return
            self.session(t, buy_p=0.35 if self.orders else 0.25)


def entries(window: Window) -> list[Entry]:
    """One entry per placement of the demo campaigns (or of any campaign when there are no
    demo campaigns), weighted so placements differ, plus organic discovery."""
    found = [
        Entry(source="search", weight=ORGANIC_TRAFFIC * 0.6),
        Entry(source="share", weight=ORGANIC_TRAFFIC * 0.4),
    ]
    for campaign in demo_campaigns():
        placements = list(campaign.placements.order_by("name"))
        # Some ads name their creative by the ad platform's id (the landing-URL macro), the
        # others by ours: the reports resolve both.
        creatives = tuple(
            (ad_group, external_id if n % 2 == 0 and external_id else str(pk), lander)
            for n, (pk, ad_group, external_id, lander) in enumerate(
                campaign.creatives.order_by("name").values_list("pk", "ad_group", "external_id", "lander_type")
            )
        )
        quality = CAMPAIGN_QUALITY.get(campaign.code, 1.0)
        for n, placement in enumerate(placements):
            # Earlier placements in the list do a little better (store 001 beats store 006).
            spread = 1.15 - 0.3 * n / max(1, len(placements) - 1)
            found.append(
                Entry(
                    campaign=campaign.code,
                    source=placement.utm_source or campaign.utm_source or "wechat",
                    scene=placement.scene,
                    kind=placement.kind,
                    quality=quality * spread,
                    starts_on=campaign.starts_on,
                    ends_on=campaign.ends_on,
                    weight=CAMPAIGN_TRAFFIC.get(campaign.code, 15) / len(placements),
                    creatives=creatives if placement.kind == Placement.Kind.MOMENTS_AD else (),
                    qr_kind=placement.qr_kind,
                )
            )
    return found


def articles(window: Window) -> list[tuple[datetime, str]]:
    """Articles go out on Tuesdays and Fridays at 20:00."""
    sent_out = []
    day = window.start.date()
    while day < window.end_day:
        if day.weekday() in (1, 4):
            sent = datetime.combine(day, datetime.min.time(), tzinfo=window.tz) + timedelta(hours=20)
            sent_out.append((sent, f"{2650000000 + day.toordinal()}_1"))
        day += timedelta(days=1)
    return sent_out


def journey_rows(*, days: int, users: int, seed: int, window: Window, stats: Stats, on_person=None) -> Iterator[dict]:
    """Every event row of every person, person after person."""
    places = entries(window)
    published = articles(window)
    for i in range(users):
        pick = random.Random(f"{seed}:{days}:{i}:entry")
        first_day = window.start.date() + timedelta(days=pick.randrange(days))
        candidates = [e for e in places if e.active(first_day)]
        entry = pick.choices(candidates, weights=[e.weight for e in candidates])[0]
        hour = pick.choices(range(24), weights=HOUR_WEIGHTS)[0]
        first = datetime.combine(first_day, datetime.min.time(), tzinfo=window.tz) + timedelta(
            hours=hour, seconds=pick.randrange(3600)
        )
        person = Person(i, seed=seed, days=days, entry=entry, window=window, stats=stats, articles=published)
        person.live(first)
        if on_person is not None:
            on_person()
        yield from person.rows


def demo_campaigns():
    """The demo campaigns (campaigns.demo), or every campaign when they are not there."""
    demo = Campaign.objects.filter(code__in=CAMPAIGN_QUALITY).order_by("code")
    return demo if demo.exists() else Campaign.objects.order_by("code")
