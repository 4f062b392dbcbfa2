"""The unplanned events page (K2): names received in the last 30 days that the tracking
plan does not define, and one action that adds the selected ones to the plan. Linked from
the tracking plan's list; thin: authorize, read (events.unplanned), write
(campaigns.services.event_definitions_add), render."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import EventDefinition
from campaigns.services import event_definitions_add
from events.unplanned import COUNT_CAP, MAX_NAMES, WINDOW, unplanned_events


class AddToPlanForm(forms.Form):
    names = forms.MultipleChoiceField(label=gettext_lazy("Event names"), widget=forms.CheckboxSelectMultiple)
    category = forms.ChoiceField(
        label=gettext_lazy("Category"), choices=EventDefinition.Category.choices, initial="key_action"
    )

    def __init__(self, *args, names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["names"].choices = [(name, name) for name in names]


def unplanned_view(model_admin, request):
    if not request.user.has_perm("events.view_event"):
        raise PermissionDenied
    can_add = request.user.has_perm("campaigns.add_eventdefinition")
    found = unplanned_events()
    form = AddToPlanForm(request.POST or None, names=[u.name for u in found])
    if request.method == "POST":
        if not can_add:
            raise PermissionDenied
        if form.is_valid():
            result = event_definitions_add(form.cleaned_data["names"], category=form.cleaned_data["category"])
            if result.added:
                messages.success(
                    request,
                    _("Added to the tracking plan: %(names)s. Give them a stage and a description there.")
                    % {"names": ", ".join(result.added)},
                )
            for line in result.refused:
                messages.error(request, line)
            return redirect(reverse("admin:events_event_unplanned"))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Unplanned events"),
        "found": found,
        "form": form,
        "can_add": can_add,
        "days": WINDOW.days,
        "cap": COUNT_CAP,
        "max_names": MAX_NAMES,
    }
    return TemplateResponse(request, "admin/events/unplanned.html", context)
