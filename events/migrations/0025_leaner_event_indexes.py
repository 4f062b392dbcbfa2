"""Smaller indexes on events_event, each for the queries that read it (docs/scaling.md,
"Storage"): `user_id` alone instead of `(user_id, ts)` (B-tree deduplication keeps one entry
per id), the campaign and placement indexes without the events that have none, and on
PostgreSQL a hash index for the equality-only search by event id. Each CREATE INDEX on the
partitioned table builds the index of every partition and blocks writes while it runs
(measured in docs/scaling.md)."""

import django.db.models.deletion
from django.db import migrations, models

EVENT_ID_INDEX = "event_event_id"


def hash_event_id_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {EVENT_ID_INDEX}")
        schema_editor.execute(
            f"CREATE INDEX {EVENT_ID_INDEX} ON events_event USING hash (event_id) WHERE event_id <> ''"
        )


def btree_event_id_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {EVENT_ID_INDEX}")
        schema_editor.execute(f"CREATE INDEX {EVENT_ID_INDEX} ON events_event (event_id) WHERE NOT (event_id = '')")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0014_translatable_names_and_help_texts"),
        ("events", "0024_event_keys_as_digests"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="event",
            name="event_user_ts",
        ),
        migrations.RemoveIndex(
            model_name="event",
            name="event_campaign_ts",
        ),
        migrations.AlterField(
            model_name="event",
            name="placement",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="campaigns.placement",
                verbose_name="placement",
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["user_id"], name="event_user"),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("campaign__isnull", False)), fields=["campaign", "ts"], name="event_campaign_ts"
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("placement__isnull", False)), fields=["placement"], name="event_placement"
            ),
        ),
        migrations.RunPython(hash_event_id_index, btree_event_id_index, elidable=False),
    ]
