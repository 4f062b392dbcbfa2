"""Engagement events the Mini Program SDK and the H5 snippet collect (issue 18): taps on marked
elements and the time spent on a page."""

from django.db import migrations

EVENTS = [
    # (name, category, stage, description)
    ("element_click", "key_action", "Engagement",
     "A tap on a marked element (Mini Program SDK and H5 snippet, automatic when enabled): "
     "page, element id/name and position in a list; never the text of form inputs."),
    ("page_leave", "key_action", "Engagement",
     "The user left a page (Mini Program SDK and H5 snippet, automatic): duration_ms is foreground "
     "time on the page only, hides pause the clock."),
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
    dependencies = [("campaigns", "0011_conversion_targets_in_percent")]

    operations = [migrations.RunPython(load, unload)]
