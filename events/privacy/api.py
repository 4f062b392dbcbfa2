"""`POST /api/v1/people/export` and `POST /api/v1/people/erase` (docs/privacy.md).

Both take the id in the JSON body, not the URL: ids in query strings end up in access
logs, which would keep the very data an erasure removes. Thin: validate → look up →
one service call → answer.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from events.identity import MAX_ID_LENGTH, IdentityError
from events.privacy import ERASE_PERMISSION, EXPORT_PERMISSION
from events.privacy.erase import erase_person
from events.privacy.export import export_response
from events.privacy.lookup import find_person
from wxanalytics.permissions import has_permission


class PersonInput(serializers.Serializer):
    id = serializers.CharField(
        max_length=MAX_ID_LENGTH, help_text=_("Any id of the person: openid, unionid, alias or user_id.")
    )


class ErasureInput(PersonInput):
    note = serializers.CharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text=_("Request reference; never the person's ids."),
    )


class ErasureOutput(serializers.Serializer):
    erasure_id = serializers.IntegerField(source="pk")
    erased_at = serializers.DateTimeField()
    events = serializers.IntegerField()
    event_keys = serializers.IntegerField()
    identities = serializers.IntegerField()
    rejected_rows = serializers.IntegerField()
    unionid_lookups = serializers.IntegerField()
    stale_snapshots = serializers.IntegerField()


class PersonExportView(APIView):
    permission_classes = [has_permission(EXPORT_PERMISSION, "Exporting a person needs the analyst role.")]

    @extend_schema(
        operation_id="people_export",
        summary="Export everything that mentions a person (one JSON document)",
        request=PersonInput,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=_("The export document, streamed."))},
        tags=["privacy"],
    )
    def post(self, request):
        data = PersonInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            person = find_person(data.validated_data["id"])
        except IdentityError as exc:
            return Response({"id": [str(exc)]}, status=400)
        return export_response(person, user=request.user)


class PersonErasureView(APIView):
    permission_classes = [has_permission(ERASE_PERMISSION, "Erasing a person needs the analyst role.")]

    @extend_schema(
        operation_id="people_erase",
        summary="Erase everything that mentions a person",
        request=ErasureInput,
        responses={200: ErasureOutput, 400: OpenApiResponse(description=_("Invalid id."))},
        tags=["privacy"],
    )
    def post(self, request):
        data = ErasureInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            record = erase_person(
                data.validated_data["id"], requested_by=request.user, note=data.validated_data["note"]
            )
        except IdentityError as exc:
            return Response({"id": [str(exc)]}, status=400)
        return Response(ErasureOutput(record).data)
