"""A shorter way through Django for the two requests that take almost all traffic (issue 17).

`POST /api/v1/events` and `GET`/`HEAD /r/<code>` are most of the load at a spike, and
Django's plumbing around them (fourteen middleware, the URL resolver) cost about as much
CPU as their views (bench/request_cpu.py, docs/scaling.md "Issue 17: a hot-path handler").
The handler below builds two middleware chains from settings.MIDDLEWARE: the whole one
for every request, and a short one for exactly these routes, chosen on the method and
path before any middleware runs. The short chain is settings.MIDDLEWARE minus the
middleware listed in SKIPPED_ON_HOT_PATHS (each with why it changes nothing on these
routes), with LocaleMiddleware replaced by one that remembers its choice; a middleware
added to settings.MIDDLEWARE later runs on the hot paths too until someone decides
otherwise here. The view is the one the URLconf names, found by matching only the
two routes' URL patterns (the same matches, arguments and `resolver_match`).

Everything else is Django's: the request and response classes, the request_started and
request_finished signals (connections are checked and closed as on any request),
exception handling and error logging. Any other method or path on these URLs (a POST to
`/r/`, which CSRF refuses; a CORS preflight) takes the whole chain.
tests/events/test_hot_path_parity.py sends a table of requests through both chains and compares the
answers.

settings.MIDDLEWARE stays Django's list, so `check --deploy` finds the CSRF, session and
security middleware it looks for by name.
"""

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.urls import URLPattern, URLResolver, get_resolver, set_urlconf
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.log import log_response
from django.utils.module_loading import import_string

# The URL names of the hot routes, and the methods that take the short chain on each.
HOT_ROUTES = {"events-ingest": {"POST"}, "short-link": {"GET", "HEAD"}}
# A cheap first test of the path, so that every other request pays one comparison.
HOT_PATH_PREFIXES = ("/api/v1/events", "/r/")

SKIPPED_ON_HOT_PATHS = {
    # Serves files under STATIC_URL only (WHITENOISE_ROOT is unset); these paths are not there.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The ingest key and the signed visitor cookie are these routes' own credentials: no
    # session, logged-in user or flash message is read, so none of the three adds a header
    # or a cookie.
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The event API is csrf_exempt and the short link is reached here by GET/HEAD only,
    # which CSRF accepts; neither asks for a token, so no CSRF cookie is set. A POST to
    # /r/ takes the whole chain and is refused by it.
    "django.middleware.csrf.CsrfViewMiddleware",
    # Acts on POST /admin/login/ only.
    "wxanalytics.security.LoginRateLimitMiddleware",
}


class RememberedLocaleMiddleware:
    """Django's LocaleMiddleware for a site without language prefixes in its URLs, with the
    language chosen for a (language cookie, Accept-Language, LANGUAGE_CODE) remembered: the
    same few headers come with almost every request. Same language, same `Vary:
    Accept-Language` and `Content-Language` as Django's (the parity tests compare)."""

    REMEMBERED = 512  # distinct header pairs kept; Accept-Language is the client's to vary

    def __init__(self, get_response):
        if is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]:
            raise ValueError("RememberedLocaleMiddleware does not handle i18n_patterns URLs; use LocaleMiddleware")
        self.get_response = get_response
        self._chosen: dict[tuple[str | None, str, str], str] = {}

    def __call__(self, request):
        translation.activate(self._language(request))
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    def _language(self, request) -> str:
        key = (
            request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
            request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
            settings.LANGUAGE_CODE,
        )
        language = self._chosen.get(key)
        if language is None:
            language = translation.get_language_from_request(request)
            if len(self._chosen) >= self.REMEMBERED:
                self._chosen.clear()
            self._chosen[key] = language
        return language


REPLACED_ON_HOT_PATHS = {"django.middleware.locale.LocaleMiddleware": RememberedLocaleMiddleware}


def hot_path_middleware() -> list:
    """The hot paths' middleware classes, in settings.MIDDLEWARE's order."""
    return [
        REPLACED_ON_HOT_PATHS.get(path) or import_string(path)
        for path in settings.MIDDLEWARE
        if path not in SKIPPED_ON_HOT_PATHS
    ]


def hot_url_patterns() -> list[URLPattern]:
    """The hot routes' own URL patterns, taken from the URLconf. They sit at the root or in
    includes without a prefix, so a pattern's match of the path without its leading slash is
    the URLconf's match (the same view, arguments, route and names)."""
    found = []
    for entry in get_resolver().url_patterns:
        candidates = entry.url_patterns if isinstance(entry, URLResolver) and str(entry.pattern) == "" else [entry]
        found += [p for p in candidates if isinstance(p, URLPattern) and p.name in HOT_ROUTES]
    if sorted(p.name for p in found) != sorted(HOT_ROUTES):
        raise LookupError(f"hot routes not found in the URLconf: {sorted(HOT_ROUTES)}")
    return found


class HotPathMixin:
    """The dispatch between the two chains, for any Django handler (the WSGI one in
    production, the test client's in tests)."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        self._hot_patterns = hot_url_patterns()
        self._hot_views = {}
        handler = convert_exception_to_response(self._get_hot_response)
        for middleware in reversed(hot_path_middleware()):
            handler = convert_exception_to_response(middleware(handler))
        self._hot_chain = handler

    def get_response(self, request):
        match = self.hot_route(request)
        if match is None:
            return super().get_response(request)
        set_urlconf(settings.ROOT_URLCONF)
        request.resolver_match = match
        response = self._hot_chain(request)
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        return response

    def hot_route(self, request):
        """The hot route's match for this request, or None if it takes the whole chain."""
        path = request.path_info
        if not path.startswith(HOT_PATH_PREFIXES):
            return None
        for pattern in self._hot_patterns:
            if match := pattern.resolve(path[1:]):
                return match if request.method in HOT_ROUTES[pattern.name] else None
        return None

    def _get_hot_response(self, request):
        # BaseHandler._get_response for a view without view or template middleware.
        callback, args, kwargs = request.resolver_match
        view = self._hot_views.get(callback)
        if view is None:
            view = self._hot_views[callback] = self.make_view_atomic(callback)
        response = view(request, *args, **kwargs)
        self.check_response(response, callback)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        return response


class HotPathWSGIHandler(HotPathMixin, WSGIHandler):
    pass
