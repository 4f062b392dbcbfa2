"""The review page: `/review/` is this week, `/review/2025-W46/` any other."""

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from . import policy
from .selectors import review_page
from .weeks import parse_review_week, this_week


@staff_member_required
def review_week(request: HttpRequest, week: str | None = None) -> HttpResponse:
    if not policy.can_view_entries(request.user):
        raise PermissionDenied(_("You need the Analyst or Review owner role to see the review."))
    current = this_week()
    try:
        iso_week = parse_review_week(week) if week else current
    except ValueError as exc:
        raise Http404(str(exc)) from None
    page = review_page(iso_week, current_week=current)
    own = next((row.entry for row in page.owners if row.owner.pk == request.user.pk), None)
    context = {
        "page": page,
        "own_entry": own,
        "can_add": policy.can_add_entry(request.user) and own is None,
    }
    return render(request, "reports/review.html", context)
