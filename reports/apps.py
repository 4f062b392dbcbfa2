from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from events.people import people_moved
        from events.privacy.erase import person_erased
        from reports.privacy import on_person_erased
        from reports.schedule import sync_beat_schedule
        from reports.snapshots.build import on_people_moved

        # After every migrate (also in tests): the beat rows exist without a manual step.
        post_migrate.connect(sync_beat_schedule, sender=self, dispatch_uid="reports.sync_beat_schedule")
        # An erasure marks the snapshots that counted the person stale (in its transaction)
        # and has the archived months rewritten without them (after it commits).
        person_erased.connect(on_person_erased, dispatch_uid="reports.on_person_erased")
        # Events that changed person (an identity link) mark the snapshots that counted them stale.
        people_moved.connect(on_people_moved, dispatch_uid="reports.on_people_moved")
