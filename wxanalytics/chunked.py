"""Chunked request bodies, read or refused — never taken as empty.

Django reads CONTENT_LENGTH bytes of a request and treats a missing length as an empty
body. A body sent with `Transfer-Encoding: chunked` has no length, so the event API once
answered "the body is empty" to a full batch. nginx (scripts/serve.py) de-chunks bodies
before they reach us; this WSGI wrapper covers a server that does not: when the server
says it ends the input itself (`wsgi.input_terminated`, as gunicorn does), the body is read
here, up to MAX_BYTES, into a spooled file and given its length; otherwise the request is
refused with 411 Length Required.
"""

import tempfile

MAX_BYTES = 32 * 1024 * 1024  # nginx's client_max_body_size in scripts/serve.py
MEMORY_BYTES = 1024 * 1024  # larger bodies spill to a temporary file
READ_SIZE = 64 * 1024


def _refuse(start_response, status: str, message: str) -> list[bytes]:
    body = message.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


class ChunkedBodyMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _refuse(start_response, "411 Length Required", "Send the body with a Content-Length.")
        # Not a with-block: the app reads it after this returns; it closes when collected.
        spool = tempfile.SpooledTemporaryFile(max_size=MEMORY_BYTES)  # noqa: SIM115
        size = 0
        while chunk := environ["wsgi.input"].read(READ_SIZE):
            size += len(chunk)
            if size > MAX_BYTES:
                spool.close()
                return _refuse(
                    start_response, "413 Request Entity Too Large", f"The body is larger than {MAX_BYTES:,} bytes."
                )
            spool.write(chunk)
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(size)
        return self.app(environ, start_response)
