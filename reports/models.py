"""What it means: report snapshots (built once per period, replaced whole on rebuild), who
receives them by email, and the monthly archives."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SnapshotKind(models.TextChoices):
    DAILY = "daily", _("Daily health check")
    WEEKLY = "weekly", _("Weekly review")
    MONTHLY = "monthly", _("Monthly review")


class Snapshot(models.Model):
    """The report of one closed period. `data` is written whole in one UPDATE by the builder
    (reports.snapshots.build), so a reader sees either the previous build or the new one.

    data = {"title": str, "summary": [str], "sections": [{"key", "title", "kind": "table",
    "columns": [...], "rows": [[...]], "chart": {...}|None, "note": str}], ...}
    """

    Kind = SnapshotKind

    class Status(models.TextChoices):
        BUILDING = "building", _("Building")
        BUILT = "built", _("Built")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("kind"))
    period_start = models.DateTimeField(
        help_text=_("Inclusive, in the reporting time zone."), verbose_name=_("period start")
    )
    period_end = models.DateTimeField(help_text=_("Exclusive."), verbose_name=_("period end"))
    period_label = models.CharField(
        max_length=10, help_text=_("2025-11-03, 2025-W46 or 2025-11."), verbose_name=_("period label")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING, verbose_name=_("status"))
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    built_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the data now shown was computed."), verbose_name=_("built at")
    )
    build_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("build started at"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    builds = models.PositiveIntegerField(
        default=0, help_text=_("Successful builds of this period."), verbose_name=_("builds")
    )
    error = models.TextField(blank=True, verbose_name=_("error"))
    stale = models.BooleanField(
        default=False, help_text=_("Events arrived for this period after it was built."), verbose_name=_("stale")
    )
    stale_since = models.DateTimeField(null=True, blank=True, verbose_name=_("stale since"))
    mailed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When subscribers were sent this snapshot."), verbose_name=_("mailed at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        ordering = ["-period_start", "kind"]
        get_latest_by = "period_start"
        permissions = [("export_snapshot", "Can export snapshots as CSV")]
        constraints = [
            models.UniqueConstraint(fields=["kind", "period_start"], name="snapshot_kind_period_start"),
            models.UniqueConstraint(fields=["kind", "period_label"], name="snapshot_kind_period_label"),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")), name="snapshot_period_order"),
            models.CheckConstraint(
                condition=~Q(status="built") | Q(built_at__isnull=False), name="snapshot_built_has_built_at"
            ),
        ]
        indexes = [
            # Dashboard and API: the latest built snapshots of one kind.
            models.Index(fields=["kind", "status", "-period_start"], name="snapshot_kind_status_start"),
            # mark_stale_snapshots: built snapshots not yet stale.
            models.Index(fields=["stale", "status"], name="snapshot_stale_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_label}"

    @property
    def sections(self) -> list[dict]:
        return list((self.data or {}).get("sections", []))

    def section(self, key: str) -> dict | None:
        return next((s for s in self.sections if s.get("key") == key), None)

    @property
    def is_ready(self) -> bool:
        return self.built_at is not None and bool(self.data)

    def mark_stale(self, *, since=None) -> bool:
        """Flag this snapshot stale once (a conditional UPDATE, so concurrent checks agree)."""
        since = since or timezone.now()
        updated = Snapshot.objects.filter(pk=self.pk, stale=False).update(stale=True, stale_since=since)
        if updated:
            self.stale, self.stale_since = True, since
        return bool(updated)


class SnapshotSubscription(models.Model):
    """A user who receives every new snapshot of one kind by email."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="snapshot_subscriptions",
        verbose_name=_("user"),
    )
    kind = models.CharField(max_length=10, choices=SnapshotKind.choices, verbose_name=_("kind"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("snapshot subscription")
        verbose_name_plural = _("snapshot subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="snapshotsubscription_user_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.get_kind_display()}"


class Archive(models.Model):
    """One month written to gzip CSV files in the default storage (R4). Re-running the
    month overwrites the same files and this row."""

    month = models.DateField(unique=True, help_text=_("First day of the archived month."), verbose_name=_("month"))
    files = models.JSONField(
        default=dict, blank=True, help_text=_("name → {path, rows, bytes}"), verbose_name=_("files")
    )
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        verbose_name = _("archive")
        verbose_name_plural = _("archives")
        ordering = ["-month"]

    def __str__(self) -> str:
        return _("Archive %(month)s") % {"month": f"{self.month:%Y-%m}"}


# The Friday review's tables (reports/review/models.py), registered under this app.
from reports.review.models import ReviewEntry, ReviewReminder  # noqa: E402, F401
