"""The person on the event and each person's first touch (events.people, docs/scaling.md):
`events_event.person_id` is filled from the identity table (NULL where the person is the
user_id itself), and `events_firsttouch` is computed from all events. Both read every
event once: on a big table run it in a maintenance window."""

import django.utils.timezone
from django.db import migrations, models


def fill_people(apps, schema_editor):
    from events.people import rebuild_first_touches

    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            # Through the parent table: every partition, each row found by the identity's user_id.
            cursor.execute(
                "UPDATE events_event e SET person_id = i.person_id FROM events_identity i "
                "WHERE i.user_id = e.user_id AND i.person_id <> e.user_id"
            )
        else:
            cursor.execute(
                "UPDATE events_event SET person_id = (SELECT i.person_id FROM events_identity i "
                "WHERE i.user_id = events_event.user_id) "
                "WHERE user_id IN (SELECT user_id FROM events_identity WHERE person_id <> user_id)"
            )
    rebuild_first_touches()


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0020_translatable_names_and_help_texts'),
    ]

    operations = [
        migrations.CreateModel(
            name='PersonChange',
            fields=[
                ('user_id', models.CharField(max_length=128, primary_key=True, serialize=False)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name='event',
            name='person_id',
            field=models.CharField(blank=True, editable=False, max_length=128, null=True, verbose_name='person id'),
        ),
        migrations.CreateModel(
            name='FirstTouch',
            fields=[
                ('person', models.CharField(max_length=128, primary_key=True, serialize=False)),
                ('ts', models.DateTimeField()),
                ('event_ref', models.BigIntegerField(help_text="The first event's id (ties at one instant go to the lower id).")),
                ('campaign_id', models.IntegerField(blank=True, null=True)),
                ('placement_id', models.IntegerField(blank=True, null=True)),
                ('source', models.CharField(max_length=64)),
                ('app_id', models.CharField(max_length=32)),
                ('creative_ref', models.TextField(blank=True, help_text='properties.creative_id, as sent.', null=True)),
                ('ad_group', models.TextField(blank=True, help_text='properties.ad_group, as sent.', null=True)),
                ('entry_ts', models.DateTimeField(blank=True, help_text='The first event with a placement.', null=True)),
                ('entry_ref', models.BigIntegerField(blank=True, null=True)),
                ('entry_placement_id', models.IntegerField(blank=True, null=True)),
            ],
            options={
                'indexes': [models.Index(fields=['ts'], name='firsttouch_ts')],
            },
        ),
        migrations.RunPython(fill_people, migrations.RunPython.noop, elidable=False),
    ]
