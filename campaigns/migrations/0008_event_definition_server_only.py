"""Events only servers and WeChat may send (issue 13): the tracking plan marks them, and
the event API refuses them from client keys, which ship inside the Mini Program.

Marked by default: money (WeChat Pay's payments and refund outcomes, and the order
backend's purchase events) and what only WeChat's push knows (follows, scans of Official
Account codes, menu clicks). `refund_request` stays open: it is the user's ask, sent by the
Mini Program (docs/tracking-plan.md)."""

from django.db import migrations, models

SERVER_ONLY = [
    "pay_success",
    "refund_success",
    "refund_abnormal",
    "refund_closed",
    "first_payment",
    "repeat_purchase",
    "subscription_renewal",
    "follow",
    "unfollow",
    "qr_scan",
    "menu_click",
]


def mark(apps, schema_editor):
    alias = schema_editor.connection.alias
    EventDefinition = apps.get_model("campaigns", "EventDefinition")
    EventDefinition.objects.using(alias).filter(name__in=SERVER_ONLY).update(server_only=True)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0007_placement_mp_version_and_renewals")]

    operations = [
        migrations.AddField(
            model_name="eventdefinition",
            name="server_only",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Only servers and WeChat may send it (money, follows…): rows sent with a client key, "
                    "which ships inside the Mini Program, are refused and kept for review."
                ),
            ),
        ),
        migrations.RunPython(mark, migrations.RunPython.noop),
    ]
