"""Management commands speak the operator's language (docs/i18n.md "Management commands").

A command runs in the active language: settings.LANGUAGE_CODE (zh-hans by default) unless
the caller activated another. Output meant for programs (the raw ingest key, JSON exports)
does not change.
"""

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command, load_command_class
from django.utils import translation

from events.models import IngestKey

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def chinese_site(settings):
    """The site's own default: LANGUAGE_CODE zh-hans and no language activated by anyone."""
    settings.LANGUAGE_CODE = "zh-hans"
    translation.deactivate()


# --- campaigns ---------------------------------------------------------------------------


def test_campaign_commands_write_chinese_under_the_default_language(chinese_site, settings):
    settings.DEBUG = True
    settings.PUBLIC_BASE_URL = "https://wx.example.com"

    admin_out, _err = run("ensure_demo_admin")
    app_out, _err = run("add_wechat_app", "--appid", "wx1234567890abcdef", "--token", "tok")

    assert admin_out == "已创建超级用户 demo / demo-password\n"
    assert "已创建公众号 wx1234567890abcdef。" in app_out
    assert "填入公众平台的服务器地址（URL）：https://wx.example.com/" in app_out
    assert "推送方式：仅明文（没有 AES 密钥）" in app_out


def test_campaign_commands_write_english_when_english_is_active(settings):
    settings.DEBUG = True

    with translation.override("en"):
        admin_out, _err = run("ensure_demo_admin")
        app_out, _err = run("add_wechat_app", "--appid", "wx1234567890abcdef", "--token", "tok")

    assert admin_out == "Created superuser demo / demo-password\n"
    assert "Created Official Account wx1234567890abcdef." in app_out
    assert "(push mode: plaintext only (no AES key))" in app_out


def test_campaign_command_errors_are_chinese_under_the_default_language(chinese_site, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG=0 时拒绝创建密码公开的演示超级用户。"):
        run("ensure_demo_admin")
    with pytest.raises(CommandError, match="--aes-key 必须是公众平台上 43 个字符的 EncodingAESKey。"):
        run("add_wechat_app", "--appid", "wx1", "--token", "t", "--aes-key", "short")


# --- events ------------------------------------------------------------------------------


def test_create_ingest_key_tells_the_operator_in_chinese_and_prints_only_the_key_on_stdout(chinese_site):
    out, err = run("create_ingest_key", "crm", "--kind", "server")

    raw_key = out.removesuffix("\n")
    assert re.fullmatch(r"wxa_[A-Za-z0-9_-]+", raw_key)
    assert IngestKey.objects.get().prefix == raw_key[: IngestKey.PREFIX_LENGTH]
    assert err.startswith("已为发送方 'crm' 创建 server 上报密钥 wxa_")
    assert err.endswith("密钥不会再次显示。\n")


def test_create_ingest_key_tells_the_operator_in_english_when_english_is_active():
    with translation.override("en"):
        out, err = run("create_ingest_key", "crm", "--kind", "server")

    assert re.fullmatch(r"wxa_[A-Za-z0-9_-]+\n", out)
    assert err.startswith("Created server ingest key wxa_") and err.endswith("it is not shown again.\n")


def test_event_command_errors_and_summaries_follow_the_active_language(chinese_site, tmp_path):
    with pytest.raises(CommandError, match="--months 至少为 1。"):
        run("apply_retention", "--months", "0")
    with pytest.raises(CommandError, match="没有填了 AppSecret 的公众号 wxnope。"):
        run("link_wechat_unionids", "--appid", "wxnope")
    with translation.override("en"), pytest.raises(CommandError, match="No Official Account wxnope with an AppSecret"):
        run("link_wechat_unionids", "--appid", "wxnope")

    spend = tmp_path / "spend.csv"
    spend.write_text("date,campaign,ad_group,creative,cost\n2025-11-01,NOPE,g,c,1.00\n2025-11-01,NOPE,g,c2,-5\n")
    out, err = run("import_ad_spend", str(spend), "--no-progress")

    assert "ad_spend：2 行 — 新建 1 行，更新 0 行，拒收 1 行（第 3 行）" in out
    assert "找不到对应活动的活动代码（行已保留，未关联）: NOPE" in out
    assert err.startswith("第 3 行：cost: ")


def test_export_person_writes_the_same_json_whatever_the_language(chinese_site):
    from events.ingest import ingest_rows

    ingest_rows([{"event_name": "page_view", "user_id": "u1", "ts": "2025-11-01T10:00:00Z"}], channel="api", source="s")

    chinese, _err = run("export_person", "u1")
    with translation.override("en"):
        english, _err = run("export_person", "u1")

    assert json.loads(chinese)["counts"]["events"] == 1
    assert _without_export_time(chinese) == _without_export_time(english)


def _without_export_time(document: str) -> dict:
    data = json.loads(document)
    data.pop("generated_at")
    return data


# --- reports -----------------------------------------------------------------------------


def test_report_commands_write_chinese_under_the_default_language(chinese_site):
    out, _err = run("rebuild_snapshots")

    assert out == "已重建 0 个快照。\n"
    with pytest.raises(CommandError, match="--week 不适用于 daily 快照；请用 --date。"):
        run("build_snapshot", "daily", "--week", "2025-W46")
    with pytest.raises(CommandError, match="补建需要同时指定 --from 和 --to。"):
        run("build_snapshot", "daily", "--from", "2025-11-01")


def test_report_commands_write_english_when_english_is_active():
    with translation.override("en"):
        out, _err = run("rebuild_snapshots")
        with pytest.raises(CommandError, match="A backfill needs both --from and --to"):
            run("build_snapshot", "daily", "--from", "2025-11-01")

    assert out == "Rebuilt 0 snapshot(s).\n"


# --- help --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "command", "chinese", "english"),
    [
        ("campaigns", "add_wechat_app", "创建或更新微信应用", "Create or update a WeChat app"),
        ("events", "erase_person", "提出请求的人（记录在删除记录中）。", "Who asked (kept in the erasure record)."),
        ("events", "import_ad_spend", "把 CSV 文件导入广告花费。", "Import a CSV file into ad spend."),
        ("reports", "rebuild_snapshots", "只处理标记为过期的快照。", "Only snapshots marked stale."),
    ],
    ids=["add_wechat_app", "erase_person", "import_ad_spend", "rebuild_snapshots"],
)
def test_command_help_is_in_the_language_of_each_run(app, command, chinese, english):
    def help_text(language: str) -> str:
        with translation.override(language):
            return load_command_class(app, command).create_parser("manage.py", command).format_help()

    assert chinese in help_text("zh-hans")
    assert english in help_text("en").replace("\n", " ")


def test_an_operator_gets_english_with_the_language_code_environment_variable():
    def help_text(language: str) -> str:
        environment = {**os.environ, "LANGUAGE_CODE": language}
        return subprocess.run(
            [sys.executable, "manage.py", "help", "rebuild_snapshots"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert "重建所有已有快照" in help_text("zh-hans")
    assert "Rebuild all existing snapshots" in help_text("en")
