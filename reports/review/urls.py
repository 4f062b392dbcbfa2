from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .api import ReviewEntryViewSet
from .views import review_week

router = SimpleRouter()
router.register("reviews", ReviewEntryViewSet, basename="review-entry")

urlpatterns = [
    path("review/", review_week, name="review"),
    path("review/<str:week>/", review_week, name="review-week"),
    path("api/v1/", include(router.urls)),
]
