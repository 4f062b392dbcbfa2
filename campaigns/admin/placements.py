"""Admin for campaigns, placements (with their QR codes) and creatives."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaigns import bulk, qrcodes, services, wechat_queue
from campaigns.admin.define import StaffOwnerMixin
from campaigns.api.views import file_response
from campaigns.models import Campaign, Creative, Placement

ZIP_MAX_PLACEMENTS = 1000  # ~9 ms per placement (PNG + SVG): a ZIP stays within a request timeout
BULK_MAX_BYTES = 2 * 1024 * 1024


PRINT_PNG_SIZE = 1800  # ~15 cm at 300 dpi: an A5 poster's code


def qr_download_links(placement: Placement) -> str:
    png = reverse("placement-qr", kwargs={"pk": placement.pk, "fmt": "png"})
    svg = reverse("placement-qr", kwargs={"pk": placement.pk, "fmt": "svg"})
    sheet = reverse("placement-print-sheet")
    return format_html(
        '<a href="{}?download=1">PNG</a> · <a href="{}?download=1&amp;size={}">{}</a> · '
        '<a href="{}?download=1">SVG</a> · <a href="{}?placement={}">{}</a>',
        png,
        png,
        PRINT_PNG_SIZE,
        _("PNG for print (%(size)d px)") % {"size": PRINT_PNG_SIZE},
        svg,
        sheet,
        placement.pk,
        _("print sheet (PDF)"),
    )


def _zip_response(placements, filename: str) -> HttpResponse:
    return file_response(qrcodes.placements_zip(placements), "application/zip", filename, attachment=True)


def _print_sheet_response(modeladmin, request, placements) -> HttpResponse | None:
    placements = list(placements.select_related("campaign").order_by("campaign__code", "name", "pk"))
    if not placements:
        modeladmin.message_user(request, _("No placements to print."), messages.WARNING)
        return None
    if len(placements) > qrcodes.SHEET_MAX_PLACEMENTS:
        modeladmin.message_user(
            request, _("At most %(n)d codes per print sheet.") % {"n": qrcodes.SHEET_MAX_PLACEMENTS}, messages.ERROR
        )
        return None
    title, filename = qrcodes.print_sheet_title(placements)
    return file_response(qrcodes.print_sheet_pdf(placements, title), "application/pdf", filename, attachment=True)


def warn_if_loopback(request) -> None:
    """Where codes are shown or downloaded: a loopback PUBLIC_BASE_URL makes them useless on a phone."""
    warning = qrcodes.loopback_warning()
    if warning:
        messages.warning(request, warning)


def _save_placement(request, placement: Placement, changed: set[str], *, queue_wechat: bool = False) -> None:
    """Create or update through the service (scene issuance, WeChat QR) and say what WeChat said.
    `queue_wechat`: the page saves several placements, so their codes are asked for in the
    background (a request never waits on WeChat for more than one object)."""
    new_code = placement.pk is None or services.needs_new_code(changed)
    if placement.pk is None:
        services.placement_create(placement, request_wechat=not queue_wechat)
    else:
        services.placement_update(placement, changed=changed, request_wechat=not queue_wechat)
    if queue_wechat and new_code:
        wechat_queue.queue_wechat_qr([placement])
    if placement.qr_error:
        messages.warning(request, f"{placement}: the WeChat QR code was not issued — {placement.qr_error}")
    if placement.is_printed and placement.qr_kind == Placement.QRKind.OA_TEMPORARY:
        messages.warning(request, PRINT_NEEDS_PERMANENT.format(placement=placement))


PRINT_NEEDS_PERMANENT = _(
    "{placement}: a temporary code lives at most 30 days and is renewed with a new image while the campaign "
    "runs — printed copies of the old one stop working. For print, use “Official Account, permanent”."
)


def qr_state_html(placement: Placement) -> str:
    """The code's status, with its reason on hover; bold when it needs someone."""
    state = placement.qr_state()
    template = '<strong title="{}">{}</strong>' if state.needs_attention else '<span title="{}">{}</span>'
    return format_html(template, state.reason, state.label)


