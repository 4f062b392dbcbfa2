"""`POST /api/v1/identify`: tell us two ids are one person (docs/wechat.md "Identity").

Authenticated with an ingest key and limited exactly like `POST /api/v1/events` (same
check, events.ingest.keys; same budgets, events.ingest.ratelimit). Thin: check the key →
count the request → validate → `identity.link` (server key) or `identity.claim` (client
key: it ships inside the Mini Program, so what it says is a claim) → answer.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from events import identity
from events.ingest.keys import KeyRejected, authenticate, mark_used
from events.ingest.origins import allow_origin, origin_refusal, preflight
from events.ingest.ratelimit import RateLimited, check_ingest_rate, device_of
from wxanalytics.localize import localize_error
from wxanalytics.security import client_address


class IdentifyInput(serializers.Serializer):
    user_id = serializers.CharField(max_length=identity.MAX_ID_LENGTH, help_text=_("An id events are sent with."))
    alias = serializers.CharField(
        max_length=identity.MAX_ID_LENGTH, required=False, help_text=_("Another id of the same person.")
    )
    unionid = serializers.CharField(
        max_length=identity.MAX_ID_LENGTH, required=False, help_text=_("The person's WeChat unionid.")
    )
    app_id = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("alias" in attrs) == ("unionid" in attrs):
            raise serializers.ValidationError(_("Send exactly one of alias or unionid."))
        if attrs.get("alias") == attrs["user_id"]:
            raise serializers.ValidationError({"alias": _("must differ from user_id.")})
        return attrs


class IdentifyOutput(serializers.Serializer):
    user_id = serializers.CharField()
    person_id = serializers.CharField(help_text=_("What reports now count this id as."))
    moved = serializers.IntegerField(help_text=_("Ids that changed person because two people were merged."))
    created = serializers.IntegerField(help_text=_("Ids seen for the first time."))


_error_doc = inline_serializer("IdentifyError", {"error": serializers.CharField()})


class IdentifyView(APIView):
    # The ingest key is the authentication; no session, so no CSRF.
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="identify",
        summary="Link two ids of one person (alias or unionid)",
        request=IdentifyInput,
        responses={
            200: IdentifyOutput,
            400: OpenApiResponse(description=_("Invalid body: field → errors.")),
            401: OpenApiResponse(_error_doc, description=_("Missing, unknown or revoked ingest key.")),
            403: OpenApiResponse(_error_doc, description=_("A client key used from a web origin it does not allow.")),
            422: OpenApiResponse(
                _error_doc,
                description=_(
                    "A client key's claim that would merge two known people or move an id that has a "
                    "unionid; only a server key may."
                ),
            ),
            429: OpenApiResponse(
                _error_doc, description=_("Too many requests, as for the event API; see Retry-After.")
            ),
        },
        tags=["events"],
    )
    def post(self, request):
        try:
            key = authenticate(request.META.get("HTTP_AUTHORIZATION"))
        except KeyRejected as exc:
            return Response(
                {"error": localize_error(str(exc))}, status=401, headers={"WWW-Authenticate": 'Bearer realm="events"'}
            )
        return allow_origin(self.identify(request, key), key, request)

    def identify(self, request, key) -> Response:
        try:
            check_ingest_rate(key, device=device_of(request.META), address=client_address(request))
        except RateLimited as exc:
            return Response({"error": str(exc)}, status=429, headers={"Retry-After": str(exc.retry_after)})
        if refusal := origin_refusal(key, request):
            return Response({"error": localize_error(refusal)}, status=403)
        data = IdentifyInput(data=request.data)
        if not data.is_valid():  # answered here, not raised, so the answer gets the CORS headers
            return Response(data.errors, status=400)
        fields = data.validated_data
        apply = identity.claim if key.is_client else identity.link
        try:
            result = apply(
                fields["user_id"], alias=fields.get("alias"), unionid=fields.get("unionid"), app_id=fields["app_id"]
            )
        except identity.ClaimRefused as exc:
            return Response({"error": localize_error(str(exc))}, status=422)
        except identity.IdentityError as exc:
            return Response({"error": localize_error(str(exc))}, status=400)
        mark_used(key)
        output = {"user_id": fields["user_id"], "person_id": result.person_id, "moved": result.moved}
        return Response(IdentifyOutput({**output, "created": result.created}).data)

    def options(self, request, *args, **kwargs):
        # A browser's CORS preflight, answered as for the event API (events.ingest.origins).
        return preflight(request) or super().options(request, *args, **kwargs)
