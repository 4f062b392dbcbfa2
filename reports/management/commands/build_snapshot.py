"""Build snapshots by hand: one period, the last closed one, or a range (backfill)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.periods import KINDS, PeriodError, last_closed, parse_label, periods_between
from reports.snapshots.build import SnapshotError, build_snapshot
from wxanalytics.commands import TranslatedCommand

OPTION_FOR_KIND = {"daily": "date", "weekly": "week", "monthly": "month"}


class Command(TranslatedCommand):
    help = gettext_lazy("Build (or rebuild) daily, weekly or monthly snapshots. Default: the last closed period.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--date", help=_("Daily period, YYYY-MM-DD."))
        parser.add_argument("--week", help=_("Weekly period, ISO week YYYY-Www (e.g. 2025-W46)."))
        parser.add_argument("--month", help=_("Monthly period, YYYY-MM."))
        parser.add_argument("--from", dest="first", help=_("First period of a backfill (same format as the kind)."))
        parser.add_argument("--to", dest="last", help=_("Last period of a backfill (inclusive)."))

    def handle(self, *args, kind, **options):
        periods = self._periods(kind, options)
        failed = 0
        for number, period in enumerate(periods, start=1):
            step = {"number": number, "total": len(periods), "kind": kind, "label": period.label}
            try:
                snapshot = build_snapshot(kind, period.label)
            except (SnapshotError, PeriodError) as exc:
                raise CommandError(str(exc)) from None
            except Exception as exc:  # recorded on the snapshot; keep going with the backfill
                failed += 1
                self.stderr.write(
                    _("[%(number)d/%(total)d] %(kind)s %(label)s: failed: %(error)s") % {**step, "error": exc}
                )
                continue
            self.stdout.write(
                _("[%(number)d/%(total)d] %(kind)s %(label)s: built in %(ms)d ms (%(sections)d sections)")
                % {
                    **step,
                    "label": snapshot.period_label,
                    "ms": snapshot.duration_ms,
                    "sections": len(snapshot.sections),
                }
            )
        if failed:
            raise CommandError(
                _("%(failed)d of %(total)d builds failed; see the snapshots' error in admin.")
                % {"failed": failed, "total": len(periods)}
            )
        self.stdout.write(
            self.style.SUCCESS(_("Built %(count)d %(kind)s snapshot(s).") % {"count": len(periods), "kind": kind})
        )

    def _periods(self, kind: str, options: dict):
        own = OPTION_FOR_KIND[kind]
        for other in set(OPTION_FOR_KIND.values()) - {own}:
            if options.get(other):
                raise CommandError(
                    _("--%(other)s does not apply to %(kind)s snapshots; use --%(own)s.")
                    % {"other": other, "kind": kind, "own": own}
                )
        single, first, last = options.get(own), options.get("first"), options.get("last")
        try:
            if single and (first or last):
                raise CommandError(_("Use either --%(own)s or --from/--to, not both.") % {"own": own})
            if single:
                return [parse_label(kind, single)]
            if first or last:
                if not (first and last):
                    raise CommandError(_("A backfill needs both --from and --to."))
                return periods_between(kind, parse_label(kind, first), parse_label(kind, last))
            return [last_closed(kind)]
        except PeriodError as exc:
            raise CommandError(str(exc)) from None
