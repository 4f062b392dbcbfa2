"""The middleware the hot paths do not use, skipped on them (issue 17).

`POST /api/v1/events` (authenticated by its ingest key) and `/r/<code>` (a signed visitor
cookie of its own) never read a session, a logged-in user or a flash message, so on them
Django's session, authentication and messages middleware only cost time
(bench/request_cpu.py, docs/scaling.md "Issue 17"). The classes below are those middleware,
unchanged everywhere else, passing the request straight on for these paths.

Their answers are the same without them: none of the three adds a header or a cookie unless
a session or a message was used, and these views use none. The security middleware
(headers, CSP, stale-request and NUL refusals), CommonMiddleware and Django's own CSRF
middleware still run on every path: CSRF stays whole so that `check --deploy` still sees it
and checks its cookie (its checks look for Django's class by name), and it refuses a POST
to `/r/` as before. (Django's session checks look for the app as well as the middleware,
so `check --deploy` still warns about an insecure session cookie.)
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Session

EVENT_API_PATH = "/api/v1/events"
SHORT_LINK_PREFIX = "/r/"


def is_lean_path(path: str) -> bool:
    return path == EVENT_API_PATH or path.startswith(SHORT_LINK_PREFIX)


class _SkippedOnLeanPaths:
    def __call__(self, request):
        if is_lean_path(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_SkippedOnLeanPaths, _Session):
    pass


class AuthenticationMiddleware(_SkippedOnLeanPaths, _Authentication):
    pass


class MessageMiddleware(_SkippedOnLeanPaths, _Messages):
    pass
