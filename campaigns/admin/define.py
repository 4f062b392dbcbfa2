"""Admin for KPIs, the funnel and tracking plan, WeChat apps and source aliases."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from campaigns import services
from campaigns.models import KPI, EventDefinition, FunnelStage, IssuedScene, SourceAlias, WeChatApp
from wxanalytics.audit import record_bulk_change
from wxanalytics.readonly_admin import ReadOnlyAdminMixin


class StaffOwnerMixin:
    """Owner pickers list staff only (the people who log in here)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class KPIForm(forms.ModelForm):
    """The target is typed in the KPI's unit (35 for 35 %, 90 for 90 minutes) and stored in
    the measured unit (KPI.target_from_entered)."""

    target = forms.DecimalField(max_digits=16, decimal_places=4, help_text=KPI.TARGET_HELP)

    class Meta:
        model = KPI
        fields = [
            "name",
            "description",
            "owner",
            "is_active",
            "metric_kind",
            "event_name",
            "second_event_name",
            "target",
            "direction",
            "period",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.metric_kind:
            self.initial["target"] = self.instance.target_entered
            self.fields["target"].label = f"Target ({self.instance.target_unit})"

    def clean(self):
        cleaned = super().clean()
        kind, entered = cleaned.get("metric_kind"), cleaned.get("target")
        if kind and entered is not None:
            try:
                cleaned["target"] = KPI.target_from_entered(kind, entered)
            except ValidationError as exc:
                self.add_error("target", exc)
        return cleaned


@admin.register(KPI)
class KPIAdmin(StaffOwnerMixin, admin.ModelAdmin):
    form = KPIForm
    list_display = [
        "name",
        "metric_kind",
        "event_name",
        "second_event_name",
        "target_shown",
        "direction",
        "period",
        "owner",
        "is_active",
    ]
    list_filter = ["is_active", "metric_kind", "period", "direction"]
    search_fields = ["name", "description", "event_name", "second_event_name"]
    list_select_related = ["owner"]
    actions = ["deactivate"]
    fieldsets = [
        (None, {"fields": ["name", "description", "owner", "is_active"]}),
        (_("Metric"), {"fields": ["metric_kind", "event_name", "second_event_name"]}),
        (_("Target"), {"fields": ["target", "direction", "period"]}),
    ]

    def save_model(self, request, obj, form, change):
        # The form already showed the friendly error; the service re-checks under a lock
        # in case someone else activated a KPI meanwhile.
        services.kpi_save(obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.KPILimitExceeded as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @admin.display(description=_("Target"), ordering="target")
    def target_shown(self, kpi: KPI) -> str:
        return f"{kpi.target_entered} {kpi.target_unit}"

    @admin.action(description=_("Deactivate selected KPIs"), permissions=["change"])
    def deactivate(self, request, queryset):
        kpis = list(queryset.filter(is_active=True))
        updated = KPI.objects.filter(pk__in=[kpi.pk for kpi in kpis]).update(is_active=False)
        record_bulk_change(request.user, kpis, "Deactivated.")
        self.message_user(request, f"Deactivated {updated} KPI(s).", messages.SUCCESS)


class EventDefinitionInline(admin.TabularInline):
    model = EventDefinition
    fields = ["name", "category", "funnel_position", "page_templates", "description"]
    extra = 0
    ordering = ["funnel_position", "name"]


@admin.register(FunnelStage)
class FunnelStageAdmin(admin.ModelAdmin):
    list_display = ["position", "name", "description", "event_list"]
    list_display_links = ["name"]
    search_fields = ["name"]
    inlines = [EventDefinitionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("event_definitions")

    @admin.display(description=_("Events"))
    def event_list(self, stage: FunnelStage) -> str:
        return ", ".join(e.name for e in stage.event_definitions.all())


@admin.register(EventDefinition)
class EventDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "stage", "funnel_position", "server_only", "page_templates", "description"]
    list_filter = ["category", "stage", "server_only"]
    search_fields = ["name", "description", "page_templates"]
    list_select_related = ["stage"]
    autocomplete_fields = ["stage"]


class WeChatAppForm(forms.ModelForm):
    """Secrets are write-only: the fields start empty, empty means "keep", and a
    checkbox clears them."""

    SECRET_FIELDS = ("secret", "encoding_aes_key", "token")

    secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text=_("AppSecret; leave empty to keep.")
    )
    encoding_aes_key = forms.CharField(
        required=False,
        max_length=43,
        min_length=43,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("EncodingAESKey (43 characters) for encrypted push; leave empty to keep."),
    )
    token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Push signature token from the console; leave empty to keep."),
    )
    clear_secrets = forms.BooleanField(required=False, help_text=_("Remove the stored secret, AES key and token."))

    class Meta:
        model = WeChatApp
        fields = [
            "name",
            "appid",
            "kind",
            "original_id",
            "secret",
            "encoding_aes_key",
            "token",
            "erase_unfollowed_after_days",
        ]

    def save(self, commit=True):
        app = super().save(commit=False)
        for name in self.SECRET_FIELDS:
            entered = self.cleaned_data.get(name)
            if self.cleaned_data.get("clear_secrets"):
                setattr(app, name, "")
            elif not entered and self.instance.pk:
                setattr(app, name, WeChatApp.objects.values_list(name, flat=True).get(pk=self.instance.pk))
        if self.cleaned_data.get("clear_secrets") or any(self.cleaned_data.get(n) for n in ("secret",)):
            app.access_token = ""
            app.access_token_expires_at = None
        if commit:
            app.save()
        return app


def _set(value: str) -> str:
    return "set" if value else "not set"


@admin.register(WeChatApp)
class WeChatAppAdmin(admin.ModelAdmin):
    form = WeChatAppForm
    list_display = [
        "__str__",
        "appid",
        "kind",
        "secret_status",
        "aes_key_status",
        "token_status",
        "access_token_expires_at",
    ]
    list_filter = ["kind"]
    search_fields = ["name", "appid", "original_id"]
    readonly_fields = ["secret_status", "aes_key_status", "token_status", "access_token_expires_at", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "appid", "kind", "original_id"]}),
        (
            _("Credentials (write-only)"),
            {
                "fields": [
                    ("secret", "secret_status"),
                    ("encoding_aes_key", "aes_key_status"),
                    ("token", "token_status"),
                    "clear_secrets",
                ]
            },
        ),
        (_("Personal data (docs/privacy.md)"), {"fields": ["erase_unfollowed_after_days"]}),
        (_("Access token cache"), {"fields": ["access_token_expires_at", "created_at"]}),
    ]

    @admin.display(description=_("AppSecret"))
    def secret_status(self, app: WeChatApp) -> str:
        return _set(app.secret)

    @admin.display(description=_("AES key"))
    def aes_key_status(self, app: WeChatApp) -> str:
        return _set(app.encoding_aes_key)

    @admin.display(description=_("Push token"))
    def token_status(self, app: WeChatApp) -> str:
        return _set(app.token)


@admin.register(SourceAlias)
class SourceAliasAdmin(admin.ModelAdmin):
    list_display = ["alias", "canonical"]
    list_editable = ["canonical"]
    search_fields = ["alias", "canonical"]

    def save_model(self, request, obj, form, change):
        # Stored as the redirect compares them: trimmed, lower case.
        obj.alias = obj.alias.strip().lower()
        obj.canonical = obj.canonical.strip().lower()
        super().save_model(request, obj, form, change)


@admin.register(IssuedScene)
class IssuedSceneAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every scene ever handed out, so a printed code is never given to someone else."""

    list_display = ["value", "issued_at"]
    search_fields = ["value"]
    date_hierarchy = "issued_at"
