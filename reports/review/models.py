"""Review entries and the reminders sent for them. Imported by reports/models.py, so the
tables belong to the `reports` app."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from reports.periods import Period

from .weeks import ISO_WEEK_PATTERN, parse_review_week, validate_iso_week


def duplicate_entry_message(week: str) -> str:
    return f"You already logged an entry for {week} — edit it instead."


class ReviewEntry(models.Model):
    """One owner's insight and change for one ISO week (exactly one per owner per week)."""

    class ChangeStatus(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_entries", verbose_name=_("owner")
    )
    week = models.CharField(
        max_length=8,
        validators=[validate_iso_week],
        help_text=_("ISO week the entry is for, e.g. 2025-W46."),
        verbose_name=_("week"),
    )
    insight = models.TextField(
        help_text=_("What the numbers told you this week — one insight."), verbose_name=_("insight")
    )
    change = models.TextField(help_text=_("The one change you will make because of it."), verbose_name=_("change"))
    kpi = models.ForeignKey(
        "campaigns.KPI",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_entries",
        help_text=_("The KPI the change aims to move."),
        verbose_name=_("kpi"),
    )
    snapshot = models.ForeignKey(
        "reports.Snapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_entries",
        help_text=_("The weekly snapshot of this week; linked automatically when it exists."),
        verbose_name=_("snapshot"),
    )
    change_status = models.CharField(
        max_length=8, choices=ChangeStatus.choices, default=ChangeStatus.PLANNED, verbose_name=_("status of the change")
    )
    outcome_note = models.TextField(
        blank=True, help_text=_("Recorded the following week: what did the change do?"), verbose_name=_("outcome note")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("review entry")
        verbose_name_plural = _("review entries")
        ordering = ["-week", "owner__username"]
        constraints = [
            # Also the index for "this owner's entries" (owner is its leading column).
            models.UniqueConstraint(
                fields=["owner", "week"],
                name="review_entry_one_per_owner_week",
                violation_error_message="You already logged an entry for this week — edit it instead.",
            ),
            models.CheckConstraint(
                condition=models.Q(week__regex=ISO_WEEK_PATTERN),
                name="review_entry_week_is_iso_week",
                violation_error_message="Write the week like 2025-W46.",
            ),
        ]
        indexes = [
            # The review page: all entries of one week.
            models.Index(fields=["week"], name="review_entry_week_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.week} · {self.owner}"

    def get_absolute_url(self) -> str:
        """The week's review page (admin's "View on site")."""
        return reverse("review-week", args=[self.week])

    @property
    def iso_week(self) -> Period:
        return parse_review_week(self.week)

    def clean(self) -> None:
        """Refuse a second entry for the same owner and week with a message naming the week
        (the database constraint stays the final word against races)."""
        if not self.owner_id or not self.week:
            return
        taken = ReviewEntry.objects.filter(owner_id=self.owner_id, week=self.week).exclude(pk=self.pk)
        if taken.exists():
            raise ValidationError({"week": duplicate_entry_message(self.week)}, code="duplicate_week")


class ReviewReminder(models.Model):
    """A Friday reminder to one owner for one week. The row is claimed before the mail goes
    out, so a second run (or a second beat, or a retry) never mails the same person twice."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_reminders", verbose_name=_("owner")
    )
    week = models.CharField(max_length=8, validators=[validate_iso_week], verbose_name=_("week"))
    email = models.EmailField(help_text=_("Where the reminder went."), verbose_name=_("email"))
    claimed_at = models.DateTimeField(auto_now_add=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the mail backend accepted it; empty = claimed, outcome unknown."),
        verbose_name=_("sent at"),
    )

    class Meta:
        verbose_name_plural = _("review reminders")
        verbose_name = _("review reminder")
        ordering = ["-week", "owner__username"]
        constraints = [
            # Also the index for "was this owner reminded this week?".
            models.UniqueConstraint(fields=["owner", "week"], name="review_reminder_one_per_owner_week"),
        ]

    def __str__(self) -> str:
        return f"{self.week} · {self.owner}"
