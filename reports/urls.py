from django.urls import include, path

urlpatterns = [
    path("", include("reports.review.urls")),
    path("", include("reports.snapshots.urls")),
    path("", include("reports.results.urls")),
]
