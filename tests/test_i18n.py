"""Chinese first (docs/i18n.md): the language a page is in, Chinese dates with their zone,
names in Chinese order, CSVs for Excel, snapshot text translated when shown, and the
catalogue checks that keep the translation complete."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from reports.localize import localize_section
from wxanalytics.localize import localize_text
from wxanalytics.people import person_name

ROOT = Path(__file__).resolve().parent.parent
BOM = "\ufeff".encode()


def _catalogues_module():
    spec = importlib.util.spec_from_file_location("catalogues", ROOT / "scripts" / "catalogues.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


catalogues = _catalogues_module()

ENGAGEMENT = {
    "key": "engagement",
    "title": "Engagement: session depth",
    "columns": ["Source", "Campaign", "Sessions", "Page views", "People", "Pages per session"],
    "rows": [["All sources", "All campaigns", 4, 12, 3, "3.00"], ["poster", "23Q4-Sale", 1, 5, 1, "5.00"]],
    "chart": None,
    "flagged": [],
    "good": [],
    # Two gettext sentences joined with a space, as engagement_section writes them.
    "note": "Sessions with a page view this week, grouped by the source and campaign of their first page view. "
    "3 page views carried no session id and are not in any session.",
}


@pytest.fixture
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"


# --- which language a page is in --------------------------------------------------------


def test_without_a_preference_the_admin_is_in_simplified_chinese(admin_client, chinese):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert '<html lang="zh-hans"' in page
    assert "<title>首页 | wxanalytics</title>" in page
    assert "<title>Home | wxanalytics</title>" not in page


def test_a_browser_asking_for_english_gets_english(admin_client, chinese):
    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()

    assert '<html lang="en"' in page
    assert "<title>Home | wxanalytics</title>" in page


def test_the_header_switch_sets_the_language_for_the_next_pages(admin_client, chinese):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert f'action="{reverse("set_language")}"' in page and 'value="en"' in page

    response = admin_client.post(reverse("set_language"), {"language": "en", "next": reverse("admin:index")})

    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert "<title>Home | wxanalytics</title>" in admin_client.get(reverse("admin:index")).content.decode()


def test_the_language_switch_keeps_the_content_security_policy(admin_client, chinese):
    response = admin_client.get(reverse("admin:index"))

    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in response.content.decode().split('class="wxa-language"')[1].split("</form>")[0]


# --- dates, zones and names ---------------------------------------------------------------


@pytest.mark.postgres
def test_a_snapshot_page_shows_chinese_dates_and_the_zone_and_translates_stored_english(admin_client, chinese):
    from tests.reports.snapshot_data import built

    snapshot = built(
        "weekly", "2025-W46", data={"title": "Weekly review 2025-W46", "summary": [], "sections": [ENGAGEMENT]}
    )

    page = admin_client.get(reverse("admin:reports_snapshot_change", args=[snapshot.pk])).content.decode()

    assert "2025年11月10日" in page and "2025年11月17日" in page  # the period, end exclusive
    assert "2025年11月20日 09:00 (中国标准时间)" in page  # built_at, in China time with its zone
    assert "互动：会话深度" in page and "全部来源" in page
    assert "3 次页面浏览没有会话 ID，不属于任何会话。" in page
    assert "23Q4-Sale" in page  # a campaign code is data, shown as stored


def test_times_in_english_carry_the_zone_too(settings):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.utils.formats import localize

    with translation.override("en"):
        shown = localize(datetime(2026, 11, 29, 6, 30, tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Asia/Shanghai")))

    assert shown == "Nov. 29, 2026, 2:30 p.m. (China Standard Time)"


def test_a_chinese_name_is_shown_family_name_first_without_a_space():
    user = get_user_model()(username="wang.fang", first_name="芳", last_name="王")

    assert person_name(user) == "王芳"
    assert Template("{% load people %}{{ user|person_name }}").render(Context({"user": user})) == "王芳"


def test_a_latin_name_keeps_its_order_and_no_name_falls_back_to_the_username():
    User = get_user_model()

    assert person_name(User(username="mia", first_name="Mia", last_name="Wong")) == "Mia Wong"
    assert person_name(User(username="rob")) == "rob"


# --- CSV for people -----------------------------------------------------------------------


@pytest.mark.postgres
def test_a_section_csv_has_a_bom_and_chinese_headers_when_the_interface_is_chinese(admin_client, chinese):
    from tests.reports.snapshot_data import built

    snapshot = built("weekly", "2025-W46", data={"title": "", "summary": [], "sections": [ENGAGEMENT]})

    response = admin_client.get(reverse("snapshot-section-csv", args=[snapshot.pk, "engagement"]))

    assert response.content.startswith(BOM)
    lines = response.content.decode("utf-8-sig").splitlines()
    assert (
        lines[0] == "来源,活动,会话,页面浏览量,人数,每次会话浏览页数"
    )  # "Sessions": contrib.sessions translates it first
    assert lines[1] == "全部来源,全部活动,4,12,3,3.00"  # numbers as stored
    assert lines[2] == "poster,23Q4-Sale,1,5,1,5.00"


@pytest.mark.postgres
def test_a_section_csv_in_english_keeps_the_stored_headers_and_the_bom(admin_client):
    from tests.reports.snapshot_data import built

    snapshot = built("weekly", "2025-W46", data={"title": "", "summary": [], "sections": [ENGAGEMENT]})

    response = admin_client.get(reverse("snapshot-section-csv", args=[snapshot.pk, "engagement"]))

    assert response.content.startswith(BOM)
    assert (
        response.content.decode("utf-8-sig").splitlines()[0]
        == "Source,Campaign,Sessions,Page views,People,Pages per session"
    )


# --- snapshot text: stored in English, translated when shown ------------------------------


@pytest.mark.postgres
def test_a_snapshot_built_while_chinese_is_active_stores_english(db):
    from reports.snapshots import build
    from tests.reports.snapshot_data import AFTER_WEEK, WEEK, journeys_week_46

    journeys_week_46()

    with translation.override("zh-hans"):
        snapshot = build.build_snapshot("weekly", WEEK, now=AFTER_WEEK)

    titles = {s["key"]: s["title"] for s in snapshot.data["sections"]}
    assert titles["funnel"] == "Funnel" and titles["kpis"] == "KPIs vs target"
    assert snapshot.data["title"].startswith("Weekly review 2025-W46")


def test_a_stored_note_is_translated_sentence_by_sentence_and_numbers_are_untouched():
    with translation.override("zh-hans"):
        shown = localize_section(ENGAGEMENT)

    assert shown["note"] == (
        "本周有页面浏览的会话，按其第一次页面浏览的来源和活动分组。3 次页面浏览没有会话 ID，不属于任何会话。"
    )
    assert shown["rows"][0][2:] == [4, 12, 3, "3.00"]
    assert ENGAGEMENT["note"].startswith("Sessions with")  # the stored section is not changed


FRICTION_SENTENCE = (
    "The biggest leak is qr_scan → follow: only 20.0% go on (8 people lost). Fix first: make the follow "
    "prompt after the QR scan clearer and say what followers get."
)
FRICTION_SENTENCE_ZH = (
    "流失最多的是 qr_scan → follow：只有 20.0% 的人继续（流失 8 人）。"
    "优先改进：让扫码后的关注引导更清楚，并说明关注后能得到什么。"
)


@pytest.mark.parametrize(
    ("prefix", "prefix_zh"),
    [("", ""), ("Friction point: ", "流失卡点：")],
    ids=["the sentence, whose advice is a msgid", "a summary line quoting the whole sentence"],
)
def test_values_inside_a_sentence_are_translated_when_they_are_msgids_or_sentences_themselves(prefix, prefix_zh):
    with translation.override("zh-hans"):
        shown = localize_text(prefix + FRICTION_SENTENCE)

    assert shown == prefix_zh + FRICTION_SENTENCE_ZH


def test_text_that_is_no_msgid_is_shown_as_stored():
    with translation.override("zh-hans"):
        assert localize_text("23Q4-Sale") == "23Q4-Sale"
        assert localize_text(12) == 12


# --- the catalogues stay complete ----------------------------------------------------------


@pytest.mark.parametrize("po_path", catalogues.po_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_catalogue_entry_is_translated_and_compiled(po_path):
    assert po_path.exists(), f"{po_path} is missing: run `make messages`"

    assert catalogues.problems(po_path) == []
    assert catalogues.stale_compiled(po_path) == []


def _catalogue(path: Path, *entries: polib.POEntry) -> polib.POFile:
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=1; plural=0;"}
    po.extend(entries)
    po.save(str(path))
    return po


def test_the_checker_reports_untranslated_fuzzy_and_broken_entries(tmp_path):
    path = tmp_path / "django.po"
    _catalogue(
        path,
        polib.POEntry(msgid="Orders", msgstr="订单数"),
        polib.POEntry(msgid="Refunds", msgstr=""),
        polib.POEntry(msgid="Scans", msgstr="扫码", flags=["fuzzy"]),
        polib.POEntry(msgid="%(n)s people", msgstr="%(count)s 人"),
        polib.POEntry(msgid="%(rate)s%% paid", msgstr="%(rate)s% 付费"),
    )

    found = catalogues.problems(path)

    assert len(found) == 4
    assert "'Refunds' is untranslated" in found[0]
    assert "'Scans' is fuzzy" in found[1]
    assert "placeholders differ" in found[2]
    assert "breaks %-formatting" in found[3]


def test_the_checker_reports_a_compiled_catalogue_older_than_its_po(tmp_path):
    path = tmp_path / "django.po"
    po = _catalogue(path, polib.POEntry(msgid="Orders", msgstr="订单数"))
    po.save_as_mofile(str(path.with_suffix(".mo")))
    po[0].msgstr = "订单"
    po.save(str(path))

    assert "does not match its .po" in catalogues.stale_compiled(path)[0]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext); .ci/run installs it")
def test_makemessages_finds_no_string_missing_from_the_catalogues(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "node_modules",
            "sdk",
            "bench",
            "tests",
            "docs",
            "media",
            "var",
            "staticfiles",
            "__pycache__",
        ),
    )

    subprocess.run([sys.executable, "scripts/catalogues.py", "extract"], cwd=copy, check=True, capture_output=True)

    for po_path in catalogues.po_files(ROOT):
        ours = {(e.msgid, e.msgid_plural) for e in polib.pofile(str(po_path)) if not e.obsolete}
        extracted = {(e.msgid, e.msgid_plural) for e in polib.pofile(str(copy / po_path.relative_to(ROOT)))}
        new = sorted(m for m, _plural in extracted - ours)
        assert not new, f"strings not in {po_path.relative_to(ROOT)} yet (run `make messages` and translate): {new}"


def test_object_names_in_admin_titles_and_messages_are_translated_in_china_time_with_the_zone():
    from datetime import UTC, datetime

    from events.models import Event, RejectedRow

    event = Event(event_name="pay_success", user_id="oAbc", ts=datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    rejected = RejectedRow(channel="api", received_at=datetime(2026, 11, 20, 16, 30, tzinfo=UTC))

    with translation.override("zh-hans"):
        assert str(event) == "oAbc 的 pay_success，2026年11月20日 09:00 (中国标准时间)"
        assert str(rejected) == "api 行于 2026年11月21日 00:30 (中国标准时间) 被拒收"
    with translation.override("en"):
        assert str(event) == "pay_success by oAbc at 11/20/2026 9 a.m. (China Standard Time)"
