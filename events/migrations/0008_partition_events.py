"""PostgreSQL only: `events_event` becomes a table partitioned by month on `ts`.

The old table is renamed, a partitioned table with the same columns takes its name, the
rows move over (ids kept, the identity continues after the old sequence), and the keys go
to `events_eventkey`. Database only: Django's model state does not change (`id` stays the
model's primary key; in the database it is `(id, ts)`, since a partitioned table's unique
keys must include `ts`), so `makemigrations --check` sees nothing. SQLite: nothing to do.
Not reversible: going back means copying every event into a plain table again.
"""

from datetime import date

from django.conf import settings
from django.db import migrations

from events.partitions import DEFAULT, create_partition

OLD = "events_event_old"
# Dropped, not recreated: the partitioned table cannot hold a unique key without ts, and
# the dedupe key's uniqueness now lives in events_eventkey's primary key.
NOT_RECREATED = ("events_event_pkey", "events_event_dedupe_key_key")


def _months_ahead(today: date) -> list[date]:
    this = today.replace(day=1)
    following = date(this.year + this.month // 12, this.month % 12 + 1, 1)
    return [this, following]


def partition_events(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.utils import timezone

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE events_event RENAME TO {OLD}")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            [OLD],
        )
        indexes = [indexdef for name, indexdef in cursor.fetchall() if name not in NOT_RECREATED]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f'",
            [OLD],
        )
        foreign_keys = cursor.fetchall()

        cursor.execute(
            f"CREATE TABLE events_event (LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (ts)"
        )
        cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF events_event DEFAULT")
        # A partition for every month that has events, plus this month and the next, so
        # the first batches after the migration do not have to create one.
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', ts AT TIME ZONE %s)::date FROM {OLD}",  # noqa: S608
            [settings.TIME_ZONE],
        )
        months = {month for (month,) in cursor.fetchall()}
        months.update(_months_ahead(timezone.localtime(timezone.now(), settings.REPORTING_TZ).date()))
        for month in sorted(months):
            create_partition(cursor, month)

        cursor.execute(f"INSERT INTO events_event OVERRIDING SYSTEM VALUE SELECT * FROM {OLD}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO events_eventkey (dedupe_key, content_hash, ts) SELECT dedupe_key, content_hash, ts FROM {OLD}"  # noqa: S608
        )
        # Ids continue where the old identity stopped (not at max(id): rolled-back inserts
        # used numbers too, and ids are never reused).
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [OLD])
        next_id = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {OLD}")
        cursor.execute(f"ALTER TABLE events_event ALTER COLUMN id RESTART WITH {int(next_id)}")
        cursor.execute("SELECT pg_get_serial_sequence('events_event', 'id')")
        sequence = cursor.fetchone()[0]
        if sequence.split(".")[-1].strip('"') != "events_event_id_seq":
            cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO events_event_id_seq")

        cursor.execute("ALTER TABLE events_event ADD CONSTRAINT events_event_pkey PRIMARY KEY (id, ts)")
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE events_event ADD CONSTRAINT "{name}" {definition}')
        # Every index the model declares, same names, on the parent (each partition gets
        # its own copy). The dedupe key keeps its varchar_pattern_ops index: it serves
        # WeChat Pay's equality look-up by dedupe key.
        for definition in indexes:
            cursor.execute(definition.replace(f" ON {OLD} ", " ON events_event ").replace(f".{OLD} ", ".events_event "))


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_event_key"),
    ]

    operations = [
        migrations.RunPython(partition_events, reverse_code=None, elidable=False),
    ]
