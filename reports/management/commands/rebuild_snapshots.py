"""Rebuild every existing snapshot, e.g. after a release that changed how a number is
computed (README: "Numbers changed in this release"). One command, with progress."""

from django.core.management.base import BaseCommand, CommandError

from reports.models import Snapshot
from reports.periods import KINDS
from reports.snapshots.build import SnapshotError, build_snapshot


class Command(BaseCommand):
    help = "Rebuild all existing snapshots (or those of one kind, or only the stale ones), oldest first."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=KINDS, help="Only this kind of snapshot.")
        parser.add_argument("--stale-only", action="store_true", help="Only snapshots marked stale.")

    def handle(self, *args, kind=None, stale_only=False, **options):
        snapshots = Snapshot.objects.order_by("period_start", "kind")
        if kind:
            snapshots = snapshots.filter(kind=kind)
        if stale_only:
            snapshots = snapshots.filter(stale=True)
        todo = list(snapshots.values_list("kind", "period_label"))
        failed = 0
        for number, (snapshot_kind, label) in enumerate(todo, start=1):
            try:
                snapshot = build_snapshot(snapshot_kind, label)
            except SnapshotError as exc:
                # A period that has not ended (a snapshot made by hand): say so, keep going.
                failed += 1
                self.stderr.write(f"[{number}/{len(todo)}] {snapshot_kind} {label}: not rebuilt: {exc}")
                continue
            except Exception as exc:  # recorded on the snapshot by build_snapshot
                failed += 1
                self.stderr.write(f"[{number}/{len(todo)}] {snapshot_kind} {label}: failed: {exc}")
                continue
            self.stdout.write(
                f"[{number}/{len(todo)}] {snapshot_kind} {label}: rebuilt in {snapshot.duration_ms} ms "
                f"(build {snapshot.builds})"
            )
        if failed:
            raise CommandError(f"{failed} of {len(todo)} rebuilds failed; see the snapshots' error in admin.")
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {len(todo)} snapshot(s)."))
