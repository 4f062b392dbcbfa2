"""`POST /api/v1/imports/<kind>`: a CSV file, a datacube JSON answer or an .xlsx workbook as
the body, or as the `file` field of a multipart form; answers what the import did. Needs the
table's add permission."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from wxanalytics.localize import localize_error, localize_errors

from .csvstream import ImportFormatError
from .services import UnknownImportKind, get_spec, import_csv
from .specs import SPECS

FILE_WIDE_PARAMETERS = ("app_id", "date")


class CSVStreamParser(BaseParser):
    """Hands the request body over as a stream, so a large CSV is read block by block."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"file": stream}


class DatacubeJSONParser(CSVStreamParser):
    """A datacube answer posted as it came from WeChat; the import reads it, not DRF."""

    media_type = "application/json"


class WorkbookParser(CSVStreamParser):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RejectedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("Line number in the file (the header is line 1)."))
    errors = serializers.DictField(child=serializers.CharField(), help_text=_("Column → why."))


class ImportSummarySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(SPECS))
    rows = serializers.IntegerField(help_text=_("Data rows read."))
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text=_("Rows that replaced an existing row with the same natural key."))
    rejected = serializers.IntegerField()
    rejected_lines = RejectedLineSerializer(many=True, help_text=_("The first 200 bad lines; all are kept."))
    ignored_columns = serializers.ListField(child=serializers.CharField())
    unmatched = serializers.ListField(child=serializers.CharField(), help_text=_("See unmatched_label."))
    unmatched_label = serializers.CharField()


class ImportErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ImportView(APIView):
    parser_classes = [CSVStreamParser, DatacubeJSONParser, WorkbookParser, MultiPartParser]

    def get_queryset(self):
        # The default ModelPermissions reads the model from here: POST needs its add permission.
        try:
            return get_spec(self.kwargs["kind"]).model.objects.none()
        except UnknownImportKind as exc:
            raise Http404(str(exc)) from None

    @extend_schema(
        operation_id="imports_create",
        summary="Import a CSV file of ad spend or WeChat statistics",
        description=(
            _(
                "Send the file as the request body (`Content-Type: text/csv`; a datacube answer as WeChat returned it "
                "with `application/json`; an Excel download with the .xlsx media type) or as the `file` field of a "
                "multipart form. Rows are upserted on the kind's natural key: importing the same file again "
                "replaces rows and never doubles them. Bad rows are reported by line number and kept as "
                "rejected rows. Column names and aliases: docs/imports.md."
            )
        ),
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(SPECS)),
            OpenApiParameter(
                "app_id",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=False,
                description=_("App ID for every row, when the file has no app_id column (not for ad_spend)."),
            ),
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                required=False,
                description=_(
                    "Day for every row without one (mp_page_stats only: getVisitPage gives ref_date once "
                    "for the whole answer)."
                ),
            ),
        ],
        request={
            "text/csv": OpenApiTypes.BINARY,
            "application/json": OpenApiTypes.OBJECT,
            "multipart/form-data": inline_serializer("ImportUpload", fields={"file": serializers.FileField()}),
        },
        responses={
            200: ImportSummarySerializer,
            400: OpenApiResponse(ImportErrorSerializer, description=_("The file as a whole cannot be read.")),
            404: OpenApiResponse(ImportErrorSerializer, description=_("Unknown kind.")),
        },
        tags=["imports"],
    )
    def post(self, request, kind: str):
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is None or not hasattr(upload, "read"):  # a multipart text field is not a file
            raise ParseError(
                _(
                    "Send the file as a text/csv, application/json or .xlsx body, or as the 'file' field of a multipart form."
                )
            )
        defaults = {name: request.query_params.get(name, "") for name in FILE_WIDE_PARAMETERS}
        try:
            summary = import_csv(kind, upload, defaults=defaults)
        except ImportFormatError as exc:
            return Response({"detail": localize_error(str(exc))}, status=status.HTTP_400_BAD_REQUEST)
        answer = summary.as_dict()
        for line in answer["rejected_lines"]:
            line["errors"] = localize_errors(line["errors"])
        return Response(ImportSummarySerializer(answer).data)
