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
