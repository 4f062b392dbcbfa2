import pytest


@pytest.fixture
def ingest_key(db):
    """(IngestKey, raw key): a server key (it may send anything) with source mini_program."""
    from events.models import IngestKey

    return IngestKey.generate(name="Mini Program backend", source="mini_program", kind="server")


@pytest.fixture
def client_key(db):
    """(IngestKey, raw key): the Mini Program's client key, public by nature."""
    from events.models import IngestKey

    return IngestKey.generate(name="Mini Program", source="mini_program", kind="client")


@pytest.fixture
def post_as_client(client, client_key):
    """POST a body to the event API with the client key, from a given address and device."""

    def post(body, content_type="application/json", *, address="203.0.113.7", device="", **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {client_key[1]}")
        headers.setdefault("REMOTE_ADDR", address)
        if device:
            headers["HTTP_X_WXA_DEVICE"] = device
        data = body.encode() if isinstance(body, str) else body
        return client.generic("POST", "/api/v1/events", data, content_type=content_type, **headers)

    return post


@pytest.fixture
def post_events(client, ingest_key):
    """POST a body to the event API with the fixture's key (or the given headers)."""

    def post(body, content_type="application/json", **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {ingest_key[1]}")
        data = body.encode() if isinstance(body, str) else body
        return client.generic("POST", "/api/v1/events", data, content_type=content_type, **headers)

    return post


@pytest.fixture(autouse=True)
def _forget_what_this_process_remembers():
    """Each test starts with no ingest key or short link remembered by this process."""
    from events.ingest.keys import forget_keys
    from events.ingest.origins import forget_origins
    from events.ingest.trust import forget_policy
    from events.shortlinks import _recent_links

    forget_keys()
    forget_policy()
    forget_origins()
    _recent_links.clear()
    yield
    forget_keys()
    forget_policy()
    forget_origins()
    _recent_links.clear()
