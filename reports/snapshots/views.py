"""The dashboard page and the per-section CSV download (thin: read, render)."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from reports.export.spreadsheet import section_csv
from reports.models import Snapshot
from reports.snapshots.dashboard import dashboard_data
from wxanalytics.replica import reading_reports


@staff_member_required
@permission_required("reports.view_snapshot", raise_exception=True)
def dashboard(request):
    with reading_reports():  # the reports replica when there is one (wxanalytics.replica)
        context = {**admin.site.each_context(request), "board": dashboard_data(), "title": _("Dashboard")}
        return render(request, "reports/dashboard.html", context)


@staff_member_required
@permission_required("reports.export_snapshot", raise_exception=True)
def snapshot_section_csv(request, pk: int, section: str):
    snapshot = get_object_or_404(Snapshot, pk=pk)
    found = snapshot.section(section)
    if found is None:
        raise Http404(_("%(snapshot)s has no section %(section)s.") % {"snapshot": snapshot, "section": repr(section)})
    response = HttpResponse(section_csv(found), content_type="text/csv; charset=utf-8")
    filename = f"{snapshot.kind}-{snapshot.period_label}-{section}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
