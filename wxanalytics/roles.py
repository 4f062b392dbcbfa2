"""Who may do what: the one mapping of group → permissions (SPEC.md "Users", R6).

Every `migrate` (and the test database) ends with each group holding exactly these
permissions (`campaigns.apps` runs `sync_role_groups` after migrations). Codenames of models
that do not exist yet are skipped, so an app can list its permissions here before its
migration lands. To give a group more, add codenames here; changes made by hand in admin
are undone by the next migrate.
"""

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The stored group names: identifiers that code and tests look groups up by. They stay
# English in every language; people see ROLE_LABELS instead (docs/i18n.md "Role groups").
MARKETER = "Marketer"
ANALYST = "Analyst"
REVIEW_OWNER = "Review owner"

ROLE_LABELS = {
    MARKETER: pgettext_lazy("role", "Marketer"),
    ANALYST: pgettext_lazy("role", "Analyst"),
    REVIEW_OWNER: pgettext_lazy("role", "Review owner"),
}

ROLE_DESCRIPTIONS = {
    MARKETER: _(
        "Creates campaigns, placements and creatives with their QR codes and short links; imports ad spend; "
        "reads events and snapshots."
    ),
    ANALYST: _(
        "Defines KPIs, the funnel, the tracking plan, WeChat apps and ingest keys; reads, rebuilds and "
        "exports snapshots; replays rejected rows; imports WeChat statistics; exports and erases a "
        "person's data."
    ),
    REVIEW_OWNER: _("Logs one insight and one change each Friday and edits their own review entries; reads snapshots."),
}


def role_label(group_name: str) -> str:
    """What people see for a group: the translated role for our three, the name for others."""
    return str(ROLE_LABELS.get(group_name, group_name))


def role_description(group_name: str) -> str:
    return str(ROLE_DESCRIPTIONS.get(group_name, ""))


def crud(*models: str) -> list[str]:
    """All four model permissions for each "app_label.model" given."""
    return [
        f"{app}.{action}_{model}" for app, model in _split(models) for action in ("view", "add", "change", "delete")
    ]


def view(*models: str) -> list[str]:
    return [f"{app}.view_{model}" for app, model in _split(models)]


def _split(models: Iterable[str]) -> list[tuple[str, str]]:
    return [tuple(label.split(".", 1)) for label in models]  # type: ignore[misc]


ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Creates campaigns, placements, creatives and their QR codes; imports ad spend.
    MARKETER: [
        *crud("campaigns.campaign", "campaigns.placement", "campaigns.creative"),
        *view(
            "campaigns.kpi",
            "campaigns.funnelstage",
            "campaigns.eventdefinition",
            "campaigns.sourcealias",
            "campaigns.wechatapp",
            "campaigns.issuedscene",
        ),
        *crud("events.adspend"),
        *view("events.event", "reports.snapshot"),
    ],
    # Defines KPIs, funnel and tracking plan, WeChat apps and ingest keys; reads and
    # rebuilds snapshots; exports; replays rejected rows; imports WeChat statistics.
    ANALYST: [
        *crud(
            "campaigns.kpi",
            "campaigns.funnelstage",
            "campaigns.eventdefinition",
            "campaigns.sourcealias",
            "campaigns.wechatapp",
        ),
        *view("campaigns.campaign", "campaigns.placement", "campaigns.creative", "campaigns.issuedscene"),
        *crud(
            "events.ingestkey",
            "events.oausersummary",
            "events.articlestat",
            "events.miniprogrampagestat",
        ),
        *view("events.event", "events.identity", "events.adspend", "events.unionidlookup"),
        "events.delete_unionidlookup",
        "events.view_rejectedrow",
        "events.change_rejectedrow",
        *crud("events.paymerchant"),
        "events.delete_identity",
        # Personal-data rights (docs/privacy.md): export and erase a person, read the records.
        "events.export_person",
        "events.erase_person",
        "events.view_erasurerecord",
        "reports.view_snapshot",
        "reports.add_snapshot",
        "reports.change_snapshot",
        "reports.export_snapshot",
        *crud("reports.snapshotsubscription"),
        "reports.view_archive",
        "reports.view_reviewentry",
        "reports.view_reviewreminder",
        *view("django_celery_beat.periodictask", "django_celery_beat.crontabschedule"),
        "django_celery_beat.change_periodictask",
    ],
    # Logs one insight and one change each Friday (only their own entries: enforced in reports).
    REVIEW_OWNER: [
        "reports.view_reviewentry",
        "reports.add_reviewentry",
        "reports.change_reviewentry",
        "reports.delete_reviewentry",
        "reports.view_snapshot",
        "campaigns.view_kpi",
    ],
}


def sync_role_groups(*, using: str = "default") -> dict[str, int]:
    """Create the groups if missing and set each group's permissions to the mapping.

    Returns the number of permissions each group now holds. Codenames whose model is not
    migrated yet are skipped silently; the next migrate picks them up.
    """
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    held: dict[str, int] = {}
    for group_name, labels in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=group_name)
        wanted = Q(pk__in=[])
        for label in set(labels):
            app_label, codename = label.split(".", 1)
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.using(using).filter(wanted))
        group.permissions.set(permissions)
        held[group_name] = len(permissions)
    return held
