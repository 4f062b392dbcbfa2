"""Chunked request bodies at the WSGI entry point (wxanalytics/chunked.py); the same through a
real gunicorn and through the production command: tests/faults/test_slow_clients.py."""

import io

from wxanalytics.chunked import MAX_BYTES, ChunkedBodyMiddleware


def call(environ: dict) -> tuple[str, bytes, dict]:
    seen: dict = {}

    def app(environ, start_response):
        seen["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [])
        return [b"ok"]

    answer: dict = {}

    def start_response(status, headers):
        answer["status"] = status

    body = b"".join(ChunkedBodyMiddleware(app)(environ, start_response))
    return answer["status"], body, seen


def test_a_chunked_body_the_server_ends_is_read_and_given_its_length():
    status, _, seen = call(
        {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True, "wsgi.input": io.BytesIO(b"x" * 70_000)}
    )

    assert status == "200 OK"
    assert seen["body"] == b"x" * 70_000


def test_a_chunked_body_from_a_server_that_does_not_end_it_is_refused_with_411():
    status, body, seen = call({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"[]")})

    assert status.startswith("411")
    assert b"Content-Length" in body
    assert not seen


def test_a_chunked_body_over_the_limit_is_refused_with_413():
    status, _, seen = call(
        {
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
            "wsgi.input": io.BytesIO(b"x" * (MAX_BYTES + 1)),
        }
    )

    assert status.startswith("413")
    assert not seen
