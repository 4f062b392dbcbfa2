"""Bulk writes. One INSERT per batch; a unique dedupe key decides what is new.

PostgreSQL: `events_event` is partitioned by month (events.partitions), so the unique key
lives in the non-partitioned `events_eventkey`. A batch is written by one statement:
`INSERT INTO events_eventkey … ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key`
in a CTE, then the events of exactly those keys into `events_event`, with campaign codes,
placement scenes and source aliases resolved by joins in the same statement. Concurrent
writers of the same key are settled by the key table's primary key (exactly one wins);
duplicates and conflicts are read from `events_eventkey` afterwards.

How the rows reach that statement depends on the batch size (docs/scaling.md has the
figures):
- up to `STAGING_THRESHOLD` rows (single events from a Mini Program, small SDK batches):
  one JSON parameter unpacked by `json_to_recordset`, in autocommit. One round trip, and
  the statement is prepared once per connection (server-side binding), so PostgreSQL
  neither parses nor plans it again;
- larger batches: `COPY` into a session temp table, then the same statement reading it.
  COPY's text format is the cheapest way into PostgreSQL, and `json_to_recordset` costs
  more than the inserts themselves at 1,000 rows.

Small batches sent by a request outside any transaction (single events, scans) go through
this process's group committer (events.ingest.group_commit): the rows of all requests that
arrive while a commit runs share the next statement and commit. INGEST_GROUP_COMMIT=0
writes every request's rows itself.

Other databases (the SQLite demo) keep the unique `events_event.dedupe_key`, with
bulk_create and ignore_conflicts after a look-up; fine for one process.
"""

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models.functions import Lower

from campaigns.models import Campaign, Placement, SourceAlias
from events.identity import unionid_pairs
from events.models import Event, EventKey, FirstTouch, Identity
from events.partitions import ensure_partitions
from events.people import FIRST_TOUCH_COLUMNS, refresh_first_touches

from .group_commit import GroupCommitter
from .validate import CleanRow

