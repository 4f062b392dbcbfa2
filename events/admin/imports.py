"""Admin for the imported tables (ad spend, OA user summary, article and Mini Program page
stats), each with an "Import CSV" page that shows what the import did, line by line."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from events.imports import ImportFormatError, get_spec, import_csv, runs
from events.imports.services import CHANNEL_PREFIX
from events.models import AdSpend, ArticleStat, ImportRun, MiniProgramPageStat, OAUserSummary
from events.tasks import import_in_background
from wxanalytics.localize import localize_error

# WeChat's getusersummary user_source codes (WECHAT.md §4.1), shown next to the code.
USER_SOURCE_LABELS = {
    "all": "all sources",
    "0": "other",
    "1": "OA search",
    "17": "profile card share",
    "30": "QR scan",
    "57": "account name in an article",
    "100": "WeChat ads",
    "149": "Mini Program follow",
    "161": "reposted by others",
    "200": "Channels",
    "201": "live",
}


class ImportCSVForm(forms.Form):
    file = forms.FileField(
        help_text=_(
            "A CSV file with a header line (UTF-8, UTF-16 or GBK; comma, tab or semicolon), a datacube JSON answer "
            "as WeChat returned it, or an .xlsx download from the console."
        )
    )
    app_id = forms.CharField(
        required=False,
        max_length=32,
        label=_("App ID for the whole file"),
        help_text=_("Only needed when the file has no app_id column (WeChat's datacube exports have none)."),
    )
    date = forms.DateField(
        required=False,
        label=_("Day for the whole file"),
        help_text=_("For rows without a date: getVisitPage gives ref_date once, outside its list."),
    )

    def __init__(self, *args, file_defaults: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("app_id", "date"):
            if name not in file_defaults:
                del self.fields[name]


class ImportCSVMixin:
    """Adds `<changelist>/import/` and an "Import CSV" button to the changelist. A file larger
    than runs.BACKGROUND_IMPORT_BYTES is imported by a worker: the page then shows a progress
    bar (polling `import/<run>/status.json`) and the result when done."""

    import_kind: str
    change_list_template = "admin/events/import_change_list.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("import/", self.admin_site.admin_view(self.import_csv_view), name="{}_{}_import".format(*info)),
            path(
                "import/<int:run_id>/",
                self.admin_site.admin_view(self.import_run_view),
                name="{}_{}_import_run".format(*info),
            ),
            path(
                "import/<int:run_id>/status.json",
                self.admin_site.admin_view(self.import_run_status_view),
                name="{}_{}_import_run_status".format(*info),
            ),
            path(
                "import/template.csv",
                self.admin_site.admin_view(self.import_template_view),
                name="{}_{}_import_template".format(*info),
            ),
            *super().get_urls(),
        ]

    def import_template_view(self, request):
        """A CSV with the header line and one example line, to fill in."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        spec = get_spec(self.import_kind)
        response = HttpResponse(f"{spec.header_line}\n{spec.example}\n", content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.import_kind}_template.csv"'
        return response

    def import_csv_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        spec = get_spec(self.import_kind)
        file_defaults = spec.file_defaults
        summary = None
        if request.method == "POST":
            form = ImportCSVForm(request.POST, request.FILES, file_defaults=file_defaults)
            if form.is_valid():
                defaults = {name: form.cleaned_data.get(name) for name in file_defaults}
                upload = form.cleaned_data["file"]
                if upload.size > runs.BACKGROUND_IMPORT_BYTES:
                    run = import_in_background(
                        kind=self.import_kind, upload=upload, defaults=defaults, user=request.user
                    )
                    return redirect(self._run_url(run, "import_run"))
                try:
                    summary = import_csv(self.import_kind, form.cleaned_data["file"], defaults=defaults)
                except ImportFormatError as exc:
                    form.add_error("file", localize_error(str(exc)))
                else:
                    level = messages.WARNING if summary.rejected else messages.SUCCESS
                    self.message_user(request, str(summary), level)
        else:
            form = ImportCSVForm(file_defaults=file_defaults)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(verbose_name_plural)s from CSV")
            % {"verbose_name_plural": self.opts.verbose_name_plural},
            "form": form,
            "summary": summary,
            "columns": spec.columns,
            "natural_key": spec.natural_key,
            "template_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import_template"),
            "rejected_url": _rejected_rows_url(self.import_kind),
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/events/import_csv.html", context)

    def _run_url(self, run: ImportRun, name: str) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[run.pk])

    def _run(self, request, run_id: int) -> ImportRun:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return get_object_or_404(ImportRun, pk=run_id, kind=self.import_kind)

    def import_run_view(self, request, run_id: int):
        """The background import: a progress bar until it is done, then its result."""
        run = self._run(request, run_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Importing %(file)s") % {"file": run.file_name},
            "run": run,
            "summary": run.summary if run.status == ImportRun.Status.DONE else None,
            "status_url": self._run_url(run, "import_run_status"),
            "import_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"),
            "rejected_url": _rejected_rows_url(self.import_kind),
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/events/import_run.html", context)

    def import_run_status_view(self, request, run_id: int):
        run = self._run(request, run_id)
        return JsonResponse(
            {
                "status": run.status,
                "status_display": str(run.get_status_display()),
                "percent": run.percent,
                "bytes_done": run.bytes_done,
                "bytes_total": run.bytes_total,
                "finished": run.is_finished,
                "error": localize_error(run.error),
            }
        )


