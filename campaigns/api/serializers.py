from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from campaigns.models import KPI, Campaign, Creative, EventDefinition, FunnelStage, Placement


def _model_clean(instance) -> None:
    """Run the model's own clean() so the API says what admin says."""
    try:
        instance.clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc


class KPISerializer(serializers.ModelSerializer):
    # In the KPI's unit (target_unit): 35 is a 35 % conversion target, 90 a 90-minute median.
    target = serializers.DecimalField(
        max_digits=16, decimal_places=4, source="target_entered", help_text=KPI.TARGET_HELP
    )
    target_unit = serializers.CharField(read_only=True, help_text=_("events, people, %, ¥ or min"))

    class Meta:
        model = KPI
        fields = [
            "id",
            "name",
            "description",
            "owner",
            "metric_kind",
            "event_name",
            "second_event_name",
            "target",
            "target_unit",
            "direction",
            "period",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        # The active limit is checked under a lock by the service; here only the event pair
        # and the target, which arrives in the KPI's unit and is stored in the measured one.
        entered = attrs.pop("target_entered", None)
        kpi = KPI(**{**self._current(), **attrs})
        if kpi.needs_second_event and not kpi.second_event_name:
            raise serializers.ValidationError(
                {
                    "second_event_name": _("%(get_metric_kind_display)s needs a second event (event B).")
                    % {"get_metric_kind_display": kpi.get_metric_kind_display()}
                }
            )
        if entered is None and self.instance is not None and kpi.metric_kind != self.instance.metric_kind:
            raise serializers.ValidationError(
                {
                    "target": _("Give the target again in the unit of %(get_metric_kind_display)s (%(target_unit)s).")
                    % {"get_metric_kind_display": kpi.get_metric_kind_display(), "target_unit": kpi.target_unit}
                }
            )
        if entered is not None:
            try:
                attrs["target"] = KPI.target_from_entered(kpi.metric_kind, entered)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"target": exc.messages}) from exc
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {name: getattr(self.instance, name) for name in ("metric_kind", "second_event_name", "event_name")}


class FunnelStageSerializer(serializers.ModelSerializer):
    event_names = serializers.SlugRelatedField(source="event_definitions", many=True, read_only=True, slug_field="name")

    class Meta:
        model = FunnelStage
        fields = ["id", "name", "position", "description", "event_names"]


class EventDefinitionSerializer(serializers.ModelSerializer):
    stage_name = serializers.CharField(source="stage.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = EventDefinition
        fields = [
            "id",
            "name",
            "category",
            "stage",
            "stage_name",
            "funnel_position",
            "description",
            "page_templates",
            "server_only",
        ]


class CampaignSerializer(serializers.ModelSerializer):
    placement_count = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "code",
            "name",
            "objective_kpi",
            "starts_on",
            "ends_on",
            "budget",
            "currency",
            "status",
            "owner",
            "utm_source",
            "utm_medium",
            "placement_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_placement_count(self, campaign: Campaign) -> int:
        # Lists annotate the count in one query; a just-created campaign has none yet.
        annotated = getattr(campaign, "placement_count", None)
        return annotated if annotated is not None else campaign.placements.count()

    def validate_code(self, code: str) -> str:
        candidate = Campaign(pk=getattr(self.instance, "pk", None), code=code)
        if message := candidate.case_twin_message():
            raise serializers.ValidationError(message)
        return code

    def validate(self, attrs):
        starts_on = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends_on = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts_on and ends_on and ends_on < starts_on:
            raise serializers.ValidationError({"ends_on": "The campaign cannot end before it starts."})
        return attrs


class PlacementSerializer(serializers.ModelSerializer):
    campaign_code = serializers.CharField(source="campaign.code", read_only=True)
    short_link_url = serializers.SerializerMethodField()
    qr_content = serializers.SerializerMethodField()
    qr_png_url = serializers.SerializerMethodField()
    qr_svg_url = serializers.SerializerMethodField()

    class Meta:
        model = Placement
        fields = [
            "id",
            "campaign",
            "campaign_code",
            "name",
            "kind",
            "scene",
            "qr_kind",
            "wechat_app",
            "target_url",
            "utm_source",
            "utm_medium",
            "utm_content",
            "mp_page",
            "mp_env_version",
            "mp_check_path",
            "short_link_url",
            "qr_content",
            "qr_png_url",
            "qr_svg_url",
            "qr_ticket",
            "qr_expires_at",
            "qr_error",
            "qr_request_status",
            "qr_request_attempts",
            "qr_renewed_at",
            "qr_renewals",
            "created_at",
        ]
        read_only_fields = [
            "scene",
            "qr_ticket",
            "qr_expires_at",
            "qr_error",
            "qr_request_status",
            "qr_request_attempts",
            "qr_renewed_at",
            "qr_renewals",
            "created_at",
        ]

    def get_short_link_url(self, placement: Placement) -> str:
        return placement.short_link_url()

    def get_qr_content(self, placement: Placement) -> str:
        return placement.qr_content()

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_qr_png_url(self, placement: Placement) -> str:
        return self._absolute(reverse("placement-qr", kwargs={"pk": placement.pk, "fmt": "png"}))

    def get_qr_svg_url(self, placement: Placement) -> str:
        return self._absolute(reverse("placement-qr", kwargs={"pk": placement.pk, "fmt": "svg"}))

    def validate(self, attrs):
        merged = {**self._current(), **attrs}
        merged.pop("campaign", None)
        _model_clean(Placement(**merged))
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {"qr_kind": self.instance.qr_kind, "wechat_app": self.instance.wechat_app}


class CreativeSerializer(serializers.ModelSerializer):
    campaign_code = serializers.CharField(source="campaign.code", read_only=True)

    class Meta:
        model = Creative
        fields = [
            "id",
            "campaign",
            "campaign_code",
            "name",
            "ad_group",
            "lander_type",
            "landing_url",
            "external_id",
            "notes",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class BulkRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkErrorSerializer(serializers.Serializer):
    errors = BulkRowErrorSerializer(many=True)


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    placements = PlacementSerializer(many=True)
