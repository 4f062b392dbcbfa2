from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def sync_roles_after_migrate(sender, using="default", **kwargs) -> None:
    """Keep the role groups' permissions equal to wxanalytics/roles.py after every migrate.

    post_migrate is sent once per app, after auth has created that app's permissions, so
    running on the apps the mapping names means the last one sees every permission.
    """
    from wxanalytics.roles import ROLE_PERMISSIONS, sync_role_groups

    mapped_apps = {label.split(".", 1)[0] for labels in ROLE_PERMISSIONS.values() for label in labels}
    if sender.label in mapped_apps:
        sync_role_groups(using=using)


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns and KPIs")

    def ready(self) -> None:
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="campaigns.sync_roles_after_migrate")
