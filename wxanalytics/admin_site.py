"""The admin site: its index is the home page (reports.home), "View site" opens the dashboard."""

from django.contrib import admin
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from reports.home import home_page
from reports.review import policy as review_policy
from wxanalytics.replica import reading_reports


class SiteAdmin(admin.AdminSite):
    site_header = "wxanalytics"
    site_title = "wxanalytics"
    index_title = _("Home")
    site_url = reverse_lazy("dashboard")
    index_template = "admin/home.html"

    def index(self, request, extra_context=None):
        # The home's numbers come from snapshots: users who may not read them get the plain index.
        home = None
        if request.user.has_perm("reports.view_snapshot"):
            with reading_reports():  # the reports replica when there is one, as the dashboard
                home = home_page()
        can_review = review_policy.can_view_entries(request.user)
        return super().index(request, {**(extra_context or {}), "home": home, "can_review": can_review})
