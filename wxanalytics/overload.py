"""Requests that waited too long for a worker are refused before any work (issue 17).

In a spike (a QR code on a livestream) requests queue in front of gunicorn's threads. One
that waited longer than its client's patience is answered after the client gave up: nginx
answers 504 at `proxy_read_timeout`, the phone scans again without the cookie it never got,
and a scan or event stored for the request nobody heard of is counted twice (the spike
bench saw 670 of 35,000 scans doubled that way). Refusing a request that has already waited
REQUEST_QUEUE_TIMEOUT_SECONDS — far below nginx's 60 s — with 503 and Retry-After stores
nothing for it, so the client's retry is the only copy, and costs ~0.1 ms instead of a
full request, which lets the queue drain.

The wait is measured from `X-Request-Start: t=<Unix seconds.milliseconds>`, which the nginx
of scripts/serve.py sets on every request (overwriting any a client sent). Without it (bare
gunicorn, the demo) nothing is refused.
"""

import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

RETRY_AFTER_SECONDS = 2


class RefuseStaleRequestsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.REQUEST_QUEUE_TIMEOUT_SECONDS
        start = request.META.get("HTTP_X_REQUEST_START", "")
        if limit > 0 and start.startswith("t="):
            try:
                waited = time.time() - float(start[2:])
            except ValueError:
                waited = 0.0
            if waited > limit:
                message = _("The server is too busy; nothing was recorded. Please try again.")
                # The APIs answer errors as {"error": …}, as their clients expect.
                if request.path.startswith("/api/"):
                    response = JsonResponse({"error": message}, status=503)
                else:
                    response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
                response["Retry-After"] = str(RETRY_AFTER_SECONDS)
                return response
        return self.get_response(request)
