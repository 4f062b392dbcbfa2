"""Admin for the role groups and the user page's group picker: people see each role in
their language (wxanalytics.roles.ROLE_LABELS); the stored group names stay the identifiers
that code looks groups up by."""

from django import forms
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from wxanalytics.roles import ROLE_PERMISSIONS, role_description, role_label


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Group) -> str:
        return role_label(obj.name)


class RoleListFilter(RelatedFieldListFilter):
    """The user list's "by group" filter, with role labels instead of stored names."""

    def field_choices(self, field, request, model_admin):
        return [(group.pk, role_label(group.name)) for group in Group.objects.order_by("name")]


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    list_display = ["role", "name", "description"]
    readonly_fields = ["role", "description"]
    fields = ["role", "name", "description", "permissions"]

    @admin.display(description=_("role"))
    def role(self, group: Group) -> str:
        return role_label(group.name)

    @admin.display(description=_("what this role may do"))
    def description(self, group: Group) -> str:
        return role_description(group.name) or "—"

    def get_readonly_fields(self, request, obj=None):
        # Code finds the three role groups by name: renaming one would cut it off its role.
        if obj is not None and obj.name in ROLE_PERMISSIONS:
            return [*self.readonly_fields, "name"]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else ["name", "permissions"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class RoleUserAdmin(UserAdmin):
    list_filter = ["is_staff", "is_superuser", "is_active", ("groups", RoleListFilter)]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["form_class"] = RoleChoiceField
        return super().formfield_for_manytomany(db_field, request, **kwargs)
