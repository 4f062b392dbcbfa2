from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from campaigns.api import views

router = DefaultRouter()
router.register("kpis", views.KPIViewSet)
router.register("funnel-stages", views.FunnelStageViewSet)
router.register("event-definitions", views.EventDefinitionViewSet)
router.register("campaigns", views.CampaignViewSet)
router.register("placements", views.PlacementViewSet)
router.register("creatives", views.CreativeViewSet)

urlpatterns = [
    path("placements/bulk", views.PlacementBulkView.as_view(), name="placement-bulk"),
    path("placements/print-sheet.pdf", views.PlacementPrintSheetView.as_view(), name="placement-print-sheet"),
    re_path(r"^placements/(?P<pk>[0-9]+)/qr\.(?P<fmt>png|svg)$", views.PlacementQRView.as_view(), name="placement-qr"),
    path("", include(router.urls)),
]
