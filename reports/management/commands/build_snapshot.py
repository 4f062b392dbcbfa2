"""Build snapshots by hand: one period, the last closed one, or a range (backfill)."""

from django.core.management.base import BaseCommand, CommandError

from reports.periods import KINDS, PeriodError, last_closed, parse_label, periods_between
from reports.snapshots.build import SnapshotError, build_snapshot

OPTION_FOR_KIND = {"daily": "date", "weekly": "week", "monthly": "month"}


class Command(BaseCommand):
    help = "Build (or rebuild) daily, weekly or monthly snapshots. Default: the last closed period."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--date", help="Daily period, YYYY-MM-DD.")
        parser.add_argument("--week", help="Weekly period, ISO week YYYY-Www (e.g. 2025-W46).")
        parser.add_argument("--month", help="Monthly period, YYYY-MM.")
        parser.add_argument("--from", dest="first", help="First period of a backfill (same format as the kind).")
        parser.add_argument("--to", dest="last", help="Last period of a backfill (inclusive).")

    def handle(self, *args, kind, **options):
        periods = self._periods(kind, options)
        failed = 0
        for number, period in enumerate(periods, start=1):
            try:
                snapshot = build_snapshot(kind, period.label)
            except (SnapshotError, PeriodError) as exc:
                raise CommandError(str(exc)) from None
            except Exception as exc:  # recorded on the snapshot; keep going with the backfill
                failed += 1
                self.stderr.write(f"[{number}/{len(periods)}] {kind} {period.label}: failed: {exc}")
                continue
            self.stdout.write(
                f"[{number}/{len(periods)}] {kind} {snapshot.period_label}: built in {snapshot.duration_ms} ms "
                f"({len(snapshot.sections)} sections)"
            )
        if failed:
            raise CommandError(f"{failed} of {len(periods)} builds failed; see the snapshots' error in admin.")
        self.stdout.write(self.style.SUCCESS(f"Built {len(periods)} {kind} snapshot(s)."))

    def _periods(self, kind: str, options: dict):
        own = OPTION_FOR_KIND[kind]
        for other in set(OPTION_FOR_KIND.values()) - {own}:
            if options.get(other):
                raise CommandError(f"--{other} does not apply to {kind} snapshots; use --{own}.")
        single, first, last = options.get(own), options.get("first"), options.get("last")
        try:
            if single and (first or last):
                raise CommandError(f"Use either --{own} or --from/--to, not both.")
            if single:
                return [parse_label(kind, single)]
            if first or last:
                if not (first and last):
                    raise CommandError("A backfill needs both --from and --to.")
                return periods_between(kind, parse_label(kind, first), parse_label(kind, last))
            return [last_closed(kind)]
        except PeriodError as exc:
            raise CommandError(str(exc)) from None
