from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .api import SnapshotViewSet
from .views import dashboard, snapshot_section_csv

# "/?": `POST /api/v1/snapshots/<id>/rebuild` works with or without the trailing slash.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("snapshots", SnapshotViewSet, basename="snapshot")

urlpatterns = [
    path("dashboard/", dashboard, name="dashboard"),
    path("snapshots/<int:pk>/<slug:section>.csv", snapshot_section_csv, name="snapshot-section-csv"),
    path("api/v1/", include(router.urls)),
]