# (column, PostgreSQL type) of a row as sent to the database, in COPY order.
COLUMNS = (
    ("event_name", "text"),
    ("user_id", "text"),
    ("session_id", "text"),
    ("source", "text"),
    ("campaign_code", "text"),
    ("scene", "text"),
    ("app_id", "text"),
    ("page", "text"),
    ("value", "numeric"),
    ("currency", "text"),
    ("ts", "timestamptz"),
    ("event_id", "text"),
    ("dedupe_key", "uuid"),
    ("content_hash", "uuid"),
    ("properties", "jsonb"),
    ("ingest_key_id", "bigint"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
STAGING_THRESHOLD = 100
STAGING_TABLE = "ingest_staging"
# A request waits this long for its group's commit before answering 503 (gunicorn's own
# request timeout in scripts/serve.py is 60 s).
GROUP_COMMIT_TIMEOUT_SECONDS = 30


def _insert_sql(batch: str) -> str:
    keys = EventKey._meta.db_table
    events = Event._meta.db_table
    touches = FirstTouch._meta.db_table
    # The batch arrives sorted by key and keeps that order, so overlapping writers lock
    # keys in the same order (no deadlock). Events are inserted only for the keys this
    # statement claimed: the same key sent with another ts cannot slip into another month.
    # Look-ups as sent (campaign codes ignoring case): a placement's campaign fills in for a
    # missing or unknown code. The person comes from the identity table, else from a
    # unionid the batch carries for that id (the link made right after the insert will say
    # the same for a new id, so its rows are not written twice); NULL when it is the
    # user_id itself. events.people rewrites it whenever a link disagrees.
    # Identities and first touches grow with every person ever seen, so a batch's rows look
    # them up one by one through their unique keys. As plain joins, the plan for a batch of
    # unknown size (json_to_recordset is estimated at 100 rows) hashed the whole first-touch
    # table for every single event once it held ~10k people (docs/scaling.md). LIMIT 1 (the
    # keys are unique) keeps each look-up a subquery the planner cannot turn back into a join.
    return (
        f"WITH batch AS ({batch}), "  # noqa: S608 (identifiers are ours)
        f"carried AS (SELECT u.user_id, MIN({_CARRIED_UNIONID}) AS unionid FROM batch AS u GROUP BY u.user_id), "
        f"claimed AS (INSERT INTO {keys} (dedupe_key, content_hash, ts) "
        "SELECT dedupe_key, content_hash, ts FROM batch "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key), "
        f"stored AS (INSERT INTO {events} (event_name, user_id, person_id, session_id, source, campaign_code, "
        "campaign_id, placement_id, app_id, page, value, currency, ts, event_id, dedupe_key, content_hash, "
        "properties, ingest_key_id, received_at) "
        "SELECT u.event_name, u.user_id, NULLIF(COALESCE(ident.person_id, carried.unionid), u.user_id), "
        "u.session_id, "
        "COALESCE(alias.canonical, u.source), "
        "COALESCE(NULLIF(u.campaign_code, ''), placement_campaign.code, ''), "
        "COALESCE(campaign.id, placement.campaign_id), placement.id, "
        "u.app_id, u.page, u.value, u.currency, u.ts, u.event_id, u.dedupe_key, u.content_hash, u.properties, "
        "u.ingest_key_id, %s "
        "FROM batch AS u JOIN claimed ON claimed.dedupe_key = u.dedupe_key "
        f"LEFT JOIN LATERAL (SELECT person_id FROM {Identity._meta.db_table} AS i WHERE i.user_id = u.user_id "
        "LIMIT 1) AS ident ON true "
        "LEFT JOIN carried ON carried.user_id = u.user_id "
        # Codes match ignoring case (unique index on lower(code), campaigns.Campaign.Meta).
        f"LEFT JOIN {Campaign._meta.db_table} AS campaign ON lower(campaign.code) = lower(u.campaign_code) "
        "AND u.campaign_code <> '' "
        f"LEFT JOIN {Placement._meta.db_table} AS placement ON placement.scene = u.scene AND u.scene <> '' "
        f"LEFT JOIN {Campaign._meta.db_table} AS placement_campaign ON placement_campaign.id = placement.campaign_id "
        f"LEFT JOIN {SourceAlias._meta.db_table} AS alias ON alias.alias = u.source "
        "RETURNING id, ts, COALESCE(person_id, user_id) AS p, campaign_id, placement_id, source, app_id, "
        "properties, dedupe_key), "
        # Each person's first touch (events.models.FirstTouch): the batch's earliest event and
        # earliest event with a placement per person, written only where they come before
        # what is stored (most events are later ones: a primary-key probe, no write, no
        # lock). Persons in sorted order, so overlapping writers lock rows in one order.
        "firsts AS (SELECT DISTINCT ON (p) p, ts, id, campaign_id, placement_id, source, app_id, "
        "properties ->> 'creative_id' AS creative_ref, properties ->> 'ad_group' AS ad_group "
        "FROM stored ORDER BY p, ts, id), "
        "entries AS (SELECT DISTINCT ON (p) p, ts, id, placement_id FROM stored WHERE placement_id IS NOT NULL "
        "ORDER BY p, ts, id), "
        f"touched AS (INSERT INTO {touches} AS t ({FIRST_TOUCH_COLUMNS}) "
        "SELECT f.p, f.ts, f.id, f.campaign_id, f.placement_id, f.source, f.app_id, f.creative_ref, f.ad_group, "
        "en.ts, en.id, en.placement_id "
        "FROM firsts f LEFT JOIN entries en ON en.p = f.p "
        f"LEFT JOIN LATERAL (SELECT person, ts, event_ref, entry_ts, entry_ref FROM {touches} AS t0 "
        "WHERE t0.person = f.p LIMIT 1) AS ft ON true "
        "WHERE ft.person IS NULL OR (f.ts, f.id) < (ft.ts, ft.event_ref) "
        "OR (en.p IS NOT NULL AND (ft.entry_ts IS NULL OR (en.ts, en.id) < (ft.entry_ts, ft.entry_ref))) "
        "ORDER BY f.p "
        f"ON CONFLICT (person) DO UPDATE SET {_EARLIER_TOUCH}) "
        "SELECT dedupe_key FROM stored"
    )


# The unionid a row carries, as events.identity.unionid_pairs reads it.
_CARRIED_UNIONID = (
    "CASE WHEN jsonb_typeof(u.properties -> 'unionid') = 'string' "
    "AND length(btrim(u.properties ->> 'unionid')) BETWEEN 1 AND 128 THEN btrim(u.properties ->> 'unionid') END"
)


def _earlier_touch() -> str:
    """The SET of the first-touch upsert: each half (first event, first event with a
    placement) taken from the new row only where it is earlier than the stored one."""
    first = "(EXCLUDED.ts, EXCLUDED.event_ref) < (t.ts, t.event_ref)"
    entry = "EXCLUDED.entry_ts IS NOT NULL AND (t.entry_ts IS NULL OR (EXCLUDED.entry_ts, EXCLUDED.entry_ref) < (t.entry_ts, t.entry_ref))"
    first_columns = ("ts", "event_ref", "campaign_id", "placement_id", "source", "app_id", "creative_ref", "ad_group")
    entry_columns = ("entry_ts", "entry_ref", "entry_placement_id")
    return ", ".join(
        [f"{c} = CASE WHEN {first} THEN EXCLUDED.{c} ELSE t.{c} END" for c in first_columns]
        + [f"{c} = CASE WHEN {entry} THEN EXCLUDED.{c} ELSE t.{c} END" for c in entry_columns]
    )


_EARLIER_TOUCH = _earlier_touch()


_RECORD = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
INSERT_FROM_JSON_SQL = _insert_sql(f"SELECT * FROM json_to_recordset(%s::json) AS u({_RECORD})")  # noqa: S608
INSERT_FROM_STAGING_SQL = _insert_sql(f"SELECT * FROM {STAGING_TABLE}")  # noqa: S608
CREATE_STAGING_SQL = f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ({_RECORD}) ON COMMIT DELETE ROWS"
COPY_STAGING_SQL = f"COPY {STAGING_TABLE} ({', '.join(COLUMN_NAMES)}) FROM STDIN"


def insert_events(rows: Sequence[CleanRow], *, received_at: datetime) -> set[uuid.UUID]:
    """Insert rows whose dedupe key is new; return the keys actually inserted. Committed
    on return, unless the caller's own transaction is open."""
    if not rows:
        return set()
    if (
        settings.INGEST_GROUP_COMMIT
        and len(rows) < STAGING_THRESHOLD
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    ):
        return _committer.insert(
            rows,
            received_at=received_at,
            wait_ms=settings.INGEST_GROUP_COMMIT_WAIT_MS,
            timeout=GROUP_COMMIT_TIMEOUT_SECONDS,
        )
    return write_events(rows, received_at=received_at)


def write_events(rows: Sequence[CleanRow], *, received_at: datetime) -> set[uuid.UUID]:
    """insert_events on this thread's connection, whatever the batch."""
    if not rows:
        return set()
    if connection.vendor == "postgresql":
        ensure_partitions(row.ts for row in rows)
        if len(rows) < STAGING_THRESHOLD:
            return _insert_from_json(rows, received_at=received_at)
        return _insert_from_staging(rows, received_at=received_at)
    return _insert_portable(rows, received_at=received_at)


_committer = GroupCommitter(write_events)
stop_group_commit = _committer.stop


def server_bound_cursor():
    """A Django cursor over psycopg's server-side binding: psycopg prepares a statement
    run often on a connection, so PostgreSQL parses and plans it once (Django's default
    client-side binding sends literal SQL every time). Behind a pooler in transaction
    mode, turn prepared statements off with DB_PREPARED_STATEMENTS=0."""
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    return _LoggedCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


class _LoggedCursor(CursorDebugWrapper):
    """Logs the statement as written: Django's version asks psycopg for the last query
    sent, which a server-bound cursor does not keep."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def _insert_from_json(rows: Sequence[CleanRow], *, received_at: datetime) -> set[uuid.UUID]:
    payload = json.dumps([_as_dict(row) for row in rows], default=str, ensure_ascii=False)
    with server_bound_cursor() as cursor:
        cursor.execute(INSERT_FROM_JSON_SQL, [payload, received_at])
        return {key for (key,) in cursor.fetchall()}


def _insert_from_staging(rows: Sequence[CleanRow], *, received_at: datetime) -> set[uuid.UUID]:
    nested = connection.in_atomic_block
    with transaction.atomic(), server_bound_cursor() as cursor:
        raw = connection.connection
        # Once per database session; every time behind a transaction-mode pooler
        # (DB_PREPARED_STATEMENTS=0), where the next transaction may get another session.
        if not getattr(raw, "wxa_staging_ready", False) or raw.prepare_threshold is None:
            cursor.execute(CREATE_STAGING_SQL)
            transaction.on_commit(partial(setattr, raw, "wxa_staging_ready", True))
        with connection.wrap_database_errors, cursor.cursor.copy(COPY_STAGING_SQL) as copy:
            for row in rows:
                copy.write_row(
                    (
                        row.event_name,
                        row.user_id,
                        row.session_id,
                        row.source,
                        row.campaign_code,
                        row.scene,
                        row.app_id,
                        row.page,
                        row.value,
                        row.currency,
                        row.ts,
                        row.event_id,
                        row.dedupe_key,
                        row.content_hash,
                        row.properties_json,
                        row.ingest_key_id,
                    )
                )
        cursor.execute(INSERT_FROM_STAGING_SQL, [received_at])
        inserted = {key for (key,) in cursor.fetchall()}
        if nested:
            # The caller's transaction commits later than this batch: ON COMMIT DELETE ROWS
            # would leave these rows for the next batch to read again.
            cursor.execute(f"DELETE FROM {STAGING_TABLE}")  # noqa: S608 (ours)
        return inserted


def _as_dict(row: CleanRow) -> dict:
    return {name: getattr(row, name) for name in COLUMN_NAMES}


def _insert_portable(rows: Sequence[CleanRow], *, received_at: datetime) -> set[uuid.UUID]:
    taken = set(existing_hashes(row.dedupe_key for row in rows))
    fresh = [row for row in rows if row.dedupe_key not in taken]
    campaigns, placements, aliases = _lookups(fresh)
    persons = dict(
        Identity.objects.filter(user_id__in={row.user_id for row in fresh}).values_list("user_id", "person_id")
    )
    carried: dict[str, str] = {}
    for row in rows:
        for user_id, unionid in unionid_pairs([{"user_id": row.user_id, "properties": row.properties}]).items():
            carried[user_id] = min(unionid, carried.get(user_id, unionid))
    events = []
    for row in fresh:
        campaign_id = campaigns.get(row.campaign_code.lower())
        campaign_code = row.campaign_code
        placement_id = None
        if row.scene in placements:
            placement_id, placement_campaign_id, placement_code = placements[row.scene]
            campaign_id = campaign_id or placement_campaign_id
            campaign_code = campaign_code or placement_code
        fields = _as_dict(row)
        del fields["scene"]
        fields.update(
            source=aliases.get(row.source, row.source),
            campaign_code=campaign_code,
            campaign_id=campaign_id,
            placement_id=placement_id,
            person_id=_person(row, persons, carried),
            received_at=received_at,
        )
        events.append(Event(**fields))
    with transaction.atomic():
        Event.objects.bulk_create(events, ignore_conflicts=True, batch_size=500)
        # Recomputed from the people's events: simple, and the demo's people are few.
        refresh_first_touches(
            {event.person_id or event.user_id for event in events}, user_ids={event.user_id for event in events}
        )
    return {row.dedupe_key for row in fresh}


def _person(row: CleanRow, persons: dict[str, str], carried: dict[str, str]) -> str | None:
    """As the PostgreSQL write: the identity's person, else a unionid the batch carries for the id."""
    person = persons.get(row.user_id) or carried.get(row.user_id)
    return None if person in (None, row.user_id) else person


def _lookups(rows: Sequence[CleanRow]):
    """Campaigns by lower-case code, placements by scene and source aliases: one query each."""
    codes = {row.campaign_code.lower() for row in rows if row.campaign_code}
    scenes = {row.scene for row in rows if row.scene}
    campaigns = (
        dict(Campaign.objects.annotate(key=Lower("code")).filter(key__in=codes).values_list("key", "id"))
        if codes
        else {}
    )
    placements = {
        scene: (pk, campaign_id, code)
        for scene, pk, campaign_id, code in Placement.objects.filter(scene__in=scenes).values_list(
            "scene", "id", "campaign_id", "campaign__code"
        )
    }
    aliases = dict(SourceAlias.objects.values_list("alias", "canonical")) if rows else {}
    return campaigns, placements, aliases


def existing_hashes(keys: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """dedupe_key → the stored content hash, for keys already stored (the key table on
    PostgreSQL, the events elsewhere). Compare with `row.content_hash`."""
    stored = EventKey if connection.vendor == "postgresql" else Event
    keys = list(keys)
    found: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(keys), 900):
        found.update(
            stored.objects.filter(dedupe_key__in=keys[start : start + 900]).values_list("dedupe_key", "content_hash")
        )
    return found
