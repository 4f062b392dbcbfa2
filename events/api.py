"""`POST /api/v1/events`: the event API (docs/ingest.md).

Thin on purpose: read the body within the limits → check the key (and, for a client key
used from a web page, its origin: events.ingest.origins) → parse → one
`ingest_rows` call → answer. No serializer per event; the serializers below only describe
the API in the OpenAPI schema.
"""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from events.ingest import ingest_rows
from events.ingest.keys import KeyRejected, authenticate, mark_used
from events.ingest.origins import allow_origin, origin_refusal, preflight
from events.ingest.parse import CSV_TYPES, LIMITS, MAX_BYTES, BodyError, check_declared_length, media_type, parse_body
from events.ingest.ratelimit import RateLimited, check_ingest_rate, device_of
from events.models import RejectedRow
from wxanalytics.localize import localize_error, localize_errors
from wxanalytics.security import client_address
from wxanalytics.text import storable_text

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30

_event_doc = inline_serializer(
    "IngestEvent",
    {
        "event_name": serializers.CharField(
            help_text=_("Lower snake case after normalisation (API_error → api_error).")
        ),
        "user_id": serializers.CharField(help_text=_("openid, unionid or your own id.")),
        "ts": serializers.DateTimeField(help_text=_("ISO 8601 with a zone, e.g. 2025-11-01T10:15:23Z.")),
        "session_id": serializers.CharField(required=False),
        "source": serializers.CharField(required=False, help_text=_("Traffic source; empty → the key's source.")),
        "campaign": serializers.CharField(required=False, help_text=_("Campaign code, case-sensitive.")),
        "page": serializers.CharField(required=False),
        "value": serializers.DecimalField(max_digits=14, decimal_places=2, required=False),
        "currency": serializers.CharField(required=False, help_text=_("ISO 4217; CNY when a value is given.")),
        "event_id": serializers.CharField(required=False, help_text=_("Your id; dedupes retries.")),
        "properties": serializers.DictField(required=False),
        "placement_scene": serializers.CharField(required=False),
        "app_id": serializers.CharField(required=False),
    },
)
_answer_doc = inline_serializer(
    "IngestAnswer",
    {
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "conflicts": serializers.IntegerField(),
        "rejected": inline_serializer(
            "IngestRejectedRow",
            {
                "index": serializers.IntegerField(help_text=_("0-based position in the batch (CSV: line − 2).")),
                "reason": serializers.ChoiceField(choices=["invalid", "conflict", "forbidden"]),
                "errors": serializers.DictField(child=serializers.CharField(), help_text=_("field → why")),
            },
            many=True,
        ),
    },
)
_error_doc = inline_serializer("IngestError", {"error": serializers.CharField()})


def _error(status: int, message: str, **headers) -> JsonResponse:
    # Body and origin errors are kept in English with the body; the answer is in the
    # request's language (docs/i18n.md, "Ingest errors").
    return JsonResponse({"error": localize_error(message)}, status=status, headers=headers or None)


