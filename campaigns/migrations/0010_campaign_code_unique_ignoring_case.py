"""Campaign codes become unique ignoring case.

Existing case-twins (d11-encore next to D11-Encore) are refused, not merged: which of the
two is right, and whether their placements, creatives, spend and events belong together, is
a marketer's call that a migration cannot make. The migration stops with the list of twins;
rename one in admin (or reassign its rows and delete it), then migrate again.
"""

from django.db import migrations, models
from django.db.models.functions import Lower


class CaseTwinsFound(Exception):
    pass


def refuse_case_twins(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    twins = (
        Campaign.objects.annotate(key=Lower("code"))
        .values("key")
        .annotate(n=models.Count("id"))
        .filter(n__gt=1)
        .values_list("key", flat=True)
    )
    groups = []
    for key in twins:
        codes = Campaign.objects.annotate(key=Lower("code")).filter(key=key).order_by("pk").values_list("pk", "code")
        groups.append(", ".join(f"{code} (id {pk})" for pk, code in codes))
    if groups:
        raise CaseTwinsFound(
            "Campaign codes must be unique ignoring case, and these campaigns differ only in case: "
            + "; ".join(groups)
            + ". Rename all but one of each group in admin (or move their rows to one campaign and delete "
            "the others), then run migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0009_wechatapp_erase_unfollowed"),
    ]

    operations = [
        migrations.RunPython(refuse_case_twins, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="campaign",
            constraint=models.UniqueConstraint(
                Lower("code"),
                name="campaign_code_unique_ignoring_case",
                violation_error_message="Another campaign already has this code in other letter case "
                "(codes are unique ignoring case).",
            ),
        ),
    ]
