"""Link stored events and ad spend whose campaign code matches a campaign only ignoring case
(an event sent with D11-ENCORE for campaign D11-Encore was linked to no campaign). Rows
already linked keep their campaign. One UPDATE per table."""

from django.db import migrations

LINK = """
UPDATE {table} SET campaign_id = (
    SELECT c.id FROM campaigns_campaign c WHERE LOWER(c.code) = LOWER({table}.campaign_code)
)
WHERE campaign_id IS NULL AND campaign_code <> ''
  AND EXISTS (SELECT 1 FROM campaigns_campaign c WHERE LOWER(c.code) = LOWER({table}.campaign_code))
"""


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0010_campaign_code_unique_ignoring_case"),
        ("events", "0015_privacy_erasures"),
    ]

    operations = [
        migrations.RunSQL(LINK.format(table="events_event"), migrations.RunSQL.noop),
        migrations.RunSQL(LINK.format(table="events_adspend"), migrations.RunSQL.noop),
    ]
