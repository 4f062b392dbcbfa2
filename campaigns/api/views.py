"""The define API: thin views over campaigns.services and campaigns.qrcodes."""

from django.contrib.admin.models import ADDITION, CHANGE
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.functional import lazy
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import bulk, qrcodes, services
from campaigns.api.serializers import (
    BulkErrorSerializer,
    BulkResultSerializer,
    CampaignSerializer,
    CreativeSerializer,
    EventDefinitionSerializer,
    FunnelStageSerializer,
    KPISerializer,
    PlacementSerializer,
)
from campaigns.models import KPI, Campaign, Creative, EventDefinition, FunnelStage, Placement
from wxanalytics.audit import AuditedViewSetMixin, record_change


class KPIViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """Business KPIs (K1). At most three are active; a fourth is refused with a reason."""

    queryset = KPI.objects.select_related("owner")
    serializer_class = KPISerializer
    filterset_fields = ["is_active", "metric_kind", "period", "direction", "owner"]
    search_fields = ["name", "description", "event_name", "second_event_name"]
    ordering_fields = ["name", "created_at"]

    def perform_create(self, serializer):
        serializer.instance = self._save(KPI(), serializer.validated_data)
        record_change(self.request.user, serializer.instance, ADDITION, "Added through the API.")

    def perform_update(self, serializer):
        self._save(serializer.instance, serializer.validated_data)
        changed = ", ".join(sorted(serializer.validated_data)) or "nothing"
        record_change(self.request.user, serializer.instance, CHANGE, f"Changed through the API: {changed}.")

    def _save(self, kpi: KPI, data: dict) -> KPI:
        for name, value in data.items():
            setattr(kpi, name, value)
        try:
            return services.kpi_save(kpi)
        except services.KPILimitExceeded as exc:
            raise serializers.ValidationError({"is_active": [str(exc)]}) from exc


class FunnelStageViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """Funnel stages (K2) with the names of their events."""

    queryset = FunnelStage.objects.prefetch_related("event_definitions")
    serializer_class = FunnelStageSerializer
    filterset_fields = ["name"]
    search_fields = ["name", "description"]
    ordering_fields = ["position", "name"]


class EventDefinitionViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """The tracking plan (K2): event names, category, funnel stage and position."""

    queryset = EventDefinition.objects.select_related("stage")
    serializer_class = EventDefinitionSerializer
    filterset_fields = ["category", "stage", "stage__name"]
    search_fields = ["name", "description", "page_templates"]
    ordering_fields = ["name", "funnel_position"]


class CampaignViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """Campaigns (C1)."""

    queryset = Campaign.objects.annotate(placement_count=Count("placements")).order_by("-created_at", "-pk")
    serializer_class = CampaignSerializer
    filterset_fields = ["status", "owner", "objective_kpi", "code"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "starts_on", "created_at"]


class PlacementViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """Placements (C2): each gets a unique scene and QR code when created."""

    queryset = Placement.objects.select_related("campaign", "wechat_app")
    serializer_class = PlacementSerializer
    filterset_fields = ["campaign", "campaign__code", "kind", "qr_kind", "wechat_app", "scene"]
    search_fields = ["name", "scene", "campaign__code", "campaign__name"]
    ordering_fields = ["name", "created_at", "qr_expires_at"]

    def perform_create(self, serializer):
        serializer.instance = services.placement_create(Placement(**serializer.validated_data))
        record_change(self.request.user, serializer.instance, ADDITION, "Added through the API.")

    def perform_update(self, serializer):
        placement = serializer.instance
        changed = {name for name, value in serializer.validated_data.items() if getattr(placement, name) != value}
        for name, value in serializer.validated_data.items():
            setattr(placement, name, value)
        services.placement_update(placement, changed=changed)
        summary = ", ".join(sorted(changed)) or "nothing"
        record_change(self.request.user, placement, CHANGE, f"Changed through the API: {summary}.")


class CreativeViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """Ad creatives (C5) with their lander type."""

    queryset = Creative.objects.select_related("campaign")
    serializer_class = CreativeSerializer
    filterset_fields = ["campaign", "campaign__code", "lander_type", "ad_group"]
    search_fields = ["name", "ad_group", "external_id", "campaign__code"]
    ordering_fields = ["name", "created_at"]


