"""`manage.py ensure_demo_admin`: the demo login `demo` / `demo-password` (DEBUG only)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wxanalytics.commands import TranslatedCommand

USERNAME = "demo"
PASSWORD = "demo-password"  # noqa: S105 (printed by `make run`; refused outside DEBUG)


class Command(TranslatedCommand):
    help = gettext_lazy("Create or reset the demo superuser demo / demo-password. Refused when DEBUG is off.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(_("Refusing to create a demo superuser with a known password when DEBUG=0."))
        user, created = get_user_model().objects.get_or_create(username=USERNAME)
        user.is_staff = user.is_superuser = user.is_active = True
        user.email = user.email or "demo@example.com"
        user.set_password(PASSWORD)
        user.save()
        done = (
            _("Created superuser %(username)s / %(password)s")
            if created
            else _("Updated superuser %(username)s / %(password)s")
        )
        self.stdout.write(done % {"username": USERNAME, "password": PASSWORD})
