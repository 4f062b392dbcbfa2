"""Random journeys for the property tests: a hypothesis strategy, the fixed world they
happen in (campaigns, placements, creatives), and loading them into the database through
the real ingest path (events.ingest.ingest_rows; ad spend through the ORM).

The times are drawn from a grid that puts events on the edges that matter: local midnight
(Asia/Shanghai) and one second either side, and whole days apart, so entries exactly 7 days
before a funnel step, returns exactly 24 h after a first touch and payments exactly 30 days
after a touch all occur often.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from campaigns.models import Campaign, Creative, Placement
from events import people
from events.ingest import ingest_rows
from events.models import AdSpend, Event
from tests.reports import reference as ref

ANCHOR = date(2025, 11, 10)  # Monday of ISO week 2025-W46
# 12:30 and 12:30:01 put launches exactly 30 minutes, and just over, after a 12:00 scan.
TIMES = (time(0, 0, 0), time(0, 0, 1), time(23, 59, 59), time(8, 0), time(12, 0), time(12, 30), time(12, 30, 1))
# Mini Program launches: 1047 (a Mini Program code) and 1011 (a QR code) are code scans,
# 1001 (the chat list) is not.
LAUNCH_NAMES = ("app_launch", "app_show")
WECHAT_SCENES = ("1047", "1011", "1001")
NAMES = (
    "qr_scan",
    "qr_scan",
    "qr_scan",
    "qr_scan",
    "follow",
    "follow",
    "unfollow",
    "page_view",
    "page_view",
    "add_to_cart",
    "add_to_cart",
    "start_checkout",
    "select_coupon",
    "pay_success",
    "pay_success",
    "pay_success",
    "refund_success",
    "lead_form_submit",
    "repeat_purchase",
    "ad_click",
    "api_error",
    "payment_retry",
    "page_load_time",
    "ticket_created",
    "article_open",
    "article_read_complete",
    "article_share",
    "cta_click",
    "menu_click",
    # Engagement (issue 18): page views in sessions, leaves with a duration, clicks.
    "page_view",
    "page_leave",
    "page_leave",
    "element_click",
    "element_click",
)
# A touch: a campaign code (index), a placement scene (index), both (a code of one campaign
# with the placement of another), or nothing.
TOUCHES = (None, None, None, ("code", 0), ("code", 1), ("scene", 0), ("scene", 1), ("scene", 2), ("both", 1, 0))
CREATIVE_REFS = (None, None, ("id", 0), ("id", 1), ("ad_group", "manual-group"))
SOURCES = ("mini_program", "official_account", "api")
PRICES = ("9.90", "10.00", "33.33", "100.00")
PAGES = ("home", "product", "cart")
LOAD_MS = ("120", "800", "3500")
# Session ids are shared across people now and then (a Mini Program visitor handing the
# session to an H5 page under another id); "" is an event sent without a session.
SESSIONS = ("", "a", "a", "b", "c")
# A page_leave's foreground time: in properties.duration_ms, only in value, or missing.
DURATIONS = (("props", 800), ("props", 120000), ("props", 3500), ("value", "2500"), None)
# Elements as the SDKs send them (element_id may be missing; ASCII words so the order of ties
# is the same in every collation).
ELEMENTS = (
    {"element_id": "buy", "element_name": "buy"},
    {"element_id": "fav", "element_name": "fav"},
    {"element_name": "onhold"},
    {},
)

CAMPAIGNS = (("PROP-A", "Campaign A"), ("PROP-B", "Campaign B"))
PLACEMENTS = ((0, "poster", "prop-s1"), (0, "booth", "prop-s2"), (1, "store", "prop-s3"))
CREATIVES = ((0, "banner", "group-a", "mini_program", "ext-1"), (1, "video", "group-b", "h5", "ext-2"))


@dataclass
class Fixed:
    campaigns: list[Campaign]
    placements: list[Placement]
    creatives: list[Creative]


def make_fixed() -> Fixed:
    campaigns = [Campaign.objects.create(code=code, name=name) for code, name in CAMPAIGNS]
    placements = [
        Placement.objects.create(campaign=campaigns[c], name=name, scene=scene) for c, name, scene in PLACEMENTS
    ]
    creatives = [
        Creative.objects.create(campaign=campaigns[c], name=name, ad_group=group, lander_type=lander, external_id=ext)
        for c, name, group, lander, ext in CREATIVES
    ]
    return Fixed(campaigns, placements, creatives)


@st.composite
def event_specs(draw, people: int, launches: bool = False, code_case: bool = False, external_ids: bool = False):
    names = NAMES + LAUNCH_NAMES * 2 if launches else NAMES
    creatives = (*CREATIVE_REFS, ("external", 0), ("external", 1)) if external_ids else CREATIVE_REFS
    return {
        "code_case": draw(st.sampled_from(("as is", "lower", "upper"))) if code_case else "as is",
        "person": draw(st.integers(0, people - 1)),
        # 0: Official Account openid, 1: Mini Program openid, 2: the unionid itself (a server
        # sending the person's unionid as user_id).
        "id": draw(st.sampled_from((0, 0, 1, 1, 2))),
        "name": draw(st.sampled_from(names)),
        "wechat_scene": draw(st.sampled_from(WECHAT_SCENES)),
        # Mostly around the week under test, sometimes anywhere from 5 weeks before to 3 after.
        "day": draw(st.one_of(st.integers(-2, 8), st.integers(-35, 24))),
        "time": draw(st.sampled_from(TIMES)),
        "touch": draw(st.sampled_from(TOUCHES)),
        "creative": draw(st.sampled_from(creatives)),
        # WeChat's scene number sent by the client (an ad click from Moments is 1084).
        "scene_property": draw(st.sampled_from((None, None, "1084", 1047))),
        "source": draw(st.sampled_from(SOURCES)),
        "price": draw(st.sampled_from(PRICES)),
        "page": draw(st.sampled_from(PAGES)),
        "click": draw(
            st.sampled_from(
                (
                    {"from": "article", "target": "menu"},
                    {"from": "article", "target": "form"},
                    {"from": "article", "target": "mini_program"},
                    {"from": "article", "target": "elsewhere"},
                    {"from": "menu", "target": "form"},
                    {},
                )
            )
        ),
        "ms": draw(st.sampled_from(LOAD_MS)),
        "ms_in_properties": draw(st.booleans()),
        "session": draw(st.sampled_from(SESSIONS)),
        "duration": draw(st.sampled_from(DURATIONS)),
        "element": draw(st.sampled_from(ELEMENTS)),
    }


@st.composite
def spend_specs(draw):
    campaign = draw(st.integers(0, 1))
    return {
        "day": draw(st.integers(-20, 7)),
        "campaign": campaign,
        "creative": draw(st.sampled_from((None, campaign))),  # creatives belong to their campaign
        "spend": draw(st.sampled_from(("0.01", "10.00", "33.33", "120.50"))),
        "impressions": draw(st.integers(0, 1000)),
        "clicks": draw(st.integers(0, 40)),
        "reach": draw(st.integers(0, 600)),
    }


@st.composite
def journeys(
    draw,
    max_people: int = 6,
    max_events: int = 45,
    launches: bool = False,
    code_case: bool = False,
    external_ids: bool = False,
):
    """`launches`: also Mini Program launches (app_launch/app_show with WeChat's scene),
    which count as scans of a placement when opened from its code. `code_case`: campaign
    codes sent in lower or upper case too (they match ignoring case). `external_ids`:
    touches name creatives by the ad platform's id (Creative.external_id) too."""
    people = draw(st.integers(1, max_people))
    return {
        "people": people,
        # Which of a person's two openids carry the person's unionid (joining them).
        "unionid": draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=people, max_size=people)),
        "events": draw(
            st.lists(event_specs(people, launches, code_case, external_ids), min_size=1, max_size=max_events)
        ),
        "spend": draw(
            st.lists(spend_specs(), max_size=8, unique_by=lambda s: (s["day"], s["campaign"], s["creative"]))
        ),
    }


