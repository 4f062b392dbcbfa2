"""Snapshots in admin: a list to find periods, a readable detail page (tables and SVG
charts, CSV per section), rebuild (action and button) and a form to build any period."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from reports.models import Archive, Snapshot, SnapshotSubscription
from reports.periods import KINDS, PeriodError, last_closed, parse_label, periods_between
from reports.snapshots.charts import section_chart
from reports.snapshots.tasks import build_snapshot_task

# A build form request above this many periods is refused (use the command for big backfills).
MAX_FORM_PERIODS = 400


def queue_build(kind: str, label: str) -> None:
    build_snapshot_task.delay_on_commit(kind, label)


class BuildSnapshotForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k.title()) for k in KINDS])
    first = forms.CharField(
        label=_("Period"),
        help_text=_("2025-11-03 (daily), 2025-W46 (weekly) or 2025-11 (monthly). Empty: last closed."),
    )
    last = forms.CharField(
        label=_("Up to (optional)"), required=False, help_text=_("Same format; builds every period in between.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first"].required = False

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        try:
            first = parse_label(kind, data["first"]) if data.get("first") else last_closed(kind)
            last = parse_label(kind, data["last"]) if data.get("last") else first
            periods = periods_between(kind, first, last)
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from None
        if any(not p.is_closed() for p in periods):
            raise forms.ValidationError(_("Only closed periods can be built; the last one has not ended yet."))
        if len(periods) > MAX_FORM_PERIODS:
            raise forms.ValidationError(
                _("%(periods)s periods is too many here; use manage.py build_snapshot --from/--to.")
                % {"periods": len(periods)}
            )
        data["periods"] = periods
        return data


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "period_label", "status_badge", "stale", "built_at", "duration_ms", "builds"]
    list_filter = ["kind", "status", "stale"]
    search_fields = ["period_label"]
    date_hierarchy = "period_start"
    ordering = ["-period_start", "kind"]
    actions = ["rebuild_selected"]
    change_list_template = "admin/reports/snapshot/change_list.html"
    readonly_fields = [f.name for f in Snapshot._meta.fields]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Snapshot):
        return format_html('<span class="wxa-badge wxa-{}">{}</span>', obj.status, obj.get_status_display())

    def get_queryset(self, request):
        # The list never shows `data`; years of snapshots should not drag their JSON along.
        return super().get_queryset(request).defer("data")

    def has_add_permission(self, request) -> bool:
        return False  # snapshots are built, not typed in: see "Build snapshot"

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def get_urls(self):
        own = [
            path("build/", self.admin_site.admin_view(self.build_view), name="reports_snapshot_build"),
            path("<int:pk>/rebuild/", self.admin_site.admin_view(self.rebuild_view), name="reports_snapshot_rebuild"),
        ]
        return own + super().get_urls()

    @admin.action(description=_("Rebuild selected snapshots"), permissions=["change"])
    def rebuild_selected(self, request, queryset):
        with transaction.atomic():
            for snapshot in queryset.only("kind", "period_label"):
                queue_build(snapshot.kind, snapshot.period_label)
        self.message_user(
            request, _("Queued %(count)s rebuild(s). Stale flags clear when they finish.") % {"count": queryset.count()}
        )

    def rebuild_view(self, request, pk: int):
        snapshot = get_object_or_404(Snapshot, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, snapshot):
            raise PermissionDenied
        queue_build(snapshot.kind, snapshot.period_label)
        self.message_user(request, _("Queued a rebuild of %(snapshot)s.") % {"snapshot": snapshot})
        return redirect(reverse("admin:reports_snapshot_change", args=[snapshot.pk]))

    def build_view(self, request):
        if not request.user.has_perm("reports.add_snapshot"):
            raise PermissionDenied
        form = BuildSnapshotForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            periods = form.cleaned_data["periods"]
            with transaction.atomic():
                for period in periods:
                    queue_build(form.cleaned_data["kind"], period.label)
            self.message_user(
                request,
                _("Queued %(periods)s %(kind)s build(s): %(label)s … %(label_2)s.")
                % {
                    "periods": len(periods),
                    "kind": form.cleaned_data["kind"],
                    "label": periods[0].label,
                    "label_2": periods[-1].label,
                },
            )
            return redirect(reverse("admin:reports_snapshot_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": _("Build snapshots"),
        }
        return TemplateResponse(request, "admin/reports/snapshot/build.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        snapshot = get_object_or_404(Snapshot, pk=object_id)
        if not self.has_view_or_change_permission(request, snapshot):
            raise PermissionDenied
        can_export = request.user.has_perm("reports.export_snapshot")
        sections = [
            {
                **section,
                "svg": section_chart(section),
                "csv_url": reverse("snapshot-section-csv", args=[snapshot.pk, section["key"]]) if can_export else None,
            }
            for section in snapshot.sections
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": snapshot,
            "snapshot": snapshot,
            "data": snapshot.data,
            "sections": sections,
            "title": str(snapshot),
            "can_rebuild": self.has_change_permission(request, snapshot),
            "previous": Snapshot.objects.filter(kind=snapshot.kind, period_start__lt=snapshot.period_start)
            .order_by("-period_start")
            .first(),
            "next": Snapshot.objects.filter(kind=snapshot.kind, period_start__gt=snapshot.period_start)
            .order_by("period_start")
            .first(),
        }
        return TemplateResponse(request, "admin/reports/snapshot/detail.html", context)


@admin.register(SnapshotSubscription)
class SnapshotSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "user_email", "created_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]

    @admin.display(description="email")
    def user_email(self, obj):
        return obj.user.email or "— (no address: nothing is sent)"


@admin.register(Archive)
class ArchiveAdmin(admin.ModelAdmin):
    list_display = ["__str__", "started_at", "finished_at", "duration_ms", "file_summary", "error"]
    readonly_fields = ["month", "file_table", "started_at", "finished_at", "duration_ms", "error"]
    exclude = ["files"]

    def get_urls(self):
        return [
            path(
                "<int:pk>/download/<str:name>/",
                self.admin_site.admin_view(self.download_view),
                name="reports_archive_download",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("files"))
    def file_summary(self, obj):
        files = obj.files or {}
        if not files:
            return "–"
        return format_html_join(
            ", ",
            "{}: {} ({})",
            ((name, _rows(info), filesizeformat(info.get("bytes") or 0)) for name, info in files.items()),
        )

    @admin.display(description=_("files"))
    def file_table(self, obj):
        files = obj.files or {}
        if not files:
            return _("No files yet.")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>',
            (
                (
                    reverse("admin:reports_archive_download", args=[obj.pk, name]),
                    name,
                    _rows(info),
                    filesizeformat(info.get("bytes") or 0),
                    info.get("path", ""),
                )
                for name, info in files.items()
            ),
        )
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>", _("File"), _("Rows"), _("Size"), _("Stored at")
        )
        return format_html("<table>{}{}</table>", head, rows)

    def download_view(self, request, pk: int, name: str):
        """The archived file, to users who may view archives: it holds personal data, so it is
        never served as public media."""
        archive = get_object_or_404(Archive, pk=pk)
        if not self.has_view_permission(request, archive):
            raise PermissionDenied
        info = (archive.files or {}).get(name)
        if not info or not info.get("path") or not default_storage.exists(info["path"]):
            raise Http404(_("This archive has no such file (any more)."))
        stored = default_storage.open(info["path"], "rb")
        return FileResponse(stored, as_attachment=True, filename=info["path"].rsplit("/", 1)[-1])

    def has_add_permission(self, request) -> bool:
        return False


def _rows(info: dict) -> str:
    return gettext("%(rows)s rows") % {"rows": f"{info.get('rows', 0):,}"}