class EventIngestView(APIView):
    # The ingest key is the authentication; no session, so no CSRF.
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="events_ingest",
        summary="Send events (one object, an array, or CSV)",
        description=(
            f"Authenticate with `Authorization: Bearer <ingest key>`. Limits: {LIMITS}. "
            "Good rows are stored even when others are rejected; rejected rows are kept for replay. "
            "Re-sending a batch changes nothing (dedupe by event_id, else by content)."
        ),
        request={
            "application/json": _event_doc,
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OpenApiResponse(_answer_doc, description=_("The batch was processed; see rejected.")),
            400: OpenApiResponse(_error_doc, description=_("Invalid JSON, UTF-8 or CSV.")),
            401: OpenApiResponse(_error_doc, description=_("Missing, unknown or revoked key.")),
            403: OpenApiResponse(
                _error_doc,
                description=_("A client key used from a web origin it does not allow; the body is kept for replay."),
            ),
            413: OpenApiResponse(_error_doc, description=_("Too many events or bytes.")),
            415: OpenApiResponse(_error_doc, description=_("Not JSON or CSV.")),
            429: OpenApiResponse(
                _error_doc,
                description=_(
                    "Too many requests (server key: per key; client key: per device and address); "
                    "retry after Retry-After."
                ),
            ),
            503: OpenApiResponse(_error_doc, description=_("Database unavailable; retry after Retry-After seconds.")),
        },
        examples=[
            OpenApiExample(
                "Seed row",
                value={
                    "event_name": "pay_success",
                    "user_id": "a1b2c3",
                    "session_id": "s-001",
                    "source": "wechat_ad",
                    "campaign": "23Q4-Sale",
                    "page": "checkout",
                    "value": "199.00",
                    "currency": "CNY",
                    "ts": "2025-11-01T10:15:23Z",
                },
                request_only=True,
            ),
        ],
        tags=["events"],
    )
    def post(self, request):
        return self.ingest(request._request)

    def dispatch(self, request, *args, **kwargs):
        # A POST skips DRF's request wrapping, content negotiation and rendering (about
        # 0.1 ms of a single event's ~1 ms): the answer is always JSON. A browser's CORS
        # preflight is answered for client keys' origins (events.ingest.origins). DRF still
        # serves the other methods (405, OPTIONS without Origin) and documents post().
        if request.method == "POST":
            return self.ingest(request)
        if request.method == "OPTIONS" and (answer := preflight(request)) is not None:
            return answer
        return super().dispatch(request, *args, **kwargs)

    def ingest(self, http: HttpRequest) -> JsonResponse:
        try:
            return self._ingest(http)
        except (OperationalError, InterfaceError):
            logger.warning("event ingest: database unavailable", exc_info=True)
            return _error(
                503,
                gettext("The database is unavailable; nothing was stored. Retry in %(seconds)s s.")
                % {"seconds": RETRY_AFTER_SECONDS},
                **{"Retry-After": str(RETRY_AFTER_SECONDS)},
            )

    def _ingest(self, http: HttpRequest) -> JsonResponse:
        try:
            check_declared_length(http.META.get("CONTENT_LENGTH"))
        except BodyError as exc:
            return _error(exc.status, exc.message)
        try:
            key = authenticate(http.META.get("HTTP_AUTHORIZATION"))
        except KeyRejected as exc:
            return _error(401, str(exc), **{"WWW-Authenticate": 'Bearer realm="events"'})
        return allow_origin(self._ingest_with(key, http), key, http)

    def _ingest_with(self, key, http: HttpRequest) -> JsonResponse:
        try:
            check_ingest_rate(key, device=device_of(http.META), address=client_address(http))
        except RateLimited as exc:
            return _error(429, str(exc), **{"Retry-After": str(exc.retry_after)})
        if refusal := origin_refusal(key, http):
            # Kept like every refused body sent with a valid key: if the page is the team's
            # own (a forgotten origin), an analyst adds the origin and replays it.
            body = http.read(MAX_BYTES + 1)
            _keep_body(body, errors={"origin": refusal}, reason=RejectedRow.Reason.FORBIDDEN, key=key, http=http)
            return _error(403, refusal)
        encoding = http.META.get("HTTP_CONTENT_ENCODING", "identity").strip().lower()
        if encoding not in {"", "identity"}:
            return _error(
                415,
                gettext("Content-Encoding %(encoding)s is not supported; send the body uncompressed.")
                % {"encoding": repr(encoding)},
            )
        # Read the stream ourselves: request.body would stop at DATA_UPLOAD_MAX_MEMORY_SIZE
        # (2.5 MB), and our limit is 5 MB, checked on the bytes actually received.
        body = http.read(MAX_BYTES + 1)
        try:
            channel, rows = parse_body(body, http.META.get("CONTENT_TYPE"))
        except BodyError as exc:
            if exc.keep:
                _keep_body(body, errors={"body": exc.message}, reason=RejectedRow.Reason.INVALID, key=key, http=http)
            return _error(exc.status, exc.message)
        mark_used(key)
        answer = ingest_rows(rows, channel=channel, ingest_key=key).as_dict()
        for rejected in answer["rejected"]:
            rejected["errors"] = localize_errors(rejected["errors"])
        return JsonResponse(answer, status=200)


def _keep_body(body: bytes, *, errors: dict[str, str], reason: str, key, http: HttpRequest) -> None:
    """Nothing sent with a valid key is lost: a body refused as a whole (unreadable, or from
    an origin the key does not allow) is kept as one row for replay, under the channel its
    replay parses it as."""
    channel = "csv" if media_type(http.META.get("CONTENT_TYPE"))[0] in CSV_TYPES else "api"
    try:
        RejectedRow.objects.keep(
            [
                RejectedRow(
                    channel=channel,
                    source=key.source,
                    raw=storable_text(body),
                    errors=errors,
                    reason=reason,
                    ingest_key=key,
                )
            ]
        )
    except DatabaseError:
        logger.warning("event ingest: could not keep an unreadable body", exc_info=True)
