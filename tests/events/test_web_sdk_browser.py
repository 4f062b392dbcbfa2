"""Issue 18's acceptance in a real browser: headless Chromium scans a short link, follows the
real `/r/<code>` redirect to an H5 page this test serves on another origin with the snippet
(sdk/web/wxanalytics.js) in it, and the snippet posts cross-origin to the running app (CORS
preflight included). The stored events must carry the scan's placement and visitor; a forged
hand-over must be ignored; the key used from an origin it does not allow must be refused.
"""

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import Client

from campaigns.models import Campaign, Placement
from events.models import Event, IngestKey, RejectedRow
from tests.browser import chromium, http_server, skip_without_chromium

SNIPPET = Path(__file__).resolve().parents[2] / "sdk" / "web" / "wxanalytics.js"

pytestmark = [pytest.mark.postgres, pytest.mark.browser, pytest.mark.slow]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>CNY landing</title>
<script>window.wxaConfig = {config}</script>
<script>{snippet}</script>
</head><body>
<button id="buy" data-wxa="buy_button">Buy</button>
<pre id="result">pending</pre>
<script>
  wxa.track('add_to_cart', {{ sku: 'A1', value: '199.00', currency: 'CNY' }})
  wxa.flush().then((stats) => {{ document.getElementById('result').textContent = JSON.stringify(stats) }})
</script>
</body></html>"""


@pytest.fixture(autouse=True)
def _needs_chromium():
    skip_without_chromium()


@pytest.fixture
def h5_site(live_server):
    """An H5 site on its own origin (127.0.0.1, another port than the app's localhost): every
    path answers the landing page with the snippet, configured with `site.key`."""

    def answer(path: str) -> tuple[int, dict[str, str], bytes]:
        if not path.startswith("/landing/"):
            return 404, {"Content-Type": "text/plain"}, b"not found"
        config = {"serverUrl": live_server.url, "ingestKey": server.key, "trackClicks": True, "flushInterval": 200}
        body = PAGE.format(config=json.dumps(config), snippet=SNIPPET.read_text()).encode()
        return 200, {"Content-Type": "text/html; charset=utf-8"}, body

    server = http_server(answer)
    server.key = ""
    server.origin = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def poster(transactional_db, campaign, h5_site):
    return Placement.objects.create(
        campaign=campaign, name="Store poster", scene="p7Kx2", target_url=f"{h5_site.origin}/landing/cny"
    )


@pytest.fixture
def h5_key(transactional_db, h5_site):
    """The H5 pages' client key, allowed from the H5 site's origin only."""
    key, raw_key = IngestKey.generate(name="H5 pages", source="h5", kind="client", origins=[h5_site.origin])
    h5_site.key = raw_key
    return key


def stats_of(dom: str) -> dict:
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    assert found.group(1) != "pending", "the page never finished flushing"
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_a_scan_followed_in_chromium_leads_to_h5_events_with_the_scans_placement_and_visitor(
    live_server, campaign, poster, h5_key, tmp_path
):
    dom = chromium(f"{live_server.url}/r/p7Kx2", profile=tmp_path / "profile", budget_ms=8000)

    stats = stats_of(dom)
    scan = Event.objects.get(event_name="qr_scan")
    h5 = list(Event.objects.filter(source="h5"))
    assert (stats["accepted"], stats["queued"], stats["authFailed"]) == (3, 0, False)
    # page_leave goes out with keepalive as Chromium closes the page, after the DOM was read.
    assert {e.event_name for e in h5} - {"page_leave"} == {"session_start", "page_view", "add_to_cart"}
    assert {e.user_id for e in h5} == {scan.user_id}  # the visitor of the scan continues on the H5 page
    assert {(e.placement_id, e.campaign_id) for e in h5} == {(poster.pk, campaign.pk)}
    assert {e.properties["handover_status"] for e in h5} == {"verified"}
    assert not RejectedRow.objects.exists()


def test_a_forged_hand_over_opened_in_chromium_is_stored_without_its_placement(
    live_server, marketer, campaign, poster, h5_key, tmp_path
):
    other = Campaign.objects.create(code="Spring", name="Spring", status=Campaign.Status.ACTIVE, owner=marketer)
    Placement.objects.create(campaign=other, name="Bus stop", scene="bus9")
    landing = urlsplit(Client().get("/r/p7Kx2")["Location"])
    query = dict(parse_qsl(landing.query))
    query.update(wxa_p="bus9", wxa_c="Spring")  # the signature was made for p7Kx2
    forged = landing._replace(query=urlencode(query)).geturl()

    stats = stats_of(chromium(forged, profile=tmp_path / "profile", budget_ms=8000))

    h5 = list(Event.objects.filter(source="h5"))
    assert stats["accepted"] == 3
    assert len(h5) >= 3  # and page_leave, as the page closes
    assert {(e.placement_id, e.campaign_id) for e in h5} == {(None, None)}
    assert {e.properties["handover_status"] for e in h5} == {"forged"}


def test_the_key_used_from_another_origin_is_refused(live_server, campaign, poster, h5_key, h5_site, tmp_path):
    # The same site reached as localhost is another origin. A second client key allows it, so
    # the browser's preflight (which carries no key) passes and the POST itself reaches the
    # server with the H5 key, which does not allow that origin.
    port = h5_site.server_address[1]
    IngestKey.generate(name="Other pages", source="h5_other", kind="client", origins=[f"http://localhost:{port}"])

    stats = stats_of(chromium(f"http://localhost:{port}/landing/cny", profile=tmp_path / "profile", budget_ms=8000))

    assert not Event.objects.filter(source="h5").exists()
    assert stats["accepted"] == 0 and stats["queued"] == 3  # kept in the page, not counted as sent
    kept = list(RejectedRow.objects.order_by("id"))  # the batch, then perhaps page_leave as the page closed
    assert {(row.reason, row.ingest_key_id) for row in kept} == {("forbidden", h5_key.pk)}
    assert f"this request came from http://localhost:{port}" in kept[0].errors["origin"]
    assert {row["event_name"] for row in json.loads(kept[0].raw)} == {"session_start", "page_view", "add_to_cart"}


def test_an_origin_no_key_allows_does_not_get_past_the_preflight(live_server, poster, h5_key, h5_site, tmp_path):
    port = h5_site.server_address[1]

    stats = stats_of(chromium(f"http://localhost:{port}/landing/cny", profile=tmp_path / "profile", budget_ms=8000))

    assert (stats["accepted"], stats["queued"]) == (0, 3)
    assert not Event.objects.filter(source="h5").exists()
    assert not RejectedRow.objects.exists()  # the browser never sent the events
