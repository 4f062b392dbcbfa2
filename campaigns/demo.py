"""Demo definitions for `manage.py seed_demo`: KPIs, campaigns with placements and
creatives, and WeChat apps without secrets (so everything works offline).

Deterministic for a given seed and idempotent: rows are found by their natural keys
(KPI name, campaign code, placement and creative name within the campaign, appid) and only
missing ones are created, so re-running adds nothing. Campaign dates are relative to the
day of the first run (the demo events fall inside them).
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone, translation

from campaigns import services
from campaigns.models import KPI, Campaign, Creative, Placement, WeChatApp

DEMO_OA_APPID = "wxdemo00000000oa"
DEMO_MP_APPID = "wxdemo00000000mp"

KPIS = [
    {
        "name": "Qualified leads per week",
        "description": "Lead forms submitted from WeChat (seed §1).",
        "metric_kind": KPI.MetricKind.EVENT_COUNT,
        "event_name": "lead_form_submit",
        "target": Decimal("120"),
        "direction": KPI.Direction.UP,
        "period": KPI.Period.WEEK,
    },
    {
        "name": "Add-to-cart to paid rate",
        "description": "Share of users who add to cart and then pay.",
        "metric_kind": KPI.MetricKind.CONVERSION_RATE,
        "event_name": "add_to_cart",
        "second_event_name": "pay_success",
        "target": Decimal("0.35"),
        "direction": KPI.Direction.UP,
        "period": KPI.Period.WEEK,
    },
    {
        "name": "Customer service resolution time",
        "description": "Median seconds from ticket_created to ticket_resolved.",
        "metric_kind": KPI.MetricKind.MEDIAN_TIME,
        "event_name": "ticket_created",
        "second_event_name": "ticket_resolved",
        "target": Decimal("14400"),
        "direction": KPI.Direction.DOWN,
        "period": KPI.Period.WEEK,
    },
]

# code, name, KPI (index), days before today it started, days it lasts, status, utm source/medium
CAMPAIGNS = [
    ("D11-Encore", "Double 11 encore sale", 1, 40, 60, Campaign.Status.ACTIVE, "wechat_ad", "cpc"),
    ("W-Stores", "In-store QR: winter collection", 0, 38, 90, Campaign.Status.ACTIVE, "store", "qr"),
    (
        "OA-Series",
        "Official Account care-guide series",
        2,
        36,
        120,
        Campaign.Status.ACTIVE,
        "official_account",
        "article",
    ),
    ("KOL-Launch", "KOL launch week", 1, 45, 14, Campaign.Status.ENDED, "kol", "social"),
]


def english_label(choice) -> str:
    """A choice's label in English whatever the active language: demo names made from labels
    are keys (get_or_create, and the seed of the demo's ad spend), so they must not change
    with LANGUAGE_CODE or a re-run in another language would add a second set."""
    with translation.override("en"):
        return str(choice.label)


LANDERS = [Creative.LanderType.ARTICLE, Creative.LanderType.MINI_PROGRAM, Creative.LanderType.H5]
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Hangzhou", "Chengdu", "Wuhan", "Nanjing"]


@dataclass
class SeedSummary:
    kpis: int = 0
    campaigns: int = 0
    placements: int = 0
    creatives: int = 0
    apps: int = 0

    def __str__(self) -> str:
        return translation.gettext(
            "%(kpis)d KPIs, %(campaigns)d campaigns, %(placements)d placements, %(creatives)d creatives, "
            "%(apps)d WeChat apps created"
        ) % {
            "kpis": self.kpis,
            "campaigns": self.campaigns,
            "placements": self.placements,
            "creatives": self.creatives,
            "apps": self.apps,
        }


def _placements_for(code: str, rng: random.Random) -> list[dict]:
    if code == "D11-Encore":
        return [
            {
                "name": "Moments ad — hero video",
                "kind": Placement.Kind.MOMENTS_AD,
                "qr_kind": Placement.QRKind.WEB_LINK,
            },
            {"name": "Moments ad — carousel", "kind": Placement.Kind.MOMENTS_AD, "qr_kind": Placement.QRKind.WEB_LINK},
            {"name": "OA menu — Sale", "kind": Placement.Kind.MENU, "qr_kind": Placement.QRKind.OA_TEMPORARY},
            {"name": "Parcel insert card", "kind": Placement.Kind.PACKAGING, "qr_kind": Placement.QRKind.MINI_PROGRAM},
        ]
    if code == "W-Stores":
        stores = rng.sample(CITIES, 6)
        return [
            {
                "name": f"{city} store {n:03d} — {english_label(kind).lower()}",
                "kind": kind,
                "qr_kind": Placement.QRKind.OA_PERMANENT,
                "utm_content": f"store-{n:03d}",
            }
            for n, city in enumerate(stores, start=1)
            for kind in (Placement.Kind.STORE_COUNTER, Placement.Kind.POSTER)
        ]
    if code == "OA-Series":
        return [
            {"name": f"Article {n} footer", "kind": Placement.Kind.ARTICLE_FOOTER, "qr_kind": Placement.QRKind.WEB_LINK}
            for n in range(1, 5)
        ] + [{"name": "OA menu — Guides", "kind": Placement.Kind.MENU, "qr_kind": Placement.QRKind.WEB_LINK}]
    return [
        {"name": f"KOL post {n}", "kind": Placement.Kind.KOL_POST, "qr_kind": Placement.QRKind.WEB_LINK}
        for n in range(1, 4)
    ] + [{"name": "Launch event booth", "kind": Placement.Kind.EVENT_BOOTH, "qr_kind": Placement.QRKind.OA_TEMPORARY}]


def seed_definitions(*, seed: int = 42) -> SeedSummary:
    """Create the demo KPIs, apps, campaigns, placements and creatives that are missing."""
    rng = random.Random(seed)
    summary = SeedSummary()
    today = timezone.localdate()

    apps = {}
    for appid, name, kind in [
        (DEMO_OA_APPID, "Demo Official Account", WeChatApp.Kind.OFFICIAL_ACCOUNT),
        (DEMO_MP_APPID, "Demo Mini Program", WeChatApp.Kind.MINI_PROGRAM),
    ]:
        apps[kind], created = WeChatApp.objects.get_or_create(
            appid=appid, defaults={"name": name, "kind": kind, "original_id": f"gh_{appid[-8:]}"}
        )
        summary.apps += created

    kpis = []
    for spec in KPIS:
        kpi = KPI.objects.filter(name=spec["name"]).first()
        if kpi is None:
            kpi = KPI(**spec)
            try:
                services.kpi_save(kpi)
            except services.KPILimitExceeded:
                kpi.is_active = False  # the team already has three active KPIs: keep theirs
                services.kpi_save(kpi)
            summary.kpis += 1
        kpis.append(kpi)

    for code, name, kpi_index, started_days_ago, length, status, source, medium in CAMPAIGNS:
        starts_on = today - timedelta(days=started_days_ago)
        with transaction.atomic():
            campaign, created = Campaign.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "objective_kpi": kpis[kpi_index],
                    "starts_on": starts_on,
                    "ends_on": starts_on + timedelta(days=length),
                    "budget": Decimal(rng.randrange(20, 200) * 1000),
                    "status": status,
                    "utm_source": source,
                    "utm_medium": medium,
                },
            )
        summary.campaigns += created
        existing = set(campaign.placements.values_list("name", flat=True))
        for spec in _placements_for(code, rng):
            if spec["name"] in existing:
                continue
            app = apps[
                WeChatApp.Kind.MINI_PROGRAM
                if spec["qr_kind"] == Placement.QRKind.MINI_PROGRAM
                else WeChatApp.Kind.OFFICIAL_ACCOUNT
            ]
            services.placement_create(
                Placement(
                    campaign=campaign,
                    target_url=f"https://shop.example.com/{code.lower()}",
                    wechat_app=app if spec["qr_kind"] != Placement.QRKind.WEB_LINK else None,
                    mp_page="pages/index/index" if spec["qr_kind"] == Placement.QRKind.MINI_PROGRAM else "",
                    **spec,
                ),
                request_wechat=False,
            )
            summary.placements += 1
        if code in {"D11-Encore", "KOL-Launch"}:
            for n, lander in enumerate(LANDERS, start=1):
                _, created = Creative.objects.get_or_create(
                    campaign=campaign,
                    name=f"{code} creative {n} ({english_label(lander)})",
                    defaults={
                        "ad_group": f"{code} ad group {1 + (n - 1) // 2}",
                        "lander_type": lander,
                        "landing_url": f"https://shop.example.com/{code.lower()}/{lander}",
                        "external_id": f"{rng.randrange(10**8, 10**9)}",
                    },
                )
                summary.creatives += created
    return summary
