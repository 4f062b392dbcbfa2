"""The H5 snippet against the real event API, after a real short link redirect.

`sdk/web/test/integration/visit.mjs` runs the snippet (sdk/web/wxanalytics.js) on the fake
browser of its node tests, whose fetch does real HTTP POSTs, against the live test server. The
landing URL is the `/r/<code>` redirect's target with its signed hand-over (events/handover.py;
docs/ingest.md), which ingest verifies. tests/events/test_web_sdk_browser.py runs the same path in
headless Chromium.
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from campaigns.models import Placement
from events.handover import verify_handover
from events.models import Event, IngestKey, RejectedRow

SCRIPT = Path(__file__).resolve().parents[2] / "sdk" / "web" / "test" / "integration" / "visit.mjs"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(NODE is None, reason="needs Node.js 20 or later to run the H5 snippet"),
]


@pytest.fixture
def poster(transactional_db, campaign):
    return Placement.objects.create(
        campaign=campaign, name="Store poster", scene="p7Kx2", target_url="https://shop.example.com/landing/cny"
    )


def visit(server_url: str, key: str, landing: str) -> dict:
    done = subprocess.run(
        [NODE, str(SCRIPT), server_url, key, landing], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"visit.mjs failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_h5_events_after_a_scan_carry_the_scans_visitor_and_placement_and_a_hand_over_the_server_verifies(
    live_server, client, campaign, poster
):
    scan = client.get("/r/p7Kx2")
    landing = scan["Location"]  # the redirect appends the signed hand-over (events/handover.py)
    _, raw_key = IngestKey.generate(name="H5 pages", source="h5", kind=IngestKey.Kind.CLIENT)

    sent = visit(live_server.url, raw_key, landing)

    assert not RejectedRow.objects.exists()
    h5 = list(Event.objects.filter(source="h5").order_by("ts", "id"))
    assert sorted(e.event_id for e in h5) == sorted(sent["event_ids"])
    assert {e.event_name for e in h5} == {"session_start", "page_view", "element_click", "add_to_cart", "page_leave"}
    scan_event = Event.objects.get(event_name="qr_scan")
    visitor = scan_event.user_id
    assert {e.user_id for e in h5} == {visitor}
    assert {e.placement_id for e in h5} == {poster.pk}
    assert {e.campaign_id for e in h5} == {campaign.pk}
    assert {e.properties["handover_status"] for e in h5} == {"verified"}
    for event in h5:
        checked = verify_handover(event.properties["handover"], now=time.time())
        assert (checked.visitor, checked.placement) == (visitor, "p7Kx2")


def test_h5_time_on_page_and_clicks_arrive_as_the_snippet_measured_them(live_server, client, campaign, poster):
    scan = client.get("/r/p7Kx2")
    _, raw_key = IngestKey.generate(name="H5 pages", source="h5", kind=IngestKey.Kind.CLIENT)

    visit(live_server.url, raw_key, scan["Location"])

    leave = Event.objects.get(event_name="page_leave")
    # 4,000 ms read + 2,000 ms after coming back; the 60,000 ms hidden are not time on page.
    assert leave.properties["duration_ms"] == 6000
    assert leave.page == "cny"
    click = Event.objects.get(event_name="element_click")
    assert (click.properties["element_name"], click.properties["position"]) == ("buy_button", 2)
    view = Event.objects.get(event_name="page_view")
    assert view.properties["utm_campaign"] == campaign.code