def step(person: int, name: str, day: int, at: time = time(12, 0), touch=None, **fields) -> dict:
    """One event of a hand-written journey spec (the fields `event_specs` draws)."""
    spec = {
        "person": person,
        "id": 0,
        "name": name,
        "day": day,
        "time": at,
        "touch": touch,
        "creative": None,
        "source": "api",
        "price": "10.00",
        "page": "home",
        "ms": "120",
        "ms_in_properties": False,
    }
    spec.update(fields)
    return spec


def journey(*events: dict, people: int = 1, unionid=None, spend=()) -> dict:
    return {
        "people": people,
        "unionid": unionid or [(False, False)] * people,
        "events": list(events),
        "spend": list(spend),
    }


# Journeys every run tries first: edges random search reaches only now and then.
EDGE_JOURNEYS = [
    # Person 0 scans campaign A's code on Mon 10 Nov, then placement 2 (campaign B) on Tue,
    # and again on Mon 17 Nov 08:00 (after the week, inside the 7-day window): one entrant,
    # in campaign A's group only; three step-1 events until the window closes.
    journey(
        step(0, "qr_scan", 0, touch=("code", 0)),
        step(0, "qr_scan", 1, touch=("scene", 2)),
        step(0, "add_to_cart", 2, id=1),
        step(0, "pay_success", 3, id=1),
        step(0, "qr_scan", 7, time(8, 0), touch=("scene", 2)),
        unionid=[(True, True)],
    ),
    # Person 0 scans the poster's short link at 12:00 on Mon 10 Nov, and the Mini Program
    # opens from the poster's code at 12:30 (the same scan: 30 minutes, the run's limit) and
    # is shown again at 13:00:01 (one run: each follows the previous by at most 30 minutes).
    # At 12:30:01 on Tue a launch from the chat list (1001) is no scan; one from the code
    # (1047) is a scan of its own. Scans: Mon 1, Tue 1.
    journey(
        step(0, "qr_scan", 0, touch=("scene", 0)),
        step(0, "app_launch", 0, time(12, 30), touch=("scene", 0), id=1, wechat_scene="1047"),
        step(0, "app_show", 0, time(13, 0, 1), touch=("scene", 0), id=1, wechat_scene="1047"),
        step(0, "app_launch", 1, time(12, 30, 1), touch=("scene", 1), id=1, wechat_scene="1001"),
        step(0, "app_show", 1, time(12, 30, 1), touch=("scene", 2), id=1, wechat_scene="1047"),
        step(0, "add_to_cart", 1, id=1),
        unionid=[(True, True)],
    ),
    # Pages on 15 Oct and 31 Oct, payment on 30 Nov 12:00: only the page of 31 Oct (exactly
    # 30 days before) is on the path; 15 Oct is within 30 days of the month's start only.
    journey(
        step(0, "page_view", -26, page="home"),
        step(0, "page_view", -10, page="cart"),
        step(0, "pay_success", 20, page="cart"),
    ),
    # Unfollows: 20 over the 7 days before Sun 16 Nov (Sun 9 … Sat 15), 2 on the day: a change
    # of exactly −30 %, which the rule |change| > 30 % does not flag.
    journey(
        *(step(0, "unfollow", -1 + n % 7, time(12, 0)) for n in range(20)),
        step(0, "unfollow", 6, time(0, 0)),
        step(0, "unfollow", 6, time(23, 59, 59)),
    ),
]

