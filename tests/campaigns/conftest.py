"""Fixtures for the campaigns tests: API clients per role, placements, a fake WeChat server."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.test import APIClient

from campaigns.qrcodes import render_png


@pytest.fixture
def api_client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def make_placement(campaign):
    from campaigns.models import Placement
    from campaigns.services import placement_create

    def make(name: str = "Store 001 counter", **fields) -> Placement:
        fields.setdefault("campaign", campaign)
        return placement_create(Placement(name=name, **fields))

    return make


@dataclass
class FakeWeChat:
    """A local stand-in for api.weixin.qq.com speaking the documented JSON.

    `qr_errors` is a list of errcodes the next /cgi-bin/qrcode/create calls answer with
    (one per call); tokens are "token-1", "token-2", … and only the newest is accepted.
    """

    base_url: str = ""
    expires_in: int = 7200
    qr_errors: list[int] = field(default_factory=list)
    token_errors: list[int] = field(default_factory=list)
    calls: list[tuple[str, dict, dict]] = field(default_factory=list)
    tokens_issued: int = 0

    @property
    def current_token(self) -> str:
        return f"token-{self.tokens_issued}"

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.calls]


ERRMSG = {
    41030: "invalid page",
    40001: "invalid credential",
    40014: "invalid access_token",
    42001: "access_token expired",
    40053: "invalid action info",
}


def _handler(fake: FakeWeChat):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _answer(self, body: dict) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; encoding=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            fake.calls.append((url.path, query, body))
            if url.path == "/cgi-bin/stable_token":
                if fake.token_errors:
                    code = fake.token_errors.pop(0)
                    return self._answer({"errcode": code, "errmsg": ERRMSG.get(code, "error")})
                fake.tokens_issued += 1
                return self._answer({"access_token": fake.current_token, "expires_in": fake.expires_in})
            if url.path == "/cgi-bin/qrcode/create":
                if query.get("access_token") != fake.current_token:
                    return self._answer({"errcode": 42001, "errmsg": ERRMSG[42001]})
                if fake.qr_errors:
                    code = fake.qr_errors.pop(0)
                    return self._answer({"errcode": code, "errmsg": ERRMSG.get(code, "error")})
                scene = body["action_info"]["scene"]["scene_str"]
                answer = {"ticket": f"gQ-{scene}", "url": f"http://weixin.qq.com/q/fake-{scene}"}
                if body["action_name"] == "QR_STR_SCENE":
                    answer["expire_seconds"] = body["expire_seconds"]
                return self._answer(answer)
            if url.path == "/wxa/getwxacodeunlimit":
                if query.get("access_token") != fake.current_token:
                    return self._answer({"errcode": 42001, "errmsg": ERRMSG[42001]})
                if fake.qr_errors:
                    code = fake.qr_errors.pop(0)
                    return self._answer({"errcode": code, "errmsg": ERRMSG.get(code, "error")})
                # A real QR drawing of "mp:<scene>" stands in for the round Mini Program code.
                image = render_png(f"mp:{body['scene']}")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)
                return None
            self.send_error(404)
            return None

    return Handler


@pytest.fixture
def fake_wechat(settings):
    fake = FakeWeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.WECHAT_API_BASE = fake.base_url
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def oa_app(db):
    from campaigns.models import WeChatApp

    return WeChatApp.objects.create(
        appid="wx0123456789abcdef", name="Brand OA", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT, secret="s3cret-value"
    )


@pytest.fixture
def mp_app(db):
    from campaigns.models import WeChatApp

    return WeChatApp.objects.create(
        appid="wxminiprogram0001", name="Brand MP", kind=WeChatApp.Kind.MINI_PROGRAM, secret="mp-secret"
    )


@pytest.fixture
def media_storage(settings, tmp_path):
    """Stored files (Mini Program code images) go to a temporary folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path
