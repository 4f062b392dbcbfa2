from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from wxanalytics.health import healthz

admin.site.site_header = "wxanalytics"
admin.site.site_title = "wxanalytics"
admin.site.index_title = "Campaigns, events and reports"

urlpatterns = [
    path("healthz", healthz, name="healthz"),  # liveness probe: 204, no DB (wxanalytics/health.py)
    # Events first: the event API and short links take almost every request, and Django
    # tries patterns in order (the API router's many patterns cost ~0.3 ms per miss).
    path("", include("events.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("campaigns.urls")),
    path("", include("reports.urls")),
]
