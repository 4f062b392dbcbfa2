"""Client keys used from web pages: allowed origins and CORS (docs/ingest.md "Origins and CORS").

A client key with allowed origins (`IngestKey.allowed_origins`) may be used from browsers on
those origins only, and the event API answers CORS for them:

1. Preflight (`OPTIONS` with `Origin`). The browser sends no Authorization header with it, so
   the key is not known yet: an origin allowed on *any* active client key gets the CORS
   answer, every other origin a 403 saying so.
2. The request itself: the key is known. An Origin that is not on this key's list is refused
   with 403 (`IngestKey.allows_origin`); an allowed one gets `Access-Control-Allow-Origin`
   with it on every answer, so the snippet can read 4xx bodies and `Retry-After`.

Keys without origins keep answering without CORS headers, as before. Requests without an
Origin header (Mini Program, servers) are not restricted: see `IngestKey.allows_origin`.
"""

from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from events.models import IngestKey
from wxanalytics.process_cache import ProcessCache

ALLOWED_METHODS = "POST"
# Every header the snippet sends that is not CORS-safelisted.
ALLOWED_HEADERS = "Authorization, Content-Type, X-Wxa-Device"
# The snippet backs off by Retry-After on 429 and 503.
EXPOSED_HEADERS = "Retry-After"
# Browsers cap it (Chromium at 2 h); an origin removed from every key is refused by the
# request itself anyway, so a cached preflight cannot let anything through.
PREFLIGHT_MAX_AGE = 600


def request_origin(request: HttpRequest) -> str | None:
    # META, not request.headers: the latter builds a dict of every header on first use
    # (~5 % of a single event's CPU), for the one header wanted here.
    return request.META.get("HTTP_ORIGIN")


def configured_origins() -> frozenset[str]:
    """Origins allowed on any active client key (one query, remembered like the keys)."""
    origins = _recent.get("origins")
    if origins is None:
        texts = IngestKey.objects.filter(kind=IngestKey.Kind.CLIENT, revoked_at__isnull=True).exclude(
            allowed_origins=""
        )
        origins = frozenset(
            line.strip() for text in texts.values_list("allowed_origins", flat=True) for line in text.splitlines()
        ) - {""}
        _recent.put("origins", origins)
    return origins


def preflight(request: HttpRequest) -> HttpResponse | None:
    """The answer to a CORS preflight, or None when the request is not one (no Origin)."""
    origin = request_origin(request)
    if origin is None:
        return None
    if origin not in configured_origins():
        response = JsonResponse(
            {
                "error": _(
                    "Origin %(origin)s is not allowed on any client ingest key; add it to the key's allowed "
                    "origins (admin → Ingest keys, or create_ingest_key --origin)."
                )
                % {"origin": origin}
            },
            status=403,
        )
    else:
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    patch_vary_headers(response, ["Origin"])
    return response


def origin_refusal(key: IngestKey, request: HttpRequest) -> str | None:
    """Why this key may not be used from the request's origin, or None if it may. In English:
    it is kept with the refused body and translated when shown (docs/i18n.md)."""
    origin = request_origin(request)
    if key.allows_origin(origin):
        return None
    return gettext_noop(
        "This ingest key (%(prefix)s…) may be used only from %(allowed)s; this request came from %(origin)s. "
        "Add the origin to the key's allowed origins if the page is yours."
    ) % {"prefix": key.prefix, "allowed": ", ".join(sorted(key.origins)), "origin": origin}


def allow_origin(response: HttpResponse, key: IngestKey, request: HttpRequest) -> HttpResponse:
    """Add the CORS headers when the key allows the request's origin explicitly."""
    origin = request_origin(request)
    if origin is not None and key.is_client and origin in key.origins:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if key.origins:
        patch_vary_headers(response, ["Origin"])
    return response


# A page sends a preflight before most batches (Max-Age caps how long one is reused); the
# list changes when someone edits a key. An edit applies at once in the process that saved
# it and within INGEST_KEY_CACHE_SECONDS elsewhere, like a revoked key.
_recent: ProcessCache[frozenset[str]] = ProcessCache("INGEST_KEY_CACHE_SECONDS")
forget_origins = _recent.clear
post_save.connect(_recent.clear, sender=IngestKey, dispatch_uid="forget-origins-on-save")
post_delete.connect(_recent.clear, sender=IngestKey, dispatch_uid="forget-origins-on-delete")
