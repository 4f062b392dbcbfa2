"""Security wiring that applies to every page: a Content Security Policy, a limit on admin
login attempts, and NUL characters refused in addresses."""

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils.translation import gettext as _

# Our pages load scripts, styles and images only from ourselves; charts are server-side SVG.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

LOGIN_PATH = "/admin/login/"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class RefuseNulMiddleware:
    """A NUL character in the path or query string is refused with 400 before any view runs:
    PostgreSQL text cannot hold it, so a filter, search or short-link code containing one
    would otherwise fail inside the database (a 500, or a misleading 503 "unavailable")."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return HttpResponse(
                _("The address contains a NUL character (%00); nothing was looked up."),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def _failures_key(ip: str) -> str:
    return f"login-failures:{ip}"


@receiver(user_login_failed)
def count_login_failure(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    key = _failures_key(_client_ip(request))
    cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    cache.incr(key)


class LoginRateLimitMiddleware:
    """After LOGIN_FAILURE_LIMIT failed logins from one address within the window, further
    login attempts get 429 until the window passes (guessing passwords becomes impractical)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path == LOGIN_PATH:
            failures = cache.get(_failures_key(_client_ip(request)), 0)
            if failures >= settings.LOGIN_FAILURE_LIMIT:
                response = HttpResponse(
                    "Too many failed login attempts from this address. Try again later.",
                    status=429,
                    content_type="text/plain",
                )
                response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_SECONDS)
                return response
        return self.get_response(request)
