"""`/api/v1/reviews/`: the same rules as admin — the owner is whoever is asking, one entry
per owner per week, only your own entries change (asked of `policy`)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions, serializers, viewsets

from campaigns.models import KPI
from wxanalytics.audit import AuditedViewSetMixin
from wxanalytics.permissions import ModelPermissions

from . import policy
from .models import ReviewEntry
from .services import DuplicateReviewEntry, save_review_entry
from .weeks import parse_review_week


class ReviewEntrySerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, help_text=_("The user who logged it."))
    week = serializers.CharField(max_length=8, help_text=_("ISO week, e.g. 2025-W46."))
    kpi = serializers.PrimaryKeyRelatedField(
        queryset=KPI.objects.all(), allow_null=True, required=False, help_text=_("The KPI the change aims at.")
    )

    class Meta:
        model = ReviewEntry
        fields = [
            "id",
            "owner",
            "week",
            "insight",
            "change",
            "kpi",
            "snapshot",
            "change_status",
            "outcome_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["snapshot", "created_at", "updated_at"]
        # One entry per owner and week is checked in validate() with a message naming the week.
        validators = []

    def validate_week(self, value: str) -> str:
        try:
            return str(parse_review_week(value))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict) -> dict:
        entry = self.instance or ReviewEntry(owner=self.context["request"].user)
        probe = ReviewEntry(pk=entry.pk, owner_id=entry.owner_id, week=attrs.get("week", entry.week))
        try:
            probe.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def create(self, validated_data: dict) -> ReviewEntry:
        return self._save(ReviewEntry(owner=self.context["request"].user, **validated_data))

    def update(self, instance: ReviewEntry, validated_data: dict) -> ReviewEntry:
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self._save(instance)

    def _save(self, entry: ReviewEntry) -> ReviewEntry:
        try:
            return save_review_entry(entry)
        except DuplicateReviewEntry as exc:
            raise serializers.ValidationError({"week": [str(exc)]}) from None


class ReviewEntryPolicy(permissions.BasePermission):
    """Object-level rules from `policy` on top of the group's model permissions."""

    message = "Only the owner of a review entry may change or delete it."

    def has_object_permission(self, request, view, obj: ReviewEntry) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return policy.can_view_entries(request.user)
        if request.method == "DELETE":
            return policy.can_delete_entry(request.user, obj)
        return policy.can_change_entry(request.user, obj)


class ReviewEntryViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """Friday review entries: one insight and one change per owner per ISO week.

    Everyone with read access sees all entries; you create entries as yourself and change
    or delete only your own. Filter with `?week=2025-W46`, `?owner=<user id>` or
    `?owner__username=rob`.
    """

    queryset = ReviewEntry.objects.select_related("owner", "kpi").order_by("-week", "owner__username")
    serializer_class = ReviewEntrySerializer
    permission_classes = [ModelPermissions, ReviewEntryPolicy]
    filterset_fields = ["week", "owner", "owner__username", "change_status", "kpi"]
    search_fields = ["insight", "change", "outcome_note"]
    ordering_fields = ["week", "created_at", "updated_at"]
