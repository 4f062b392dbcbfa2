from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Group permissions decide API access, reads included.

    DRF's default lets any logged-in user read; here reading needs the `view_` permission,
    so the API and admin agree on who may see what.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def has_permission(codename: str, message: str = "") -> type[BasePermission]:
    """A DRF permission class for one Django permission ("app_label.codename"), for views
    that act on no model queryset (exports, erasures)."""

    class HasPermission(BasePermission):
        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.is_authenticated and request.user.has_perm(codename))

    HasPermission.message = message or f"This needs the {codename} permission."
    HasPermission.__name__ = f"Has_{codename.replace('.', '_')}"
    return HasPermission
