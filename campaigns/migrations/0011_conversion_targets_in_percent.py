"""Conversion targets are now entered in percent and stored as a 0–1 share. A stored
conversion target above 1 (over 100 %) can only have been typed as a percentage under the
old form ("35" that showed as 3500 %): divide it by 100."""

from decimal import Decimal

from django.db import migrations


def percent_to_share(apps, schema_editor):
    KPI = apps.get_model("campaigns", "KPI")
    for kpi in KPI.objects.filter(metric_kind="conversion_rate", target__gt=1):
        kpi.target = (kpi.target / 100).quantize(Decimal("0.0001"))
        kpi.save(update_fields=["target"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0010_campaign_code_unique_ignoring_case"),
    ]

    operations = [migrations.RunPython(percent_to_share, migrations.RunPython.noop)]
