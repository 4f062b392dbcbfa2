"""Admin for identities: which ids we know belong to one person, and how we know."""

from django.contrib import admin

from events.models import Identity


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["user_id", "person_id", "app_id", "linked_by", "updated_at"]
    list_filter = ["linked_by"]
    search_fields = ["=user_id", "=person_id"]
    readonly_fields = ["updated_at"]
    ordering = ["person_id", "user_id"]
    # The table grows with the audience: no full COUNT(*) on every page.
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        # Edits go through events.identity.link (POST /api/v1/identify), which merges groups
        # consistently; a hand edit of one row would split a person.
        return False
