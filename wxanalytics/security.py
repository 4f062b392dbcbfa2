"""Security wiring that applies to every page: a Content Security Policy, a limit on admin
login attempts, and NUL characters refused in addresses."""

import hashlib

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
                _("The address contains a NUL character; nothing was looked up."),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


def client_address(request) -> str:
    """The client's address. Behind TRUSTED_PROXY_COUNT proxies it is the entry that the
    outermost trusted proxy appended to X-Forwarded-For (counted from the right: entries
    further left were written by the client and prove nothing). With fewer entries than
    proxies the header was not written by our proxies, so the socket's address is used."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    return hops[-proxies] if len(hops) >= proxies else remote


def _user_key(username: str, address: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode("utf-8", "backslashreplace")).hexdigest()[:32]
    return f"login-failures:{address}:{digest}"


def _address_key(address: str) -> str:
    return f"login-failures:{address}"


def _count(key: str) -> None:
    cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)


@receiver(user_login_failed)
def count_login_failure(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    address = client_address(request)
    _count(_user_key(str(credentials.get("username", "")), address))
    _count(_address_key(address))


class LoginRateLimitMiddleware:
    """Failed admin logins are counted per user name and client address: after
    LOGIN_FAILURE_LIMIT failures for one name from one address, that pair gets 429 until
    the window passes, so a guesser locks out only itself, never a colleague logging in from
    elsewhere. One address trying many names is stopped after ADDRESS_LIMIT_FACTOR times the
    limit (password spraying)."""

    ADDRESS_LIMIT_FACTOR = 10

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path == LOGIN_PATH:
            address = client_address(request)
            username = request.POST.get("username", "")
            limit = settings.LOGIN_FAILURE_LIMIT
            counts = cache.get_many([_user_key(username, address), _address_key(address)])
            if (
                counts.get(_user_key(username, address), 0) >= limit
                or counts.get(_address_key(address), 0) >= limit * self.ADDRESS_LIMIT_FACTOR
            ):
                response = HttpResponse(
                    _("Too many failed login attempts for this user from this address. Try again later."),
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_SECONDS)
                return response
        return self.get_response(request)