def _rejected_rows_url(kind: str) -> str:
    try:
        return reverse("admin:events_rejectedrow_changelist") + f"?channel={CHANNEL_PREFIX}{kind}"
    except NoReverseMatch:
        return ""


@admin.register(AdSpend)
class AdSpendAdmin(ImportCSVMixin, admin.ModelAdmin):
    import_kind = "ad_spend"
    list_display = (
        "date",
        "campaign_code",
        "campaign",
        "ad_group",
        "creative_name",
        "spend",
        "impressions",
        "clicks",
        "ctr_display",
        "cpc_display",
        "reach",
    )
    list_filter = ("date", ("campaign", admin.RelatedOnlyFieldListFilter))
    search_fields = ("campaign_code", "ad_group", "creative_name")
    date_hierarchy = "date"
    list_select_related = ("campaign",)
    raw_id_fields = ("campaign", "creative")
    readonly_fields = ("imported_at",)
    ordering = ("-date", "campaign_code", "ad_group", "creative_name")

    @admin.display(description=_("CTR"))
    def ctr_display(self, obj: AdSpend) -> str:
        return "—" if obj.ctr is None else f"{obj.ctr:.2%}"

    @admin.display(description=_("CPC (¥)"))
    def cpc_display(self, obj: AdSpend):
        return "—" if obj.cpc is None else obj.cpc


@admin.register(OAUserSummary)
class OAUserSummaryAdmin(ImportCSVMixin, admin.ModelAdmin):
    import_kind = "oa_user_summary"
    list_display = ("date", "app_id", "source_display", "new_users", "cancelled_users", "net_users", "cumulative_users")
    list_filter = ("date", "app_id", "user_source")
    search_fields = ("app_id", "user_source")
    date_hierarchy = "date"
    readonly_fields = ("imported_at",)
    ordering = ("-date", "app_id", "user_source")

    @admin.display(description=_("user source"), ordering="user_source")
    def source_display(self, obj: OAUserSummary) -> str:
        label = USER_SOURCE_LABELS.get(obj.user_source)
        return f"{obj.user_source} ({label})" if label and label != obj.user_source else obj.user_source

    @admin.display(description="net")
    def net_users(self, obj: OAUserSummary) -> int:
        return obj.new_users - obj.cancelled_users


@admin.register(ArticleStat)
class ArticleStatAdmin(ImportCSVMixin, admin.ModelAdmin):
    import_kind = "article_stats"
    list_display = (
        "date",
        "title_display",
        "app_id",
        "published_on",
        "reads",
        "read_users",
        "completion_display",
        "shares",
        "favourites",
    )
    list_filter = ("date", "app_id", "published_on")
    search_fields = ("title", "msgid", "app_id")
    date_hierarchy = "date"
    readonly_fields = ("imported_at",)
    ordering = ("-date", "app_id", "msgid")

    @admin.display(description="article", ordering="title")
    def title_display(self, obj: ArticleStat) -> str:
        return format_html("{}<br><small>{}</small>", obj.title or "(no title)", obj.msgid)

    @admin.display(description=_("read completion"), ordering="completion_rate")
    def completion_display(self, obj: ArticleStat) -> str:
        return "—" if obj.completion_rate is None else f"{obj.completion_rate:.1%}"


@admin.register(MiniProgramPageStat)
class MiniProgramPageStatAdmin(ImportCSVMixin, admin.ModelAdmin):
    import_kind = "mp_page_stats"
    list_display = (
        "date",
        "page_path",
        "app_id",
        "visits",
        "visitors",
        "stay_time_seconds",
        "entries",
        "exits",
        "shares",
    )
    list_filter = ("date", "app_id")
    search_fields = ("page_path", "app_id")
    date_hierarchy = "date"
    readonly_fields = ("imported_at",)
    ordering = ("-date", "app_id", "-visits")
