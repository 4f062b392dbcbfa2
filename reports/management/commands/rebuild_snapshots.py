"""Rebuild every existing snapshot, e.g. after a release that changed how a number is
computed (README: "Numbers changed in this release"). One command, with progress."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.models import Snapshot
from reports.periods import KINDS
from reports.snapshots.build import SnapshotError, build_snapshot
from wxanalytics.commands import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Rebuild all existing snapshots (or those of one kind, or only the stale ones), oldest first.")

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=KINDS, help=_("Only this kind of snapshot."))
        parser.add_argument("--stale-only", action="store_true", help=_("Only snapshots marked stale."))

    def handle(self, *args, kind=None, stale_only=False, **options):
        snapshots = Snapshot.objects.order_by("period_start", "kind")
        if kind:
            snapshots = snapshots.filter(kind=kind)
        if stale_only:
            snapshots = snapshots.filter(stale=True)
        todo = list(snapshots.values_list("kind", "period_label"))
        failed = 0
        for number, (snapshot_kind, label) in enumerate(todo, start=1):
            step = {"number": number, "total": len(todo), "kind": snapshot_kind, "label": label}
            try:
                snapshot = build_snapshot(snapshot_kind, label)
            except SnapshotError as exc:
                # A period that has not ended (a snapshot made by hand): say so, keep going.
                failed += 1
                self.stderr.write(
                    _("[%(number)d/%(total)d] %(kind)s %(label)s: not rebuilt: %(error)s") % {**step, "error": exc}
                )
                continue
            except Exception as exc:  # recorded on the snapshot by build_snapshot
                failed += 1
                self.stderr.write(
                    _("[%(number)d/%(total)d] %(kind)s %(label)s: failed: %(error)s") % {**step, "error": exc}
                )
                continue
            self.stdout.write(
                _("[%(number)d/%(total)d] %(kind)s %(label)s: rebuilt in %(ms)d ms (build %(builds)d)")
                % {**step, "ms": snapshot.duration_ms, "builds": snapshot.builds}
            )
        if failed:
            raise CommandError(
                _("%(failed)d of %(total)d rebuilds failed; see the snapshots' error in admin.")
                % {"failed": failed, "total": len(todo)}
            )
        self.stdout.write(self.style.SUCCESS(_("Rebuilt %(count)d snapshot(s).") % {"count": len(todo)}))
