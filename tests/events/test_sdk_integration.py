"""The Mini Program SDK against the real event API.

`sdk/miniprogram/test/integration/send-batch.mjs` runs the SDK on its fake wx runtime, whose
wx.request does a real HTTP POST, against the live test server: a launch from a Mini Program
code carrying the placement's scene, two page views, identify and add_to_cart. The answer to
its first batch is "lost", so the SDK retries the same rows.
"""

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from campaigns.models import Placement
from campaigns.services import placement_create
from events.identity import person_of
from events.models import Event, IngestKey, RejectedRow
from events.wechat.pay import parse_attach

SCRIPT = Path(__file__).resolve().parents[2] / "sdk" / "miniprogram" / "test" / "integration" / "send-batch.mjs"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(NODE is None, reason="needs Node.js 20 or later to run the Mini Program SDK"),
]


@pytest.fixture
def counter_placement(transactional_db, campaign):
    placement = Placement(
        campaign=campaign,
        name="Store counter",
        kind=Placement.Kind.STORE_COUNTER,
        qr_kind=Placement.QRKind.MINI_PROGRAM,
        mp_page="pages/index/index",
    )
    return placement_create(placement, request_wechat=False)


def send_batch(server_url: str, key: str, scene: str) -> dict:
    done = subprocess.run(
        [NODE, str(SCRIPT), server_url, key, scene], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"send-batch.mjs failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_events_sent_by_the_sdk_are_stored_once_with_the_placement_and_campaign_of_the_scene(
    live_server, transactional_db, campaign, counter_placement
):
    _, raw_key = IngestKey.generate(name="Mini Program", source="mini_program", kind="client")

    sent = send_batch(live_server.url, raw_key, counter_placement.scene)

    events = list(Event.objects.order_by("ts", "id"))
    assert sorted(e.event_id for e in events) == sorted(sent["event_ids"])
    assert sent["stats"]["duplicates"] == len(events)
    assert not RejectedRow.objects.exists()
    assert {e.placement_id for e in events} == {counter_placement.pk}
    assert {e.campaign_id for e in events} == {campaign.pk}
    assert {e.campaign_code for e in events} == {"23Q4-Sale"}
    assert {e.source for e in events} == {"mini_program"}
    assert {e.app_id for e in events} == {"wxintegration01"}


def test_sdk_events_carry_the_wechat_scene_pages_and_user_ids_and_identify_joins_the_ids(
    live_server, transactional_db, counter_placement
):
    _, raw_key = IngestKey.generate(name="Mini Program", source="mini_program", kind="client")

    sent = send_batch(live_server.url, raw_key, counter_placement.scene)

    by_name = {}
    for event in Event.objects.order_by("ts", "id"):
        by_name.setdefault(event.event_name, []).append(event)
    launch = by_name["app_launch"][0]
    assert launch.properties["wechat_scene"] == 1047
    assert launch.user_id == sent["anonymous_id"]
    assert [e.page for e in by_name["page_view"]] == ["index", "detail"]
    assert {e.user_id for e in by_name["page_view"]} == {sent["anonymous_id"]}
    cart = by_name["add_to_cart"][0]
    assert cart.user_id == "o-integration-user"
    assert cart.value == Decimal("199.00")
    assert cart.page == "detail"
    assert {e.page: e.value for e in by_name["page_load_time"]} == {"index": Decimal("120"), "detail": Decimal("0")}
    assert person_of(sent["anonymous_id"]) == person_of("o-integration-user")


def test_the_sdk_pay_attach_names_the_placement_and_session_the_way_the_pay_callback_reads_it(
    live_server, transactional_db, counter_placement
):
    _, raw_key = IngestKey.generate(name="Mini Program", source="mini_program", kind="client")

    sent = send_batch(live_server.url, raw_key, counter_placement.scene)

    launch = Event.objects.get(event_name="app_launch")
    assert parse_attach(sent["pay_attach"]) == {"scene": counter_placement.scene, "session": launch.session_id}