def file_response(content: bytes, content_type: str, filename: str, *, attachment: bool) -> HttpResponse:
    """A download; a Chinese file name travels as RFC 6266 `filename*` (UTF-8), with an ASCII fallback."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    warning = qrcodes.loopback_warning()
    if warning:
        # The code inside the file points at this machine: say so where a script will see it.
        response["X-QR-Warning"] = warning.encode("ascii", "replace").decode()
    return response


class PlacementQRView(APIView):
    """The placement's printable QR code, PNG or SVG, with its caption. `?size=1200` (PNG)
    draws the code at least that many pixels wide for print."""

    queryset = Placement.objects.select_related("campaign")

    @extend_schema(
        operation_id="placements_qr",
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["png", "svg"]),
            OpenApiParameter(
                "size",
                int,
                OpenApiParameter.QUERY,
                description=f"PNG width in pixels ({qrcodes.PNG_MIN_SIZE}–{qrcodes.PNG_MAX_SIZE}); 1200+ for print.",
            ),
            OpenApiParameter("download", bool, OpenApiParameter.QUERY, description=_("Send as an attachment.")),
        ],
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description=_("size out of range.")),
            404: OpenApiResponse(description=_("No such placement.")),
        },
    )
    def get(self, request, pk: str, fmt: str):
        placement = get_object_or_404(self.queryset, pk=pk)
        size = _size_parameter(request)
        qr = qrcodes.placement_qr(placement, fmt, size if fmt == "png" else None)
        return file_response(qr.content, qr.content_type, qr.name, attachment=bool(request.GET.get("download")))


def _size_parameter(request) -> int | None:
    raw = request.GET.get("size")
    if raw in (None, ""):
        return None
    try:
        size = int(raw)
        qrcodes.check_png_size(size)
    except ValueError:
        raise serializers.ValidationError(
            {
                "size": [
                    _("size must be a whole number of pixels between %(min)d and %(max)d.")
                    % {"min": qrcodes.PNG_MIN_SIZE, "max": qrcodes.PNG_MAX_SIZE}
                ]
            }
        ) from None
    return size


class PlacementPrintSheetView(APIView):
    """A print sheet: an A4 PDF with six codes per page, each with campaign, placement, scene
    and caption. Choose a campaign (`?campaign=<id or code>`), placements (`?placement=<id>`,
    repeated), or both."""

    queryset = Placement.objects.select_related("campaign")

    @extend_schema(
        operation_id="placements_print_sheet",
        parameters=[
            OpenApiParameter("campaign", str, OpenApiParameter.QUERY, description=_("Campaign id or code.")),
            OpenApiParameter("placement", int, OpenApiParameter.QUERY, many=True, description=_("Placement ids.")),
        ],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description=_("Nothing chosen, nothing found, or too many placements.")),
        },
    )
    def get(self, request):
        campaign = request.GET.get("campaign", "").strip()
        ids = request.GET.getlist("placement")
        if not campaign and not ids:
            raise serializers.ValidationError({"campaign": [_("Choose a campaign or one or more placements.")]})
        placements = self.queryset.order_by("campaign__code", "name", "pk")
        if campaign:
            by = {"campaign_id": campaign} if campaign.isdigit() else {"campaign__code": campaign}
            placements = placements.filter(**by)
        if ids:
            if not all(value.isdigit() for value in ids):
                raise serializers.ValidationError({"placement": [_("Placement ids are whole numbers.")]})
            placements = placements.filter(pk__in=ids)
        chosen = list(placements[: qrcodes.SHEET_MAX_PLACEMENTS + 1])
        if not chosen:
            raise serializers.ValidationError({"campaign": [_("No placements match.")]})
        if len(chosen) > qrcodes.SHEET_MAX_PLACEMENTS:
            raise serializers.ValidationError(
                {"placement": [_("At most %(n)d codes per print sheet.") % {"n": qrcodes.SHEET_MAX_PLACEMENTS}]}
            )
        title, filename = qrcodes.print_sheet_title(chosen)
        pdf = qrcodes.print_sheet_pdf(chosen, title)
        return file_response(pdf, "application/pdf", filename, attachment=True)


BULK_MAX_BYTES = 2 * 1024 * 1024


def _too_large_message() -> str:
    return gettext("The CSV is larger than %(mb)s MB; split it.") % {"mb": BULK_MAX_BYTES // 1024 // 1024}


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    # Lazy all the way: the message is formatted in the language of the request that gets it.
    default_detail = lazy(_too_large_message, str)()
    default_code = "payload_too_large"


class CSVTextParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(BULK_MAX_BYTES + 1) if stream is not None else b""
        if len(raw) > BULK_MAX_BYTES:
            raise PayloadTooLarge
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ParseError(_("The CSV must be UTF-8 encoded.")) from exc


class PlacementBulkView(APIView):
    """Create many placements from CSV, all or nothing (a poster per store, …)."""

    queryset = Placement.objects.all()
    parser_classes = [CSVTextParser]

    @extend_schema(
        operation_id="placements_bulk_create",
        request={"text/csv": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter("campaign", str, description=_("Campaign code for rows without a campaign column."))
        ],
        responses={201: BulkResultSerializer, 400: BulkErrorSerializer},
        description=(
            _(
                "One placement per CSV row. Header columns: name, and optionally campaign (code), kind, qr_kind, "
                "wechat_app (appid), target_url, utm_source, utm_medium, utm_content, mp_page, mp_env_version. "
                "Any error refuses the whole file; errors come back by line number (the header is line 1)."
            )
        ),
    )
    def post(self, request):
        campaign = None
        if code := request.query_params.get("campaign"):
            campaign = Campaign.objects.filter(code__iexact=code).first()
            if campaign is None:
                return Response(
                    {
                        "errors": [
                            {
                                "line": 0,
                                "errors": {"campaign": [_("No campaign with code %(code)s.") % {"code": repr(code)}]},
                            }
                        ]
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
        text = request.data if isinstance(request.data, str) else ""
        try:
            placements = bulk.placements_bulk_create(text, campaign=campaign)
        except bulk.BulkPlacementError as exc:
            return Response(
                {"errors": [{"line": e.line, "errors": e.errors} for e in exc.errors]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = BulkResultSerializer(
            {"created": len(placements), "placements": placements}, context={"request": request}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)
