import os

from celery import Celery
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxanalytics.settings")

app = Celery("wxanalytics")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Database connection errors: the only failures a task retries by itself (with backoff);
# anything else is a bug or bad input that a retry would repeat.
TRANSIENT = (OperationalError, InterfaceError)
