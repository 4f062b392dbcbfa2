"""Export a person (PIPL right of access): one JSON document with every event, identity
link and rejected row that mentions any of their ids.

The document is produced as a stream of text chunks: events are read with a server-side
cursor in chunks of `CHUNK_SIZE`, so memory stays flat however many events a person has.

    {"format": "wxanalytics.person-export.v1", "generated_at": "…", "ids": [...],
     "identities": [...], "events": [...], "rejected_rows": [...], "unionid_lookups": [...],
     "counts": {"identities": n, "events": n, "rejected_rows": n, "unionid_lookups": n}}
"""

import json
import logging
from collections.abc import Iterator
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils import timezone

from events.models import Event

from .lookup import Person, events_of, identities_of, rejected_rows_of, unionid_lookups_of

logger = logging.getLogger(__name__)

FORMAT = "wxanalytics.person-export.v1"
CHUNK_SIZE = 2000
IDENTITY_FIELDS = ("user_id", "person_id", "app_id", "linked_by", "updated_at")
LOOKUP_FIELDS = ("app_id", "openid", "misses", "last_asked_at", "next_ask_at")
REJECTED_FIELDS = ("id", "channel", "source", "raw", "errors", "reason", "status", "row_index", "received_at")

_encode = DjangoJSONEncoder(ensure_ascii=False).encode


def export_document(person: Person, *, now: datetime | None = None) -> Iterator[str]:
    """The person's export document, in chunks of text (join them, or stream them)."""
    counts: dict[str, int] = {}
    head = {"format": FORMAT, "generated_at": now or timezone.now(), "ids": list(person.ids)}
    yield _encode(head)[:-1]  # the object stays open for the lists that follow
    sections = (
        ("identities", identities_of(person).order_by("person_id", "user_id").values(*IDENTITY_FIELDS)),
        ("events", events_of(person).order_by("ts", "id").values(*Event.RECORD_FIELDS)),
        ("rejected_rows", rejected_rows_of(person).order_by("received_at", "id").values(*REJECTED_FIELDS)),
        ("unionid_lookups", unionid_lookups_of(person).order_by("app_id", "openid").values(*LOOKUP_FIELDS)),
    )
    for name, rows in sections:
        yield f', "{name}": ['
        counts[name] = 0
        for row in rows.iterator(chunk_size=CHUNK_SIZE):
            yield ("," if counts[name] else "") + "\n" + _encode(row)
            counts[name] += 1
        yield "\n]"
    yield f', "counts": {json.dumps(counts)}}}\n'


def export_response(person: Person, *, user) -> StreamingHttpResponse:
    """The person's document as a download, streamed (the API and admin share it)."""
    logger.info("person export by %s: %d id(s)", user.get_username(), len(person.ids))
    response = StreamingHttpResponse(export_document(person), content_type="application/json; charset=utf-8")
    # No id in the file name: names end up in browser histories and download folders.
    response["Content-Disposition"] = f'attachment; filename="person-export-{timezone.now():%Y%m%d-%H%M%S}.json"'
    response["Cache-Control"] = "no-store"
    return response
