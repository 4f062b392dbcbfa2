"""A small client for the WeChat server API calls campaigns needs (WECHAT.md §1, §3.1, §5):
Official Account parametric QR codes, Mini Program codes, and the access token they need.

The access token comes from `stable_token` (normal mode, so concurrent callers never
invalidate each other's token), is cached on the WeChatApp row and refreshed at least
REFRESH_MARGIN before it expires. Only one process refreshes at a time: the refresh runs
while holding the app row's lock (SELECT … FOR UPDATE), and whoever waited on the lock
re-reads the row and uses the token just fetched. That is the one place we call WeChat
inside a transaction, deliberately: the lock is what makes the refresh single-flight, and
it covers one row for at most one HTTP timeout.
"""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import WeChatApp

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(seconds=300)
# invalid credential / invalid access_token / access_token expired: refresh once and retry.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
DEFAULT_TIMEOUT = 10.0


class WeChatAPIError(Exception):
    """WeChat refused a call (errcode/errmsg as WeChat sent them) or could not be reached
    (errcode None)."""

    def __init__(self, endpoint: str, errcode: int | None, errmsg: str):
        self.endpoint = endpoint
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.errcode is None:
            return f"WeChat {self.endpoint} could not be reached: {self.errmsg}"
        return f"WeChat {self.endpoint} answered errcode {self.errcode}: {self.errmsg}"


@dataclass(frozen=True)
class QRTicket:
    ticket: str
    url: str
    expire_seconds: int | None


def _send(endpoint: str, payload: dict, *, query: dict | None, timeout: float) -> tuple[str, bytes]:
    """POST JSON; return the answer's content type and body."""
    url = f"{settings.WECHAT_API_BASE}{endpoint}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(  # noqa: S310 (the base URL is ours, from settings)
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        raise WeChatAPIError(endpoint, None, f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise WeChatAPIError(endpoint, None, str(getattr(exc, "reason", exc))) from exc


def _json(endpoint: str, body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WeChatAPIError(endpoint, None, "the answer was not JSON") from exc
    if not isinstance(data, dict):
        raise WeChatAPIError(endpoint, None, "the answer was not a JSON object")
    errcode = data.get("errcode") or 0
    if errcode:
        raise WeChatAPIError(endpoint, int(errcode), str(data.get("errmsg", "")))
    return data


def _post(endpoint: str, payload: dict, *, query: dict | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
    _, body = _send(endpoint, payload, query=query, timeout=timeout)
    return _json(endpoint, body)


def _post_for_image(endpoint: str, payload: dict, *, query: dict, timeout: float) -> bytes:
    """For APIs that answer image bytes on success and JSON {errcode, errmsg} on failure."""
    content_type, body = _send(endpoint, payload, query=query, timeout=timeout)
    if content_type.startswith("image/"):
        return body
    _json(endpoint, body)  # raises with WeChat's errcode
    raise WeChatAPIError(endpoint, None, f"expected an image, got {content_type or 'no content type'}")


class WeChatClient:
    """Calls for one WeChat app. Create one per task or request; it holds no state but the app."""

    def __init__(self, app: WeChatApp, *, timeout: float = DEFAULT_TIMEOUT):
        if not app.has_api_credentials:
            raise WeChatAPIError("credentials", None, f"the app {app} has no AppSecret")
        self.app = app
        self.timeout = timeout

    # --- access token -----------------------------------------------------------------

    def _token_is_fresh(self, app: WeChatApp) -> bool:
        return bool(
            app.access_token
            and app.access_token_expires_at
            and app.access_token_expires_at - timezone.now() > REFRESH_MARGIN
        )

    def access_token(self, *, stale: str = "") -> str:
        """A token valid for at least REFRESH_MARGIN. `stale` is a token WeChat just rejected:
        it is not returned again even if the row still says it is fresh."""
        if self._token_is_fresh(self.app) and self.app.access_token != stale:
            return self.app.access_token
        with transaction.atomic():
            app = WeChatApp.objects.select_for_update().get(pk=self.app.pk)
            if self._token_is_fresh(app) and app.access_token != stale:
                self.app = app  # another process refreshed while we waited for the lock
                return app.access_token
            data = _post(
                "/cgi-bin/stable_token",
                {"grant_type": "client_credential", "appid": app.appid, "secret": app.secret, "force_refresh": False},
                timeout=self.timeout,
            )
            try:
                app.access_token = str(data["access_token"])
                expires_in = int(data["expires_in"])
            except (KeyError, TypeError, ValueError) as exc:
                raise WeChatAPIError("/cgi-bin/stable_token", None, "no access_token/expires_in in the answer") from exc
            app.access_token_expires_at = timezone.now() + timedelta(seconds=expires_in)
            app.save(update_fields=["access_token", "access_token_expires_at"])
            logger.info("wechat: refreshed access token for %s (expires in %ss)", app.appid, expires_in)
        self.app = app
        return app.access_token

    def call(self, endpoint: str, payload: dict) -> dict:
        """POST with the access token; on a token error refresh once and retry once."""
        return self._with_token(_post, endpoint, payload)

    def _with_token(self, send, endpoint: str, payload: dict):
        token = self.access_token()
        try:
            return send(endpoint, payload, query={"access_token": token}, timeout=self.timeout)
        except WeChatAPIError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            logger.warning("wechat: %s rejected the token (%s); refreshing once", endpoint, exc.errcode)
        token = self.access_token(stale=token)
        return send(endpoint, payload, query={"access_token": token}, timeout=self.timeout)

    # --- Official Account parametric QR codes -------------------------------------------

    def create_qrcode(self, *, scene: str, permanent: bool, expire_seconds: int | None = None) -> QRTicket:
        """`QR_LIMIT_STR_SCENE` (permanent) or `QR_STR_SCENE` (temporary, ≤ 30 days)."""
        payload: dict = {"action_info": {"scene": {"scene_str": scene}}}
        if permanent:
            payload["action_name"] = "QR_LIMIT_STR_SCENE"
        else:
            payload["action_name"] = "QR_STR_SCENE"
            # Always sent: without it WeChat expires the code within a minute.
            payload["expire_seconds"] = expire_seconds
        data = self.call("/cgi-bin/qrcode/create", payload)
        try:
            return QRTicket(
                ticket=str(data["ticket"]),
                url=str(data["url"]),
                expire_seconds=int(data["expire_seconds"]) if data.get("expire_seconds") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeChatAPIError("/cgi-bin/qrcode/create", None, "no ticket/url in the answer") from exc

    # --- Mini Program codes ---------------------------------------------------------------

    def get_unlimited_wxacode(
        self, *, scene: str, page: str = "", env_version: str = "release", check_path: bool = False, width: int = 430
    ) -> bytes:
        """A Mini Program code image for `scene` (getwxacodeunlimit: no quota, never expires).

        `env_version` picks the version a scan opens (release, trial, develop). With
        `check_path` off a code can be printed before its page is published. `page` must
        already be in WeChat's form (campaigns.models.validate_mp_page).
        """
        payload: dict = {"scene": scene, "check_path": check_path, "env_version": env_version, "width": width}
        if page:
            payload["page"] = page
        return self._with_token(_post_for_image, "/wxa/getwxacodeunlimit", payload)
