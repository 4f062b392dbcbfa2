"""Client and server ingest keys (issue 13).

Keys that existed before are server keys, except those of source `mini_program`: a Mini
Program ships its key inside its package, so that key is public and becomes a client key.
New keys are client keys unless a server key is asked for."""

from django.db import migrations, models


def mini_program_keys_become_client_keys(apps, schema_editor):
    alias = schema_editor.connection.alias
    IngestKey = apps.get_model("events", "IngestKey")
    IngestKey.objects.using(alias).filter(source="mini_program").update(kind="client")


def client_keys_become_server_keys(apps, schema_editor):
    alias = schema_editor.connection.alias
    apps.get_model("events", "IngestKey").objects.using(alias).update(kind="server")


class Migration(migrations.Migration):
    dependencies = [("events", "0012_unionid_lookup")]

    operations = [
        migrations.AddField(
            model_name="ingestkey",
            name="kind",
            field=models.CharField(default="server", max_length=6),
            preserve_default=False,
        ),
        migrations.RunPython(mini_program_keys_become_client_keys, client_keys_become_server_keys),
        migrations.AlterField(
            model_name="ingestkey",
            name="kind",
            field=models.CharField(
                choices=[
                    ("client", "Client (public: ships inside a Mini Program or web page)"),
                    ("server", "Server (secret: only on your servers)"),
                ],
                default="client",
                help_text=(
                    "Client keys cannot send payments, refunds or other server-only events, and cannot merge "
                    "people. Use a server key only where the key stays secret."
                ),
                max_length=6,
            ),
        ),
        migrations.AlterField(
            model_name="rejectedrow",
            name="reason",
            field=models.CharField(
                choices=[
                    ("invalid", "Invalid"),
                    ("conflict", "Conflict: different payload under a used event_id"),
                    ("forbidden", "Forbidden: a server-only fact sent with a client key"),
                ],
                default="invalid",
                max_length=10,
            ),
        ),
    ]
