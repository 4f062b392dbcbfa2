"""`manage.py link_wechat_unionids [--appid ID] [--hours 48]`: link the unionids carried
by recent events, then fetch unionids of recent Official Account followers from WeChat
and link them to their other ids."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.models import WeChatApp
from campaigns.wechat_api import WeChatAPIError
from events.identity import link_unionids_from_events
from events.wechat.userinfo import link_followers


class Command(BaseCommand):
    help = (
        "Link unionids carried by recent events, then fetch unionids for recent Official Account followers "
        "(user/info/batchget) and link their ids."
    )

    def add_arguments(self, parser):
        parser.add_argument("--appid", help="Only this Official Account (default: every one with an AppSecret).")
        parser.add_argument("--hours", type=int, default=48, help="Look at events received in the last N hours.")
        parser.add_argument("--limit", type=int, default=10_000, help="At most this many openids per app.")

    def handle(self, *args, **options):
        apps = WeChatApp.objects.filter(kind=WeChatApp.Kind.OFFICIAL_ACCOUNT).exclude(secret="")
        if options["appid"]:
            apps = apps.filter(appid=options["appid"])
            if not apps.exists():
                raise CommandError(f"No Official Account {options['appid']} with an AppSecret.")
        since = timezone.now() - timedelta(hours=options["hours"])
        carried = link_unionids_from_events(since=since)
        self.stdout.write(f"events: {carried} unionid links carried by events recorded.")
        failed = 0
        for app in apps:
            try:
                summary = link_followers(app, since=since, limit=options["limit"])
            except WeChatAPIError as exc:
                failed += 1
                self.stderr.write(f"{app.appid}: {exc}")
                continue
            self.stdout.write(f"{app.appid}: {summary.checked} openids checked, {summary.linked} unionids linked.")
        if failed:
            raise CommandError(f"{failed} app(s) failed; see above.")
