"""Admin pages for rows that only the application writes (records kept as evidence, events,
issued scenes, lookups and reminders): visible, never added or edited by hand."""


class ReadOnlyAdminMixin:
    """Put before `admin.ModelAdmin`. `deletable = True` keeps deleting (as the model's
    delete permission allows) where removing a row is the intended way to redo its work."""

    deletable = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)
