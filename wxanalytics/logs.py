"""Keep WeChat's signed query values out of logs.

An Official Account push carries `signature`, `msg_signature`, `nonce` and `timestamp` in
its query string; in plaintext mode the signature does not cover the body, so a signed
query read from a log could be replayed with any XML until the freshness window
(WECHAT_PUSH_MAX_AGE_SECONDS) closes. Both the WSGI server's access log and Django's
request logging write the query, so both pass through `redact`:
- gunicorn: `--logger-class wxanalytics.logs.GunicornLogger` (the README's command);
- Django: the `redact_signatures` filter on the console handler (settings.LOGGING).
"""

import logging
import re

from gunicorn.glogging import Logger

SECRET_PARAMS = ("signature", "msg_signature", "nonce", "echostr")
REDACTED = "[redacted]"
# name=value in a query string, wherever it appears in a line (request line, URL, message).
_SECRET_VALUE = re.compile(r"(?i)(?<![A-Za-z0-9_])(" + "|".join(SECRET_PARAMS) + r")=[^&\s\"']*")


def redact(text: str) -> str:
    """`text` with the values of signed query parameters replaced by [redacted]."""
    return _SECRET_VALUE.sub(lambda match: f"{match.group(1)}={REDACTED}", text)


class GunicornLogger(Logger):
    """gunicorn's logger with the request line, query and referrer redacted in access logs."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "q", "f"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms


class RedactSignatures(logging.Filter):
    """Redacts the formatted message of every record it sees (runserver's request lines,
    django.request's warnings, anything that logs a URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
