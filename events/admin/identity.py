"""Admin for identities: which ids we know belong to one person, and how we know."""

from django.contrib import admin

from events.admin.privacy import PersonActionsMixin
from events.models import Identity, UnionidLookup
from wxanalytics.readonly_admin import ReadOnlyAdminMixin


@admin.register(Identity)
class IdentityAdmin(PersonActionsMixin, admin.ModelAdmin):
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


@admin.register(UnionidLookup)
class UnionidLookupAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Why a follower is still their own person: WeChat returned no unionid for them, and
    when we will ask again."""

    list_display = ["openid", "app_id", "misses", "last_asked_at", "next_ask_at"]
    list_filter = ["app_id"]
    search_fields = ["=openid"]
    ordering = ["next_ask_at"]
    show_full_result_count = False
    # Deleting a row is the way to have an openid asked about at the next run.
    deletable = True
