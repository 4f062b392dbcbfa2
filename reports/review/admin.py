"""Admin for review entries and reminders. Who may change what is asked of `policy`."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from wxanalytics.readonly_admin import ReadOnlyAdminMixin

from . import policy
from .models import ReviewEntry, ReviewReminder
from .selectors import entry_movement
from .services import save_review_entry
from .weeks import this_week


@admin.register(ReviewEntry)
class ReviewEntryAdmin(admin.ModelAdmin):
    list_display = ("week", "owner", "short_insight", "short_change", "kpi", "change_status", "snapshot_link")
    list_display_links = ("week", "owner")
    list_filter = ("change_status", "week", "kpi", "owner")
    search_fields = ("insight", "change", "outcome_note", "owner__username", "week")
    list_select_related = ("owner", "kpi", "snapshot")
    date_hierarchy = "created_at"
    actions = ("mark_done", "mark_dropped")
    fieldsets = (
        (None, {"fields": ("owner", "week", "insight", "change", "kpi")}),
        (_("Next week: what the change did"), {"fields": ("change_status", "outcome_note", "kpi_movement")}),
        (_("Links"), {"fields": ("snapshot", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = ["snapshot", "kpi_movement", "created_at", "updated_at"]
        if not policy.can_choose_owner(request.user):
            fields.insert(0, "owner")
        return fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"week": str(this_week()), **super().get_changeform_initial_data(request)}

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None or policy.can_choose_owner(request.user):
            return form
        user = request.user

        class OwnEntryForm(form):
            """The owner is the person adding, set before validation so the one-per-week
            check sees it (the owner field is read-only for them)."""

            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                self.instance.owner = user

        return OwnEntryForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return policy.can_add_entry(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return policy.can_change_entry(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return policy.can_delete_entry(request.user, obj)

    def save_model(self, request: HttpRequest, obj: ReviewEntry, form, change: bool) -> None:
        if not change and not policy.can_choose_owner(request.user):
            obj.owner = request.user
        save_review_entry(obj)

    @admin.display(description="insight")
    def short_insight(self, obj: ReviewEntry) -> str:
        return truncatechars(obj.insight, 60)

    @admin.display(description="change")
    def short_change(self, obj: ReviewEntry) -> str:
        return truncatechars(obj.change, 60)

    @admin.display(description="snapshot")
    def snapshot_link(self, obj: ReviewEntry):
        if obj.snapshot_id is None:
            return "—"
        url = reverse("admin:reports_snapshot_change", args=[obj.snapshot_id])
        return format_html('<a href="{}">{}</a>', url, obj.snapshot.period_label)

    @admin.display(description=_("KPI before → after"))
    def kpi_movement(self, obj: ReviewEntry) -> str:
        if obj.pk is None or obj.kpi_id is None:
            return "—"
        move = entry_movement(obj)
        if move is None:
            return "—"
        week = obj.iso_week
        return f"{obj.kpi}: {move.before_shown} ({week.previous()}) → {move.after_shown} ({week.next()})"

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        own = [e.pk for e in queryset.select_related(None) if policy.can_change_entry(request.user, e)]
        updated = ReviewEntry.objects.filter(pk__in=own).update(change_status=status)
        self.message_user(
            request,
            _("%(updated)s change(s) marked %(status)s.") % {"updated": updated, "status": status},
            messages.SUCCESS,
        )
        if skipped := queryset.count() - len(own):
            self.message_user(
                request,
                _("%(skipped)s entry(ies) of other owners left unchanged.") % {"skipped": skipped},
                messages.WARNING,
            )

    @admin.action(description=_("Mark the selected changes done"), permissions=["change"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, ReviewEntry.ChangeStatus.DONE)

    @admin.action(description=_("Mark the selected changes dropped"), permissions=["change"])
    def mark_dropped(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, ReviewEntry.ChangeStatus.DROPPED)


@admin.register(ReviewReminder)
class ReviewReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who was reminded for which week (written only by the Friday task)."""

    deletable = True

    list_display = ("week", "owner", "email", "claimed_at", "sent_at")
    list_filter = ("week",)
    search_fields = ("owner__username", "email", "week")
    list_select_related = ("owner",)
    readonly_fields = ("owner", "week", "email", "claimed_at", "sent_at")
