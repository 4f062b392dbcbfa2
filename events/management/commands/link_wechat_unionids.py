"""`manage.py link_wechat_unionids [--appid ID] [--hours 48]`: link the unionids carried
by recent events, then fetch unionids of recent Official Account followers from WeChat
and link them to their other ids."""

from datetime import timedelta

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import WeChatApp
from campaigns.wechat_api import WeChatAPIError
from events.identity import link_unionids_from_events
from events.wechat.userinfo import link_followers
from wxanalytics.commands import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Link unionids carried by recent events, then fetch unionids for recent Official Account followers "
        "(user/info/batchget) and link their ids."
    )

    def add_arguments(self, parser):
        parser.add_argument("--appid", help=_("Only this Official Account (default: every one with an AppSecret)."))
        parser.add_argument("--hours", type=int, default=48, help=_("Look at events received in the last N hours."))
        parser.add_argument("--limit", type=int, default=10_000, help=_("At most this many openids per app."))

    def handle(self, *args, **options):
        apps = WeChatApp.objects.filter(kind=WeChatApp.Kind.OFFICIAL_ACCOUNT).exclude(secret="")
        if options["appid"]:
            apps = apps.filter(appid=options["appid"])
            if not apps.exists():
                raise CommandError(_("No Official Account %(appid)s with an AppSecret.") % {"appid": options["appid"]})
        since = timezone.now() - timedelta(hours=options["hours"])
        carried = link_unionids_from_events(since=since)
        self.stdout.write(_("events: %(count)d unionid links carried by events recorded.") % {"count": carried})
        failed = 0
        for app in apps:
            try:
                summary = link_followers(app, since=since, limit=options["limit"])
            except WeChatAPIError as exc:
                failed += 1
                self.stderr.write(f"{app.appid}: {exc}")
                continue
            self.stdout.write(
                _("%(appid)s: %(checked)d openids checked, %(linked)d unionids linked.")
                % {"appid": app.appid, "checked": summary.checked, "linked": summary.linked}
            )
        if failed:
            raise CommandError(_("%(failed)d app(s) failed; see above.") % {"failed": failed})
