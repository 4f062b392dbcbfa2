from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = _("Events")

    def ready(self):
        # Connects events.tasks' receivers (the person rewrite queued after identity changes)
        # in every process, not only in workers, which import the tasks anyway.
        from events import tasks  # noqa: F401
