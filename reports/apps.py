from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports.schedule import sync_beat_schedule

        # After every migrate (also in tests): the beat rows exist without a manual step.
        post_migrate.connect(sync_beat_schedule, sender=self, dispatch_uid="reports.sync_beat_schedule")
