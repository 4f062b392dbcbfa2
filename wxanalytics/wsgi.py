import os

from django.core.wsgi import get_wsgi_application

from wxanalytics.chunked import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxanalytics.settings")
application = ChunkedBodyMiddleware(get_wsgi_application())
