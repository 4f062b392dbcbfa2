"""Admin for personal-data rights (docs/privacy.md): the erasure records, a "person" page
to export or erase anyone from one of their ids, and the same two actions on the events
and identities lists. The work is done by events.privacy; this only asks and answers."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.identity import MAX_ID_LENGTH, IdentityError
from events.models import ErasureRecord
from events.privacy import ERASE_PERMISSION, EXPORT_PERMISSION
from events.privacy.erase import erase_person
from events.privacy.export import export_response
from events.privacy.lookup import Person, find_person
from wxanalytics.readonly_admin import ReadOnlyAdminMixin


class PersonForm(forms.Form):
    person_id = forms.CharField(
        label=gettext_lazy("Any id of the person"),
        max_length=MAX_ID_LENGTH,
        help_text=gettext_lazy("openid, unionid, alias or user_id: every id linked to it is included."),
    )
    note = forms.CharField(
        label=gettext_lazy("Request reference"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Kept in the erasure record. Never the person's ids or name."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that erasing cannot be undone"),
        required=False,
    )


# Records are written only by an erasure and kept as evidence.
@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "erased_at",
        "trigger",
        "requested_by_name",
        "note",
        "events",
        "event_keys",
        "identities",
        "rejected_rows",
        "unionid_lookups",
        "stale_snapshots",
    ]
    list_filter = ["trigger", ("erased_at", admin.DateFieldListFilter)]
    search_fields = ["note", "requested_by_name"]
    date_hierarchy = "erased_at"
    readonly_fields = [field.name for field in ErasureRecord._meta.fields]
    change_list_template = "admin/events/erasurerecord/change_list.html"

    def has_module_permission(self, request):
        return super().has_module_permission(request) or _may_use_person_page(request.user)

    def get_urls(self):
        person = path("person/", self.admin_site.admin_view(self.person_view), name="events_erasurerecord_person")
        return [person, *super().get_urls()]

    def person_view(self, request):
        """GET: the form. POST action=export: the document; action=erase: erase, then the record."""
        if not _may_use_person_page(request.user):
            raise PermissionDenied
        form = PersonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            action = request.POST.get("action")
            try:
                person = find_person(form.cleaned_data["person_id"])
            except IdentityError as exc:
                form.add_error("person_id", str(exc))
            else:
                if action == "export":
                    if not request.user.has_perm(EXPORT_PERMISSION):
                        raise PermissionDenied
                    return export_response(person, user=request.user)
                if action == "erase":
                    if not request.user.has_perm(ERASE_PERMISSION):
                        raise PermissionDenied
                    if not form.cleaned_data["confirm"]:
                        form.add_error("confirm", _("Tick this box to erase."))
                    else:
                        record = erase_person(
                            form.cleaned_data["person_id"], requested_by=request.user, note=form.cleaned_data["note"]
                        )
                        self.message_user(request, _erased_message(record), messages.SUCCESS)
                        return HttpResponseRedirect(reverse("admin:events_erasurerecord_change", args=[record.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Export or erase a person"),
            "form": form,
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
            "can_erase": request.user.has_perm(ERASE_PERMISSION),
        }
        return TemplateResponse(request, "admin/events/person.html", context)


def _may_use_person_page(user) -> bool:
    return user.has_perm(EXPORT_PERMISSION) or user.has_perm(ERASE_PERMISSION)


def _erased_message(record: ErasureRecord) -> str:
    return _(
        "Erased: %(events)d events, %(identities)d identity links, %(rejected)d rejected rows, %(lookups)d "
        "unionid look-ups; %(keys)d dedupe keys kept as erased; %(snapshots)d snapshots marked stale for a rebuild."
    ) % {
        "events": record.events,
        "keys": record.event_keys,
        "identities": record.identities,
        "rejected": record.rejected_rows,
        "lookups": record.unionid_lookups,
        "snapshots": record.stale_snapshots,
    }


class PersonActionsMixin:
    """ "Export this person" / "Erase this person" on a list whose rows carry a user_id."""

    person_field = "user_id"
    actions = ["export_person", "erase_person"]

    def has_export_person_permission(self, request) -> bool:
        return request.user.has_perm(EXPORT_PERMISSION)

    def has_erase_person_permission(self, request) -> bool:
        return request.user.has_perm(ERASE_PERMISSION)

    def _one_person(self, request, queryset) -> Person | None:
        # At most 100 distinct ids are looked up (two queries each): enough to tell one
        # person's rows from several people's.
        values = queryset.order_by().values_list(self.person_field, flat=True).distinct()[:100]
        people = {find_person(value).ids: value for value in values}
        if len(people) != 1:
            self.message_user(request, _("Select the rows of exactly one person."), messages.ERROR)
            return None
        return find_person(next(iter(people.values())))

    @admin.action(description=gettext_lazy("Export the selected person's data (JSON)"), permissions=["export_person"])
    def export_person(self, request, queryset):
        person = self._one_person(request, queryset)
        return export_response(person, user=request.user) if person else None

    @admin.action(description=gettext_lazy("Erase the selected person…"), permissions=["erase_person"])
    def erase_person(self, request, queryset):
        person = self._one_person(request, queryset)
        if person is None:
            return None
        form = PersonForm(initial={"person_id": person.asked})
        context = {
            **self.admin_site.each_context(request),
            "opts": ErasureRecord._meta,
            "title": _("Erase a person"),
            "form": form,
            "person": person,
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
            "can_erase": True,
        }
        return TemplateResponse(request, "admin/events/person.html", context)
