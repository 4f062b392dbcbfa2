"""PostgreSQL: drop the `varchar_pattern_ops` index of events_event.dedupe_key (≈ 14 % of the
table's index bytes, docs/scaling.md "Storage"). Dedupe lives in events_eventkey's primary
key; the one look-up by key (a refund finding its payment, events.wechat.pay) now takes the
payment's ts from that table and finds the row through event_name_ts. SQLite keeps its
unique index: there it is the dedupe."""

from django.db import migrations

INDEX = "events_event_dedupe_key_5875f0ee_like"


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON events_event USING btree (dedupe_key varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0021_person_on_event_and_first_touch"),
    ]

    operations = [
        migrations.RunPython(drop_index, create_index, elidable=False),
    ]
