"""The three role groups. Their permissions are set after every migrate from
wxanalytics/roles.py (campaigns.apps.sync_roles_after_migrate), because permissions of apps
migrated later do not exist yet at this point."""

from django.db import migrations

GROUPS = ["Marketer", "Analyst", "Review owner"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_placement_qr_error"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
