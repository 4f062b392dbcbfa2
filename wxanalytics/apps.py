from django.contrib.admin.apps import AdminConfig


class SiteAdminConfig(AdminConfig):
    """django.contrib.admin with our site (wxanalytics.admin_site) as `admin.site`."""

    default_site = "wxanalytics.admin_site.SiteAdmin"
