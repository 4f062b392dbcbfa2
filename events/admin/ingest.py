"""Admin for ingest: keys (shown once), events (read-only, big-table safe) and rejected rows
(fix and replay)."""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection, connections
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import EventDefinition, SourceAlias
from events.admin.privacy import PersonActionsMixin
from events.admin.unplanned import unplanned_view
from events.ingest.keys import forget_keys
from events.ingest.replay import ReplayRefused, replay_rejected
from events.models import Event, IngestKey, RejectedRow
from wxanalytics.audit import record_bulk_change
from wxanalytics.localize import localize_errors
from wxanalytics.readonly_admin import ReadOnlyAdminMixin
from wxanalytics.replica import reading_reports
from wxanalytics.text import snake_case


class BoundedCountPaginator(Paginator):
    """Never a full COUNT(*) on a big table: count at most LIMIT rows (a COUNT over a
    LIMITed subquery); beyond that, PostgreSQL's planner estimate for an unfiltered list,
    or LIMIT for a filtered one. Page links past the cap still work."""

    LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        # Without ORDER BY: the count may stop at LIMIT rows in any order (no sort first).
        bounded = self.object_list.order_by()[: self.LIMIT + 1].count()
        if bounded <= self.LIMIT:
            return bounded
        query = getattr(self.object_list, "query", None)
        reads = connections[self.object_list.db] if query is not None else connection
        if reads.vendor == "postgresql" and query is not None and not query.where:
            table = self.object_list.model._meta.db_table
            with reads.cursor() as cursor:
                # Summed over the partitions when the table is partitioned (events_event):
                # the parent's own estimate is only set by a manual ANALYZE.
                cursor.execute(
                    "SELECT COALESCE(SUM(GREATEST(reltuples, 0)), 0)::bigint FROM pg_class WHERE relkind = 'r' "
                    "AND (oid = %s::regclass OR oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass))",
                    [table, table],
                )
                (estimate,) = cursor.fetchone()
            return max(int(estimate), bounded)
        return bounded


class BigTableAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def changelist_view(self, request, extra_context=None):
        if request.method != "GET":  # actions read and write the primary
            return super().changelist_view(request, extra_context)
        # Browsing the big tables reads the reports replica when there is one: rendered
        # here, because the page's querysets are evaluated by the template.
        with reading_reports():
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()
        return response


# --- Ingest keys -----------------------------------------------------------------------


