"""page_load_time values are milliseconds: clear the currency the ingest used to default
onto them (events.ingest.validate.MEASUREMENT_EVENTS). Their content hashes are left as they
are; the hash still counts the old default (events.ingest.dedupe), so retries stay
duplicates."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0016_link_campaign_codes_ignoring_case"),
    ]

    operations = [
        migrations.RunSQL(
            "UPDATE events_event SET currency = '' WHERE event_name = 'page_load_time' AND currency <> ''",
            migrations.RunSQL.noop,
        ),
    ]