_batch = itertools.count(1)


def load(spec: dict, fixed: Fixed) -> ref.World:
    """Ingest the journeys and ad spend; return the same facts as a reference World."""
    batch = next(_batch)
    rows, resolved = [], []
    seen_ids: set[str] = set()
    persons: dict[str, str] = {}
    for n, ev in enumerate(spec["events"]):
        user = (f"oa-{ev['person']}", f"mp-{ev['person']}", f"union-{ev['person']}")[ev["id"]]
        when = datetime.combine(ANCHOR + timedelta(days=ev["day"]), ev["time"], tzinfo=ref.SHANGHAI)
        row = {
            "event_name": ev["name"],
            "user_id": user,
            "ts": when.isoformat(),
            "event_id": f"prop-{batch}-{n}",
            "source": ev["source"],
            "properties": {},
        }
        campaign = placement = None
        touch = ev["touch"]
        if touch and touch[0] in ("code", "both"):
            code = fixed.campaigns[touch[1]].code
            row["campaign"] = {"lower": code.lower(), "upper": code.upper()}.get(ev.get("code_case"), code)
            campaign = fixed.campaigns[touch[1]].pk
        if touch and touch[0] in ("scene", "both"):
            pl = fixed.placements[touch[-1]]
            row["placement_scene"] = pl.scene
            placement = pl.pk
            campaign = campaign or pl.campaign_id
        creative = ev["creative"]
        if creative and creative[0] == "id":
            # Our id, as text or as a JSON number.
            pk = fixed.creatives[creative[1]].pk
            row["properties"]["creative_id"] = str(pk) if n % 2 else pk
        elif creative and creative[0] == "external":
            row["properties"]["creative_id"] = fixed.creatives[creative[1]].external_id
        elif creative:
            row["properties"]["ad_group"] = creative[1]
        value = None
        if ev["name"] in ("pay_success", "refund_success", "repeat_purchase"):
            value = Decimal(ev["price"])
            row["value"] = ev["price"]
        elif ev["name"] == "page_load_time":
            if ev["ms_in_properties"]:
                row["properties"]["ms"] = int(ev["ms"])
            else:
                value = Decimal(ev["ms"])
                row["value"] = ev["ms"]
        if ev["name"] in ("page_view", "add_to_cart", "start_checkout", "pay_success", "page_leave", "element_click"):
            row["page"] = ev["page"]
        if ev.get("session"):
            row["session_id"] = f"{batch}-{ev['session']}"
        if ev["name"] == "page_leave" and ev.get("duration"):
            where, ms = ev["duration"]
            if where == "props":
                row["properties"]["duration_ms"] = ms
            else:
                value = Decimal(ms)
                row["value"] = ms
        if ev["name"] == "element_click":
            row["properties"].update(ev.get("element", {}))
        if ev["name"] in ("cta_click", "menu_click"):
            # A click from an article on one of the CTA targets, or something else.
            row["properties"].update(ev.get("click", {}))
        if ev.get("scene_property") is not None and "placement_scene" not in row:
            row["properties"]["scene"] = ev["scene_property"]
        if ev["name"] in LAUNCH_NAMES:
            row["properties"]["wechat_scene"] = ev.get("wechat_scene", "1047")
        carries = ev["id"] < 2 and spec["unionid"][ev["person"]][ev["id"]]
        if carries and user not in seen_ids:
            row["properties"]["unionid"] = f"union-{ev['person']}"
            persons[user] = f"union-{ev['person']}"
        seen_ids.add(user)
        rows.append(row)
        resolved.append((row, when, campaign, placement, value))

    result = ingest_rows(rows, channel="api", source="prop")
    assert (result.accepted, result.rejected) == (len(rows), []), result.as_dict()
    # What the worker does once the links commit: the events take their linked person.
    people.rewrite_pending_people()
    ids = dict(Event.objects.filter(event_id__startswith=f"prop-{batch}-").values_list("event_id", "id"))

    events = [
        ref.Ev(
            id=ids[row["event_id"]],
            name=row["event_name"],
            user=row["user_id"],
            ts=when,
            campaign=campaign,
            placement=placement,
            source=row["source"],
            page=row.get("page", ""),
            value=value,
            session=row.get("session_id", ""),
            props={**row["properties"], **({"scene": row["placement_scene"]} if "placement_scene" in row else {})},
        )
        for row, when, campaign, placement, value in resolved
    ]

    spend = []
    for s in spec["spend"]:
        campaign = fixed.campaigns[s["campaign"]]
        creative = fixed.creatives[s["creative"]] if s["creative"] is not None else None
        AdSpend.objects.create(
            date=ANCHOR + timedelta(days=s["day"]),
            campaign_code=campaign.code,
            campaign=campaign,
            ad_group=creative.ad_group if creative else "",
            creative_name=creative.name if creative else "",
            creative=creative,
            spend=Decimal(s["spend"]),
            impressions=s["impressions"],
            clicks=s["clicks"],
            reach=s["reach"],
        )
        spend.append(
            ref.Spend(
                day=ANCHOR + timedelta(days=s["day"]),
                campaign=campaign.pk,
                creative=creative.pk if creative else None,
                spend=Decimal(s["spend"]),
                impressions=s["impressions"],
                clicks=s["clicks"],
                reach=s["reach"],
                ad_group=creative.ad_group if creative else "",
                creative_name=creative.name if creative else "",
            )
        )

    return ref.World(
        events=events,
        persons=persons,
        campaigns={c.pk: c.code for c in fixed.campaigns},
        placements={
            p.pk: ref.PlacementFact(id=p.pk, campaign=p.campaign_id, scene=p.scene, name=p.name)
            for p in fixed.placements
        },
        creatives={
            c.pk: ref.CreativeFact(
                id=c.pk,
                campaign=c.campaign_id,
                ad_group=c.ad_group,
                lander_type=c.lander_type,
                external_id=c.external_id,
            )
            for c in fixed.creatives
        },
        spend=spend,
    )
