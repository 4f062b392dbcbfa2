import os

import django

from wxanalytics.chunked import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxanalytics.settings")
# django.core.wsgi.get_wsgi_application with our handler: the event API and short links
# take a shorter middleware chain (wxanalytics/hot_paths.py).
django.setup(set_prefix=False)

from wxanalytics.hot_paths import HotPathWSGIHandler  # noqa: E402 (needs the apps loaded)

application = ChunkedBodyMiddleware(HotPathWSGIHandler())
