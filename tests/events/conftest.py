import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest


@pytest.fixture
def ingest_key(db):
    """(IngestKey, raw key): a server key (it may send anything) with source mini_program."""
    from events.models import IngestKey

    return IngestKey.generate(name="Mini Program backend", source="mini_program", kind="server")


@pytest.fixture
def client_key(db):
    """(IngestKey, raw key): the Mini Program's client key, public by nature."""
    from events.models import IngestKey

    return IngestKey.generate(name="Mini Program", source="mini_program", kind="client")


@pytest.fixture
def post_as_client(client, client_key):
    """POST a body to the event API with the client key, from a given address and device."""

    def post(body, content_type="application/json", *, address="203.0.113.7", device="", **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {client_key[1]}")
        headers.setdefault("REMOTE_ADDR", address)
        if device:
            headers["HTTP_X_WXA_DEVICE"] = device
        data = body.encode() if isinstance(body, str) else body
        return client.generic("POST", "/api/v1/events", data, content_type=content_type, **headers)

    return post


@pytest.fixture
def post_events(client, ingest_key):
    """POST a body to the event API with the fixture's key (or the given headers)."""

    def post(body, content_type="application/json", **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {ingest_key[1]}")
        data = body.encode() if isinstance(body, str) else body
        return client.generic("POST", "/api/v1/events", data, content_type=content_type, **headers)

    return post


@pytest.fixture(autouse=True)
def _forget_what_this_process_remembers():
    """Each test starts with no ingest key or short link remembered by this process."""
    from events.ingest.keys import forget_keys
    from events.ingest.origins import forget_origins
    from events.ingest.trust import forget_policy
    from events.shortlinks import _recent_links

    forget_keys()
    forget_policy()
    forget_origins()
    _recent_links.clear()
    yield
    forget_keys()
    forget_policy()
    forget_origins()
    _recent_links.clear()


class FakeUserInfo(BaseHTTPRequestHandler):
    unionids: ClassVar[dict[str, str]] = {}
    batches: ClassVar[list[list[str]]] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        url = urlparse(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if url.path == "/cgi-bin/stable_token":
            answer = {"access_token": "token-1", "expires_in": 7200}
        elif url.path == "/cgi-bin/user/info/batchget" and parse_qs(url.query).get("access_token") == ["token-1"]:
            openids = [user["openid"] for user in body["user_list"]]
            self.batches.append(openids)
            answer = {
                "user_info_list": [
                    {"subscribe": 1, "openid": o, **({"unionid": self.unionids[o]} if o in self.unionids else {})}
                    for o in openids
                ]
            }
        else:
            answer = {"errcode": 40001, "errmsg": "invalid credential"}
        raw = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def fake_userinfo(settings):
    """A fake WeChat user-info API on localhost (unionids of followers); `.unionids` to
    set what it knows, `.batches` for what it was asked."""
    FakeUserInfo.unionids, FakeUserInfo.batches = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeUserInfo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    yield FakeUserInfo
    server.shutdown()
    server.server_close()


@pytest.fixture
def oa_with_secret(db):
    from campaigns.models import WeChatApp

    return WeChatApp.objects.create(appid="wxoa", name="Brand OA", token="tok", secret="s3cret")


@pytest.fixture(scope="module")
def platform_key():
    """WeChat Pay's platform key pair (the tests sign notifications with it)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
