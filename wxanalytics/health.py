"""Liveness probe for load balancers and orchestrators: 204, no database, no template.

It is also the floor `bench/web.py` measures the event API against (the same server's
cheapest Django response)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)
