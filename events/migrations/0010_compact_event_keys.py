"""events_eventkey keeps 128-bit digests (uuid) instead of 64-character hex strings: the
first half of each sha256, the same digest events.ingest.dedupe.digest computes. Existing
keys are converted in place on PostgreSQL (the only database that fills the table)."""

from django.db import migrations, models

CONVERT = (
    "ALTER TABLE events_eventkey "
    "ALTER COLUMN dedupe_key TYPE uuid USING left(dedupe_key, 32)::uuid, "
    "ALTER COLUMN content_hash TYPE uuid USING left(content_hash, 32)::uuid"
)


def convert(apps, schema_editor):
    # SQLite (the demo) never fills this table and does not enforce column types: nothing to do.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CONVERT)

class Migration(migrations.Migration):
    dependencies = [
        ("events", "0009_lean_event_writes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(convert, reverse_code=None, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="eventkey",
                    name="content_hash",
                    field=models.UUIDField(),
                ),
                migrations.AlterField(
                    model_name="eventkey",
                    name="dedupe_key",
                    field=models.UUIDField(primary_key=True, serialize=False),
                ),
            ],
        ),
    ]
