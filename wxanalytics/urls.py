from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from wxanalytics.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),  # liveness probe: 204, no DB (wxanalytics/health.py)
    path("", RedirectView.as_view(pattern_name="dashboard"), name="root"),
    # Events first: the event API and short links take almost every request, and Django
    # tries patterns in order (the API router's many patterns cost ~0.3 ms per miss).
    path("", include("events.urls")),
    path("admin/", admin.site.urls),
    # POST /i18n/setlang/ (Django's set_language): the header's language switch.
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and Redoc are served from our own static files (drf-spectacular-sidecar): no CDN
    # (often unreachable from China) and no inline script (our CSP allows none).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include("campaigns.urls")),
    path("", include("reports.urls")),
]