class IngestKeyForm(forms.ModelForm):
    class Meta:
        model = IngestKey
        fields = ["name", "source", "kind", "allowed_origins"]
        widgets = {"allowed_origins": forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example.com"})}

    def clean_source(self) -> str:
        source = snake_case(self.cleaned_data["source"])
        if not source:
            raise forms.ValidationError(_("Use letters, digits and '_', e.g. mini_program."))
        return source


@admin.register(IngestKey)
class IngestKeyAdmin(admin.ModelAdmin):
    form = IngestKeyForm
    list_display = ["name", "prefix_shown", "source", "kind", "created_at", "last_used_at", "status"]
    list_filter = ["kind", "source", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "source"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "source", "kind", "allowed_origins"]
        return [
            "name",
            "source",
            "kind",
            "allowed_origins",
            "prefix_shown",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The source scopes the key's event ids; changing it would change what dedupes. A
        # client key that shipped in an app is public for good: trust comes with a new key.
        return ["source", "kind", "prefix_shown", "created_by", "created_at", "last_used_at", "revoked_at"]

    @admin.display(description="prefix")
    def prefix_shown(self, obj: IngestKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="status", ordering="revoked_at")
    def status(self, obj: IngestKey) -> str:
        return "active" if obj.is_active else f"revoked {obj.revoked_at:%Y-%m-%d}"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw_key = IngestKey.generate(
            name=obj.name,
            source=obj.source,
            kind=obj.kind,
            created_by=request.user,
            origins=obj.allowed_origins.splitlines(),
        )
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = key.pk, key.prefix, key.key_hash, key.created_at
        obj.created_by = key.created_by
        obj._state.adding = False
        messages.warning(
            request,
            _(
                "The new key is shown only this once; copy it now: %(key)s  "
                "(only its hash is stored, so it cannot be shown again)."
            )
            % {"key": raw_key},
        )

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        revoked = IngestKey.objects.filter(pk__in=[key.pk for key in keys]).update(revoked_at=timezone.now())
        forget_keys()
        record_bulk_change(request.user, keys, "Revoked.")
        self.message_user(
            request,
            _(
                "Revoked %(revoked)s key(s); requests with them get 401 within %(ingest_key_cache_seconds)s s on every web server."
            )
            % {"revoked": revoked, "ingest_key_cache_seconds": settings.INGEST_KEY_CACHE_SECONDS},
        )


# --- Events ----------------------------------------------------------------------------


class EventNameFilter(admin.SimpleListFilter):
    """Choices from the tracking plan: a DISTINCT over the events table would scan it."""

    title = gettext_lazy("event name")
    parameter_name = "event_name"

    def lookups(self, request, model_admin):
        return [(name, name) for name in EventDefinition.objects.order_by("name").values_list("name", flat=True)]

    def queryset(self, request, queryset):
        return queryset.filter(event_name=self.value()) if self.value() else queryset


class SourceFilter(admin.SimpleListFilter):
    """Choices from the key sources and the source alias table (no scan of events)."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        names = set(IngestKey.objects.values_list("source", flat=True))
        names |= set(SourceAlias.objects.values_list("canonical", flat=True))
        return [(name, name) for name in sorted(names) if name]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, PersonActionsMixin, BigTableAdmin):
    list_display = [
        "event_name",
        "user_id",
        "source",
        "campaign_code",
        "page",
        "value",
        "currency",
        "ts",
        "received_at",
    ]
    list_filter = [EventNameFilter, SourceFilter, "campaign", ("received_at", admin.DateFieldListFilter)]
    # Exact matches only: they use the (user_id, ts) index; icontains would scan.
    # Exact (not "=", which is iexact → UPPER(col), no index): openids are case-sensitive; served by
    # event_user_ts and event_event_id (1M events: 793 ms → 10 ms).
    search_fields = ["user_id__exact", "event_id__exact"]
    search_help_text = "Exact user id or event id."
    ordering = ["-received_at"]
    readonly_fields = [field.name for field in Event._meta.fields if field.name != "properties"] + ["properties_shown"]
    exclude = ["properties"]

    def get_urls(self):
        view = self.admin_site.admin_view(lambda request: unplanned_view(self, request))
        return [path("unplanned/", view, name="events_event_unplanned"), *super().get_urls()]

    @admin.display(description="properties")
    def properties_shown(self, obj: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.properties, indent=2, ensure_ascii=False))


# --- Rejected rows ---------------------------------------------------------------------


class ChannelFilter(admin.SimpleListFilter):
    title = "channel"
    parameter_name = "channel"
    KNOWN = ["api", "csv", "short_link", "wechat_push", "wechat_pay", "import"]

    def lookups(self, request, model_admin):
        return [(name, name) for name in self.KNOWN]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if self.value() == "import":
            return queryset.filter(channel__startswith="import")
        return queryset.filter(channel=self.value())


@admin.register(RejectedRow)
class RejectedRowAdmin(BigTableAdmin):
    list_display = ["received_at", "channel", "reason", "status", "row_index", "errors_shown", "ingest_key"]
    list_filter = ["status", "reason", ChannelFilter]
    list_select_related = ["ingest_key"]
    ordering = ["-received_at"]
    actions = ["replay", "dismiss"]
    fields = [
        "raw",
        "errors_pretty",
        "reason",
        "status",
        "channel",
        "source",
        "ingest_key",
        "row_index",
        "received_at",
        "replayed_at",
        "replayed_by",
    ]
    readonly_fields = [name for name in fields if name != "raw"]  # only the raw content is fixable
    change_form_template = "admin/events/rejectedrow/change_form.html"

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != RejectedRow.Status.OPEN:
            return self.fields  # replayed or dismissed: kept as it was
        return self.readonly_fields

    def get_object(self, request, object_id, from_field=None):
        # A POST to the change form ("Save", "Save and replay") locks the row for the
        # admin's transaction before it is read, so a second tab waits, then sees it replayed.
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method == "POST":
            obj = RejectedRow.objects.select_for_update(of=("self",)).filter(pk=obj.pk).first()
        return obj

    def save_model(self, request, obj, form, change):
        # Only the raw content is editable; writing every field would put back a status
        # read before another tab's replay.
        if change and "raw" in form.changed_data:
            obj.save(update_fields=["raw"])
        elif not change:
            super().save_model(request, obj, form, change)

    # Errors are stored in English (they are data, replayed and compared) and shown in the
    # reader's language (docs/i18n.md, "Ingest errors").
    @admin.display(description=_("errors"))
    def errors_shown(self, obj: RejectedRow) -> str:
        text = "; ".join(f"{field}: {why}" for field, why in localize_errors(obj.errors or {}).items())
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description=_("errors"))
    def errors_pretty(self, obj: RejectedRow) -> str:
        return format_html("<pre>{}</pre>", json.dumps(localize_errors(obj.errors), indent=2, ensure_ascii=False))

    @admin.action(description=_("Replay selected rows through ingest"), permissions=["change"])
    def replay(self, request, queryset):
        stored = still_bad = refused = 0
        for rejected in queryset.filter(status=RejectedRow.Status.OPEN).select_related("ingest_key")[:1000]:
            try:
                replayed = replay_rejected(rejected, user=request.user)
            except ReplayRefused:  # replayed or dismissed by someone else meanwhile
                refused += 1
                continue
            if replayed:
                stored += 1
            else:
                still_bad += 1
        level = messages.SUCCESS if not (still_bad or refused) else messages.WARNING
        message = _("Replayed %(stored)d row(s); %(still_bad)d still rejected (errors updated).") % {
            "stored": stored,
            "still_bad": still_bad,
        }
        if refused:
            message += " " + _("%(refused)d skipped: no longer open.") % {"refused": refused}
        self.message_user(request, message, level)

    @admin.action(description=_("Dismiss selected rows"), permissions=["change"])
    def dismiss(self, request, queryset):
        dismissed = queryset.filter(status=RejectedRow.Status.OPEN).update(status=RejectedRow.Status.DISMISSED)
        self.message_user(request, _("Dismissed %(dismissed)s row(s).") % {"dismissed": dismissed})

    def response_change(self, request, obj):
        if "_replay" not in request.POST:
            return super().response_change(request, obj)
        try:
            replayed = replay_rejected(obj, user=request.user)
        except ReplayRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)
        if replayed:
            self.message_user(request, _("Replayed: the row is stored now."), messages.SUCCESS)
        else:
            self.message_user(request, _("Still rejected; the errors below are updated."), messages.WARNING)
        return HttpResponseRedirect(request.path)
