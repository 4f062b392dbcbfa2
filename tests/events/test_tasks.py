import pytest

from campaigns.models import WeChatApp
from events import tasks

pytestmark = pytest.mark.django_db


def test_the_follower_fan_out_covers_only_official_accounts_with_a_secret(monkeypatch):
    WeChatApp.objects.create(appid="wx-oa-with-secret", secret="s", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)
    WeChatApp.objects.create(appid="wx-oa-without", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)
    WeChatApp.objects.create(appid="wx-mp", secret="s", kind=WeChatApp.Kind.MINI_PROGRAM)
    sent = []
    monkeypatch.setattr(tasks.link_app_followers, "delay", sent.append)  # see what would be queued

    queued = tasks.link_wechat_followers()

    assert queued == 1
    assert sent == [WeChatApp.objects.get(appid="wx-oa-with-secret").pk]


def test_a_look_up_for_a_deleted_app_returns_quietly():
    assert tasks.link_app_followers(987654) == 0


@pytest.mark.postgres
def test_next_months_partition_is_created_ahead_of_time():
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from events import partitions

    month = partitions.month_of(timezone.now() + timedelta(days=32))
    next_month = partitions.partition_name(month)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {next_month}")  # as if it had never been made
    partitions._known.discard(month)  # nor seen by this process

    tasks.create_next_month_partitions()

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [next_month])
        assert cursor.fetchone()[0]
