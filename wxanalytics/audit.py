"""Who changed what, and when — the same record for admin and API.

Admin already writes django.contrib.admin's LogEntry for every add/change/delete; API views
mix in `AuditedViewSetMixin` so changes made through the API land in the same history
(visible on each object's "History" page in admin).
"""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry


def record_change(user, instance, action_flag: int, message: str) -> None:
    if user is None or not user.is_authenticated:
        return
    LogEntry.objects.log_actions(
        user_id=user.pk, queryset=[instance], action_flag=action_flag, change_message=message, single_object=True
    )


def record_bulk_change(user, instances: list, message: str) -> None:
    """For admin actions, which Django does not log by itself: one CHANGE entry per object."""
    if not instances or user is None or not user.is_authenticated:
        return
    LogEntry.objects.log_actions(user_id=user.pk, queryset=instances, action_flag=CHANGE, change_message=message)


class AuditedViewSetMixin:
    """For DRF model viewsets: record creates, updates and deletes in the admin history."""

    def perform_create(self, serializer):
        super().perform_create(serializer)
        record_change(self.request.user, serializer.instance, ADDITION, "Added through the API.")

    def perform_update(self, serializer):
        super().perform_update(serializer)
        changed = ", ".join(sorted(serializer.validated_data)) or "nothing"
        record_change(self.request.user, serializer.instance, CHANGE, f"Changed through the API: {changed}.")

    def perform_destroy(self, instance):
        record_change(self.request.user, instance, DELETION, "Deleted through the API.")
        super().perform_destroy(instance)
