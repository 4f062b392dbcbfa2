from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

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
    # Swagger UI and Redoc are served from our own static files (drf-spectacular-sidecar): no CDN
    # (often unreachable from China) and no inline script (our CSP allows none).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include("campaigns.urls")),
    path("", include("reports.urls")),
]
