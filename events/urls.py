from django.urls import path, re_path

from events.api import EventIngestView
from events.identity_api import IdentifyView
from events.imports.api import ImportView
from events.privacy.api import PersonErasureView, PersonExportView
from events.shortlinks import short_link
from events.wechat import views as wechat_views

urlpatterns = []

# Event API (docs/ingest.md).
urlpatterns += [
    path("api/v1/events", EventIngestView.as_view(), name="events-ingest"),
]

# Short links: /r/<scene> of a placement (docs/ingest.md).
urlpatterns += [
    path("r/<str:code>", short_link, name="short-link"),
]

# WeChat callbacks (docs/wechat.md).
urlpatterns += [
    path("wechat/pay/<str:mchid>/notify/", wechat_views.pay_notify, name="wechat-pay-notify"),
    path("wechat/<str:appid>/", wechat_views.official_account_push, name="wechat-push"),
    # The same without the trailing slash: WeChat does not follow APPEND_SLASH redirects on POST.
    re_path(r"^wechat/pay/(?P<mchid>[^/]+)/notify$", wechat_views.pay_notify),
    re_path(r"^wechat/(?P<appid>[^/]+)$", wechat_views.official_account_push),
]

# Imports of ad spend and WeChat statistics (docs/imports.md).
urlpatterns += [
    path("api/v1/imports/<str:kind>", ImportView.as_view(), name="import-csv"),
]

# Identity: join the ids of one person (docs/wechat.md).
urlpatterns += [
    path("api/v1/identify", IdentifyView.as_view(), name="identify"),
]

# Personal-data rights: export or erase a person (docs/privacy.md).
urlpatterns += [
    path("api/v1/people/export", PersonExportView.as_view(), name="people-export"),
    path("api/v1/people/erase", PersonErasureView.as_view(), name="people-erase"),
]
