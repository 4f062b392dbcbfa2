"""`GET /api/v1/campaigns/<id>/placements?from=&to=`: the placement rows of one campaign."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Campaign
from reports.metrics.placements import placement_report
from reports.results.periods import RangeError, results_period


class CanViewCampaigns(permissions.BasePermission):
    message = "Reading campaign results needs the permission to view campaigns."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("campaigns.view_campaign"))


class PlacementRowSerializer(serializers.Serializer):
    placement_id = serializers.IntegerField(allow_null=True, help_text=_("None: the unattributed row."))
    label = serializers.CharField()
    scans = serializers.IntegerField(help_text=_("Short-link hits + WeChat code scans, one per person and 30 minutes."))
    link_scans = serializers.IntegerField()
    code_scans = serializers.IntegerField()
    scanners = serializers.IntegerField()
    follows = serializers.IntegerField()
    paying_people = serializers.IntegerField()
    orders = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunds = serializers.DecimalField(max_digits=14, decimal_places=2)


class PlacementResultsSerializer(serializers.Serializer):
    period = serializers.CharField(help_text=_("first..last local day (China time), inclusive."))
    rows = PlacementRowSerializer(many=True)
    unattributed = PlacementRowSerializer(help_text=_("Follows and payments with no placement touch (all campaigns)."))
    follows = serializers.IntegerField(help_text=_("The whole period, every campaign."))
    paying_people = serializers.IntegerField()
    orders = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunds = serializers.DecimalField(max_digits=14, decimal_places=2)


class CampaignPlacementsView(APIView):
    permission_classes = [CanViewCampaigns]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description=_("First local day, YYYY-MM-DD (default: 30 days ago).")),
            OpenApiParameter(
                "to", str, description=_("Last local day, YYYY-MM-DD (default: today); at most 366 days.")
            ),
        ],
        responses=PlacementResultsSerializer,
    )
    def get(self, request, pk: int):
        """Scans, follows, paying people, orders, revenue and refunds per placement of the campaign
        (definitions: docs/metrics.md, "Placements")."""
        campaign = get_object_or_404(Campaign, pk=pk)
        try:
            period = results_period(campaign, request.query_params.get("from"), request.query_params.get("to"))
        except RangeError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        report = placement_report(period, campaign_id=campaign.pk)
        data = {
            "period": period.label,
            "rows": report.rows,
            "unattributed": report.unattributed,
            "follows": report.follows,
            "paying_people": report.paying_people,
            "orders": report.orders,
            "revenue": report.revenue,
            "refunds": report.refunds,
        }
        return Response(PlacementResultsSerializer(data).data)
