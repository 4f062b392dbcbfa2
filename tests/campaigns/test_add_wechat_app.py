"""`manage.py add_wechat_app`: create or update a WeChat app from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import WeChatApp

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def run(*args: str) -> str:
    out = StringIO()
    call_command("add_wechat_app", *args, stdout=out)
    return out.getvalue()


def test_it_creates_an_official_account_and_prints_the_callback_url(db, settings):
    settings.PUBLIC_BASE_URL = "https://wx.example.com"

    output = run("--appid", "wx1234567890abcdef", "--token", "tok", "--aes-key", AES_KEY, "--name", "Brand OA")

    app = WeChatApp.objects.get(appid="wx1234567890abcdef")
    assert (app.token, app.encoding_aes_key, app.name, app.kind) == ("tok", AES_KEY, "Brand OA", "official_account")
    assert "https://wx.example.com/wechat/wx1234567890abcdef/" in output
    assert "Created" in output


def test_it_updates_only_the_options_given(db):
    run("--appid", "wx1", "--token", "old", "--secret", "s3cret", "--name", "Brand OA")

    output = run("--appid", "wx1", "--token", "new")

    app = WeChatApp.objects.get(appid="wx1")
    assert (app.token, app.secret, app.name) == ("new", "s3cret", "Brand OA")
    assert "Updated" in output
    assert "s3cret" not in output


def test_a_malformed_aes_key_is_refused(db):
    with pytest.raises(CommandError, match="43-character"):
        run("--appid", "wx1", "--token", "tok", "--aes-key", "short")

    assert not WeChatApp.objects.exists()


def test_a_mini_program_can_be_added(db):
    run("--appid", "wxmp", "--token", "tok", "--kind", "mini_program")

    assert WeChatApp.objects.get(appid="wxmp").kind == "mini_program"
