"""Events the collectors send that the first plan did not list: the Mini Program SDK's
lifecycle events, Official Account messages, and the other WeChat Pay refund outcomes."""

from django.db import migrations

EVENTS = [
    # (name, category, stage, description)
    ("app_launch", "key_action", "Engagement",
     "Mini Program launched (SDK, automatic); properties.wechat_scene holds WeChat's scene value."),
    ("app_show", "key_action", "Engagement",
     "Mini Program came to the foreground (SDK, automatic), with the scene value."),
    ("app_hide", "key_action", None, "Mini Program went to the background (SDK, automatic)."),
    ("oa_message", "official_account", "Engagement",
     "A user sent the Official Account a message (type and id only, never its content)."),
    ("refund_abnormal", "payment", None, "WeChat Pay reported a refund as abnormal (not final)."),
    ("refund_closed", "payment", None, "WeChat Pay closed a refund without paying it."),
]  # fmt: skip


def load(apps, schema_editor):
    alias = schema_editor.connection.alias
    FunnelStage = apps.get_model("campaigns", "FunnelStage")
    EventDefinition = apps.get_model("campaigns", "EventDefinition")
    stages = {stage.name: stage for stage in FunnelStage.objects.using(alias).all()}
    for name, category, stage, description in EVENTS:
        EventDefinition.objects.using(alias).get_or_create(
            name=name, defaults={"category": category, "stage": stages.get(stage), "description": description}
        )


def unload(apps, schema_editor):
    alias = schema_editor.connection.alias
    apps.get_model("campaigns", "EventDefinition").objects.using(alias).filter(name__in=[e[0] for e in EVENTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_placement_mini_program_image")]

    operations = [migrations.RunPython(load, unload)]