class QRExpiryFilter(admin.SimpleListFilter):
    title = _("QR expiry")
    parameter_name = "qr_expiry"

    def lookups(self, request, model_admin):
        return [
            ("soon", _("Expiring within 7 days")),
            ("refused", _("Refused by WeChat")),
            ("expired", "Expired"),
            ("renewed", _("Renewed (printed copies of the old code stop working)")),
            ("none", "Does not expire"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "soon":
            return queryset.qr_expiring(now=now)
        if self.value() == "refused":
            return queryset.qr_refused()
        if self.value() == "expired":
            return queryset.filter(qr_expires_at__lte=now)
        if self.value() == "renewed":
            return queryset.filter(qr_renewed_at__isnull=False)
        if self.value() == "none":
            return queryset.filter(qr_expires_at__isnull=True)
        return queryset


# Printed links are https; Django 6 defaults to it too.
URL_FIELDS_HTTPS = {models.URLField: {"assume_scheme": "https"}}


class PlacementInline(admin.TabularInline):
    model = Placement
    formfield_overrides = URL_FIELDS_HTTPS
    fields = ["name", "kind", "qr_kind", "wechat_app", "target_url", "scene", "qr_download"]
    readonly_fields = ["scene", "qr_download"]
    autocomplete_fields = ["wechat_app"]
    extra = 0
    show_change_link = True

    @admin.display(description=_("QR code"))
    def qr_download(self, placement: Placement) -> str:
        return qr_download_links(placement) if placement.pk else "—"


class CreativeInline(admin.TabularInline):
    model = Creative
    fields = ["name", "ad_group", "lander_type", "landing_url", "external_id"]
    extra = 0
    show_change_link = True


@admin.register(Campaign)
class CampaignAdmin(StaffOwnerMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "status",
        "starts_on",
        "ends_on",
        "budget",
        "currency",
        "objective_kpi",
        "owner",
        "placement_count",
    ]
    list_filter = ["status", "objective_kpi", "owner", "starts_on"]
    search_fields = ["code", "name"]
    list_select_related = ["objective_kpi", "owner"]
    autocomplete_fields = ["objective_kpi"]
    date_hierarchy = "starts_on"
    inlines = [PlacementInline, CreativeInline]
    actions = ["download_qr_zip", "print_sheet"]
    fieldsets = [
        (None, {"fields": ["code", "name", "status", "owner", "objective_kpi"]}),
        (_("Dates and budget"), {"fields": [("starts_on", "ends_on"), ("budget", "currency")]}),
        (_("Default UTM"), {"fields": [("utm_source", "utm_medium")]}),
        (_("Results"), {"fields": ["placement_results"]}),
    ]
    readonly_fields = ["placement_results"]

    @admin.display(description=_("Placement results"))
    def placement_results(self, campaign: Campaign) -> str:
        # The page lives in reports (campaigns never import reports); only its URL name is shared.
        if not campaign.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("campaign-placements", args=[campaign.pk]),
            _("This week and month per placement, ad spend and ROAS, QR codes →"),
        )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(placement_total=Count("placements"))

    @admin.display(description=_("Placements"), ordering="placement_total")
    def placement_count(self, campaign: Campaign) -> int:
        return campaign.placement_total

    def save_formset(self, request, form, formset, change):
        if formset.model is not Placement:
            return super().save_formset(request, form, formset, change)
        for placement in formset.save(commit=False):
            changed = set()
            for inline_form in formset.forms:
                if inline_form.instance is placement:
                    changed = set(inline_form.changed_data)
            _save_placement(request, placement, changed, queue_wechat=True)
        for placement in formset.deleted_objects:
            placement.delete()
        return None

    @admin.action(description=_("Download QR codes of their placements (ZIP)"), permissions=["view"])
    def download_qr_zip(self, request, queryset):
        placements = Placement.objects.filter(campaign__in=queryset).select_related("campaign")
        if placements.count() > ZIP_MAX_PLACEMENTS:
            self.message_user(
                request,
                _("At most %(zip_max_placements)s codes per download.") % {"zip_max_placements": ZIP_MAX_PLACEMENTS},
                messages.ERROR,
            )
            return None
        return _zip_response(placements, "qr-codes.zip")

    @admin.action(description=_("Print sheet of their QR codes (PDF, A4)"), permissions=["view"])
    def print_sheet(self, request, queryset):
        return _print_sheet_response(self, request, Placement.objects.filter(campaign__in=queryset))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            warn_if_loopback(request)
        return super().change_view(request, object_id, form_url, extra_context)


class BulkUploadForm(forms.Form):
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("code"),
        required=False,
        help_text=_("For files without a campaign column (all rows go to this campaign)."),
    )
    file = forms.FileField(help_text=_("CSV, UTF-8, one placement per row, header on the first line."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > BULK_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(value)s MB.") % {"value": BULK_MAX_BYTES // 1024 // 1024}
            )
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file must be UTF-8 encoded (save as 'CSV UTF-8').")) from None


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    change_list_template = "admin/campaigns/placement/change_list.html"
    list_display = ["name", "campaign", "kind", "scene", "qr_kind", "qr_status", "qr_download"]
    list_filter = ["kind", "qr_kind", QRExpiryFilter, ("campaign", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "scene", "campaign__code", "campaign__name"]
    list_select_related = ["campaign", "wechat_app"]  # qr_status names the app's missing AppSecret
    autocomplete_fields = ["campaign", "wechat_app"]
    actions = ["download_qr_zip", "print_sheet", "request_wechat_qr_again"]
    readonly_fields = [
        "scene",
        "short_link",
        "qr_preview",
        "qr_download",
        "qr_url",
        "qr_ticket",
        "qr_expires_at",
        "qr_status",
        "qr_request_status",
        "qr_request_attempts",
        "qr_error",
        "qr_renewed_at",
        "qr_renewals",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["campaign", "name", "kind"]}),
        (_("Link and UTM"), {"fields": ["target_url", ("utm_source", "utm_medium", "utm_content"), "short_link"]}),
        (
            _("QR code"),
            {
                "fields": [
                    "scene",
                    "qr_kind",
                    "wechat_app",
                    ("mp_page", "mp_env_version", "mp_check_path"),
                    "qr_preview",
                    "qr_download",
                ]
            },
        ),
        (
            _("Issued by WeChat"),
            {
                "fields": [
                    "qr_status",
                    ("qr_request_status", "qr_request_attempts"),
                    "qr_url",
                    "qr_ticket",
                    "qr_expires_at",
                    ("qr_renewed_at", "qr_renewals"),
                    "qr_error",
                ]
            },
        ),
        (None, {"fields": ["created_at"]}),
    ]

    def get_urls(self):
        return [
            path(
                "bulk-upload/",
                self.admin_site.admin_view(self.bulk_upload_view),
                name="campaigns_placement_bulk_upload",
            ),
            *super().get_urls(),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "mp_env_version" in form.base_fields:
            # Only Mini Program codes use it: a form that leaves it out keeps the default (release).
            form.base_fields["mp_env_version"].required = False
        return form

    def save_model(self, request, obj, form, change):
        _save_placement(request, obj, set(form.changed_data))

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            warn_if_loopback(request)
        extra_context = {
            **(extra_context or {}),
            "qr_expiring_count": Placement.objects.qr_expiring().count(),
            # Printed kinds on renewable codes: each renewal breaks what is already printed.
            "printed_renewed_count": Placement.objects.filter(
                qr_kind=Placement.QRKind.OA_TEMPORARY, qr_renewed_at__isnull=False, kind__in=Placement.PRINTED_KINDS
            ).count(),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("Short link"))
    def short_link(self, placement: Placement) -> str:
        return placement.short_link_url() if placement.pk else "— (issued when saved)"

    @admin.display(description=_("Preview"))
    def qr_preview(self, placement: Placement) -> str:
        if not placement.pk:
            return "—"
        src = reverse("placement-qr", kwargs={"pk": placement.pk, "fmt": "png"})
        return format_html('<img src="{}" alt="QR code for {}" width="240">', src, placement.scene)

    @admin.display(description=_("Download"))
    def qr_download(self, placement: Placement) -> str:
        return qr_download_links(placement) if placement.pk else "—"

    @admin.display(description=_("QR status"), ordering="qr_expires_at")
    def qr_status(self, placement: Placement) -> str:
        return qr_state_html(placement)

    @admin.action(description=_("Download QR codes (ZIP)"), permissions=["view"])
    def download_qr_zip(self, request, queryset):
        if queryset.count() > ZIP_MAX_PLACEMENTS:
            self.message_user(
                request,
                _("At most %(zip_max_placements)s codes per download.") % {"zip_max_placements": ZIP_MAX_PLACEMENTS},
                messages.ERROR,
            )
            return None
        return _zip_response(queryset.select_related("campaign"), "qr-codes.zip")

    @admin.action(description=_("Print sheet of the QR codes (PDF, A4)"), permissions=["view"])
    def print_sheet(self, request, queryset):
        return _print_sheet_response(self, request, queryset)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            warn_if_loopback(request)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Ask WeChat again for the QR codes"), permissions=["change"])
    def request_wechat_qr_again(self, request, queryset):
        placements = list(queryset.select_related("wechat_app"))
        queued = wechat_queue.queue_wechat_qr(placements)
        self.message_user(
            request,
            _(
                "Asked WeChat for %(queued)s code(s): the WeChat code column shows each one's progress; %(value)s use the short link (no WeChat app with a secret)."
            )
            % {"queued": queued, "value": len(placements) - queued},
        )

    def bulk_upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        row_errors = []
        form = BulkUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                created = bulk.placements_bulk_create(form.cleaned_data["file"], campaign=form.cleaned_data["campaign"])
            except bulk.BulkPlacementError as exc:
                row_errors = exc.errors
            else:
                waiting = sum(p.qr_request_status == Placement.QRRequest.PENDING for p in created)
                self.message_user(
                    request,
                    _(
                        "Created %(created)s placement(s); %(waiting)s WeChat code(s) are being asked for (the WeChat code column shows each one's progress)."
                    )
                    % {"created": len(created), "waiting": waiting},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:campaigns_placement_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Upload placements (CSV)"),
            "form": form,
            "row_errors": row_errors,
            "columns": bulk.COLUMNS,
        }
        return TemplateResponse(request, "admin/campaigns/placement/bulk_upload.html", context)


@admin.register(Creative)
class CreativeAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "lander_type", "ad_group", "external_id", "created_at"]
    list_filter = ["lander_type", ("campaign", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "ad_group", "external_id", "campaign__code", "campaign__name"]
    list_select_related = ["campaign"]
    autocomplete_fields = ["campaign"]
