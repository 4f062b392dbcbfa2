"""HTTP adapters for WeChat's callbacks. Thin: check, call push/pay, answer in the form
WeChat expects. Nothing here answers 500: unsigned or stale requests get 403, bad input a
precise 4xx (a push signed by WeChat but unreadable is kept and acknowledged instead, so
WeChat stops retrying), a database outage 503 (WeChat retries later)."""

import logging
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.models import WeChatApp
from events.models import PayMerchant

from . import pay, push
from .signature import check_signature, is_fresh

logger = logging.getLogger(__name__)


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it is larger than `limit` bytes."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= limit else None


@csrf_exempt
@require_http_methods(["GET", "POST"])
def official_account_push(request: HttpRequest, appid: str) -> HttpResponse:
    """`/wechat/<appid>/`: the URL pasted into the Official Account console."""
    app = WeChatApp.objects.filter(appid=appid).first()
    if app is None:
        return _text("Unknown appid: add the app in admin or with manage.py add_wechat_app.", 404)
    query = request.GET
    if not check_signature(
        token=app.token,
        timestamp=query.get("timestamp", ""),
        nonce=query.get("nonce", ""),
        signature=query.get("signature", ""),
    ):
        return _text("Signature does not match this app's token.", 403)
    max_age = settings.WECHAT_PUSH_MAX_AGE_SECONDS
    if not is_fresh(query.get("timestamp", ""), now=time.time(), max_age=max_age):
        logger.warning("Refused a push for %s: its signed timestamp is outside ±%s s", app.appid, max_age)
        return _text(f"timestamp is more than {max_age} seconds away from our clock; refused as a replay.", 403)
    if request.method == "GET":
        # The console's URL check: echo echostr exactly as sent.
        return _text(query.get("echostr", ""))

    body = _read_body(request, push.MAX_BODY_BYTES)
    if body is None:
        return _text(f"Body larger than {push.MAX_BODY_BYTES // 1024} KB.", 413)
    push_query = push.PushQuery(
        timestamp=query.get("timestamp", ""),
        nonce=query.get("nonce", ""),
        encrypt_type=query.get("encrypt_type", ""),
        msg_signature=query.get("msg_signature", ""),
    )
    # Safe mode expects an encrypted reply or nothing; "success" is for plaintext mode.
    received = _text("" if push_query.encrypted else "success")
    try:
        message = push.open_envelope(push.parse_body(body), app=app, query=push_query)
        push.store_push(push.rows_from_message(message, app=app), app=app)
    except push.PushRejected as exc:
        if exc.status == 403:  # msg_signature wrong: not WeChat's, nothing to keep
            return _text(str(exc), exc.status)
        try:
            push.keep_rejected_push(body=body, error=exc, app=app)
        except DatabaseError:
            logger.exception("Could not keep a rejected push for %s", app.appid)
            return _text("Temporarily unavailable; WeChat will retry.", 503)
        # Signed by WeChat but unreadable: it is kept for replay, and any answer other than
        # "success" makes WeChat retry (three times, all kept once) and then show the
        # follower "该公众号暂时无法提供服务".
        logger.warning("Kept an unreadable push for %s as a rejected row: %s", app.appid, exc)
        return received
    except DatabaseError:
        logger.exception("Database unavailable while storing a push for %s", app.appid)
        return _text("Temporarily unavailable; WeChat will retry.", 503)
    return received


def _pay_failure(message: str, status: int) -> JsonResponse:
    return JsonResponse({"code": "FAIL", "message": message}, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def pay_notify(request: HttpRequest, mchid: str) -> HttpResponse:
    """`/wechat/pay/<mchid>/notify/`: the notify_url given when placing orders."""
    merchant = PayMerchant.objects.filter(mchid=mchid, is_active=True).first()
    if merchant is None:
        return _pay_failure("Unknown or inactive merchant.", 404)
    body = _read_body(request, pay.MAX_BODY_BYTES)
    if body is None:
        return _pay_failure(f"Body larger than {pay.MAX_BODY_BYTES // 1024} KB.", 413)
    headers = {name: request.headers.get(name, "") for name in pay.SIGNATURE_HEADERS}
    try:
        pay.verify_signature(merchant=merchant, headers=headers, body=body)
        notification = pay.parse_notification(merchant=merchant, body=body)
        pay.store_notification(pay.rows_from_notification(notification, merchant=merchant))
    except pay.PayNotificationError as exc:
        if exc.keep:
            try:
                pay.keep_rejected_notification(body=body, error=exc, mchid=mchid)
            except DatabaseError:
                logger.exception("Could not keep a rejected Pay notification for %s", mchid)
        return _pay_failure(str(exc), exc.status)
    except DatabaseError:
        logger.exception("Database unavailable while storing a Pay notification for %s", mchid)
        return _pay_failure("Temporarily unavailable; retry later.", 503)
    return HttpResponse(status=204)
