"""events_event keeps its dedupe key and content hash as 128-bit digests (uuid) instead of
64-character hex strings, as events_eventkey does since 0010: 16 bytes each instead of 65
(≈ 98 bytes per event, docs/scaling.md "Storage"). Existing rows are converted in place.

PostgreSQL: one ALTER TABLE rewrites every partition and rebuilds its indexes (there is no
index on these columns there, 0022). SQLite does not enforce column types: the values are
shortened to the 32 hex digits Django stores for a UUIDField; the unique index stays."""

from django.db import migrations, models

CONVERT_POSTGRESQL = (
    "ALTER TABLE events_event "
    "ALTER COLUMN dedupe_key TYPE uuid USING left(dedupe_key, 32)::uuid, "
    "ALTER COLUMN content_hash TYPE uuid USING left(content_hash, 32)::uuid"
)
CONVERT_OTHERS = "UPDATE events_event SET dedupe_key = substr(dedupe_key, 1, 32), content_hash = substr(content_hash, 1, 32)"


# Back to text, as the 32 hex digits of the digests (the rest of each sha256 is gone): what
# the migration tests that go back to older migrations need, not a way to run older code on
# this data (it would not recognise these keys).
REVERT_POSTGRESQL = (
    "ALTER TABLE events_event "
    "ALTER COLUMN dedupe_key TYPE varchar(64) USING replace(dedupe_key::text, '-', ''), "
    "ALTER COLUMN content_hash TYPE varchar(64) USING replace(content_hash::text, '-', '')"
)


def convert(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CONVERT_POSTGRESQL)
    else:
        schema_editor.execute(CONVERT_OTHERS)


def revert(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERT_POSTGRESQL)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0023_received_checkpoint"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(convert, revert, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="content_hash",
                    field=models.UUIDField(
                        help_text="sha256 of the normalised row, to spot conflicts.", verbose_name="content hash"
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="dedupe_key",
                    field=models.UUIDField(
                        help_text="sha256 of source + event_id, or of the row's content.",
                        unique=True,
                        verbose_name="dedupe key",
                    ),
                ),
            ],
        ),
    ]
