from django.urls import path

from .api import CampaignPlacementsView
from .views import campaign_placements

urlpatterns = [
    path("reports/campaigns/<int:pk>/placements/", campaign_placements, name="campaign-placements"),
    path("api/v1/campaigns/<int:pk>/placements", CampaignPlacementsView.as_view(), name="campaign-placements-api"),
]
