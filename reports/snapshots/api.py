"""`/api/v1/snapshots/`: read snapshots (filter by kind, period, status, stale, date range)
with their data as JSON; `POST /api/v1/snapshots/<id>/rebuild` queues a rebuild for users
holding `reports.change_snapshot`."""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from reports.models import Snapshot
from reports.snapshots.tasks import build_snapshot_task


class SnapshotSerializer(serializers.ModelSerializer):
    data = serializers.JSONField(
        read_only=True,
        help_text=_("title, summary and sections (each a table: key, title, columns, rows, note, chart)."),
    )

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "kind",
            "period_label",
            "period_start",
            "period_end",
            "status",
            "stale",
            "stale_since",
            "built_at",
            "duration_ms",
            "builds",
            "error",
            "data",
        ]
        read_only_fields = fields


class SnapshotFilter(django_filters.FilterSet):
    start_from = django_filters.DateFilter(
        field_name="period_start", lookup_expr="date__gte", label=_("Periods starting on or after this date")
    )
    start_to = django_filters.DateFilter(
        field_name="period_start", lookup_expr="date__lte", label=_("Periods starting on or before this date")
    )

    class Meta:
        model = Snapshot
        fields = ["kind", "period_label", "status", "stale"]


class CanRebuildSnapshot(permissions.BasePermission):
    message = "Rebuilding needs the permission to change snapshots."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("reports.change_snapshot"))


class SnapshotViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Snapshot.objects.order_by("-period_start", "kind")
    serializer_class = SnapshotSerializer
    filterset_class = SnapshotFilter
    ordering_fields = ["period_start", "built_at", "duration_ms"]
    search_fields = ["period_label"]

    def get_permissions(self):
        if self.action == "rebuild":
            return [CanRebuildSnapshot()]
        return super().get_permissions()

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "SnapshotRebuildQueued",
                {
                    "queued": serializers.BooleanField(),
                    "kind": serializers.CharField(),
                    "period_label": serializers.CharField(),
                },
            ),
            403: OpenApiResponse(description=_("No permission to change snapshots.")),
        },
    )
    @action(detail=True, methods=["post"])
    def rebuild(self, request, pk=None):
        """Queue a rebuild of this snapshot's period; the old data stays readable until the
        new build replaces it in one write."""
        snapshot = self.get_object()
        build_snapshot_task.delay_on_commit(snapshot.kind, snapshot.period_label)
        return Response(
            {"queued": True, "kind": snapshot.kind, "period_label": snapshot.period_label},
            status=status.HTTP_202_ACCEPTED,
        )
