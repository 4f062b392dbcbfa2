"""`manage.py add_wechat_app --appid ID --token TOKEN [...]`: add or update a WeChat app and
print the callback URL to paste into the Official Account console."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import WeChatApp
from wxanalytics.commands import TranslatedCommand

ENCODING_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Create or update a WeChat app (Official Account or Mini Program) with its push token and keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--appid", required=True, help=_("The app's AppID (wx…)."))
        parser.add_argument("--token", required=True, help=_("The push Token entered in the console."))
        parser.add_argument("--aes-key", default=None, help=_("EncodingAESKey (43 characters) for encrypted push."))
        parser.add_argument("--secret", default=None, help=_("AppSecret, for WeChat's QR and user-info APIs."))
        parser.add_argument("--name", default=None, help=_("A name shown in admin."))
        parser.add_argument("--original-id", default=None, help=_("The gh_… original id."))
        parser.add_argument("--kind", choices=WeChatApp.Kind.values, default=None)

    def handle(self, *args, **options):
        aes_key = options["aes_key"]
        if aes_key is not None and aes_key and not ENCODING_AES_KEY.match(aes_key):
            raise CommandError(_("--aes-key must be the 43-character EncodingAESKey from the console."))
        with transaction.atomic():
            app = WeChatApp.objects.select_for_update().filter(appid=options["appid"]).first()
            created = app is None
            app = app or WeChatApp(appid=options["appid"], kind=options["kind"] or WeChatApp.Kind.OFFICIAL_ACCOUNT)
            app.token = options["token"]
            for option, field in [
                ("aes_key", "encoding_aes_key"),
                ("secret", "secret"),
                ("name", "name"),
                ("original_id", "original_id"),
                ("kind", "kind"),
            ]:
                if options[option] is not None:
                    setattr(app, field, options[option])
            try:
                app.full_clean()
            except ValidationError as exc:
                raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
            app.save()
        url = settings.PUBLIC_BASE_URL + reverse("wechat-push", args=[app.appid])
        mode = _("plaintext or encrypted") if app.encoding_aes_key else _("plaintext only (no AES key)")
        done = _("Created %(kind)s %(appid)s.") if created else _("Updated %(kind)s %(appid)s.")
        self.stdout.write(done % {"kind": app.get_kind_display(), "appid": app.appid})
        self.stdout.write(
            _("Callback URL for the console: %(url)s  (push mode: %(mode)s)") % {"url": url, "mode": mode}
        )
