"""Statistics imported exactly as WeChat hands them over: the datacube APIs' JSON answers
as they are, their flattened CSV, and the consoles' Excel downloads with Chinese headers.

Every fixture here is written from WeChat's documentation of the answer (WECHAT.md §4 and
developers.weixin.qq.com …/datacube, …/data-analysis/others/api_getvisitpage), not from
what our own code produces.
"""

import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import Workbook
from rest_framework.test import APIClient

from events.imports import ImportFormatError, import_csv, replay_rejected_import
from events.models import ArticleStat, MiniProgramPageStat, OAUserSummary, RejectedRow

pytestmark = pytest.mark.django_db

# datacube/getarticletotal: one article sent on 2014-12-08, its statistics as of 2014-12-14
# nested in details[] (the documented answer; the counters are cumulative).
GETARTICLETOTAL = {
    "list": [
        {
            "ref_date": "2014-12-08",
            "msgid": "202457380_1",
            "title": "马航丢画记",
            "details": [
                {
                    "stat_date": "2014-12-14",
                    "target_user": 261917,
                    "int_page_read_user": 23676,
                    "int_page_read_count": 25615,
                    "ori_page_read_user": 29,
                    "ori_page_read_count": 34,
                    "share_user": 122,
                    "share_count": 994,
                    "add_to_fav_user": 1,
                    "add_to_fav_count": 3,
                },
                {
                    "stat_date": "2014-12-15",
                    "target_user": 261917,
                    "int_page_read_user": 24000,
                    "int_page_read_count": 26000,
                    "ori_page_read_user": 30,
                    "ori_page_read_count": 35,
                    "share_user": 125,
                    "share_count": 1000,
                    "add_to_fav_user": 1,
                    "add_to_fav_count": 4,
                },
            ],
        }
    ]
}

# datacube/getarticlesummary: ref_date is the statistics day; there is no stat_date.
GETARTICLESUMMARY = {
    "list": [
        {
            "ref_date": "2014-12-08",
            "msgid": "10000050_1",
            "title": "12月27日 DiLi日报",
            "int_page_read_user": 23676,
            "int_page_read_count": 25615,
            "ori_page_read_user": 29,
            "ori_page_read_count": 34,
            "share_user": 122,
            "share_count": 994,
            "add_to_fav_user": 1,
            "add_to_fav_count": 3,
        }
    ]
}

# getweanalysisappidvisitpage (getVisitPage): ref_date once, outside list[].
GETVISITPAGE = {
    "ref_date": "20170313",
    "list": [
        {
            "page_path": "pages/main/main.html",
            "page_visit_pv": 213429,
            "page_visit_uv": 55423,
            "page_staytime_pv": 8.139198,
            "entrypage_pv": 117922,
            "exitpage_pv": 61304,
            "page_share_pv": 180,
            "page_share_uv": 166,
        },
        {
            "page_path": "pages/linedetail/linedetail.html",
            "page_visit_pv": 155030,
            "page_visit_uv": 42195,
            "page_staytime_pv": 35.462395,
            "entrypage_pv": 21101,
            "exitpage_pv": 47051,
            "page_share_pv": 47,
            "page_share_uv": 42,
        },
    ],
}

# datacube/getusersummary: user_source is a number in the JSON.
GETUSERSUMMARY = {
    "list": [
        {"ref_date": "2014-12-07", "user_source": 0, "new_user": 0, "cancel_user": 0},
        {"ref_date": "2014-12-07", "user_source": 30, "new_user": 12, "cancel_user": 2},
    ]
}


def _json(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def _xlsx(*rows: list) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- getarticletotal: ref_date is the send day, stat_date the statistics day ---------------


def test_getarticletotal_uses_stat_date_as_the_day_and_ref_date_as_the_publish_day():
    summary = import_csv("article_stats", _json(GETARTICLETOTAL), defaults={"app_id": "wxoa123"})

    assert (summary.created, summary.rejected) == (2, 0)
    first, second = ArticleStat.objects.order_by("date")
    assert (str(first.date), str(first.published_on)) == ("2014-12-14", "2014-12-08")
    assert (first.msgid, first.title) == ("202457380_1", "马航丢画记")
    assert (first.reads, first.read_users, first.shares, first.favourites) == (25615, 23676, 994, 3)
    assert (str(second.date), second.reads) == ("2014-12-15", 26000)


def test_getarticletotal_flattened_to_csv_is_read_the_same_way():
    text = (
        "ref_date,msgid,title,stat_date,target_user,int_page_read_user,int_page_read_count,share_count,add_to_fav_count\n"
        "2014-12-08,202457380_1,马航丢画记,2014-12-14,261917,23676,25615,994,3\n"
    )

    summary = import_csv("article_stats", text.encode(), defaults={"app_id": "wxoa123"})

    row = ArticleStat.objects.get()
    assert summary.created == 1
    assert (str(row.date), str(row.published_on), row.reads) == ("2014-12-14", "2014-12-08", 25615)


def test_getarticlesummary_keeps_ref_date_as_the_statistics_day():
    summary = import_csv("article_stats", _json(GETARTICLESUMMARY), defaults={"app_id": "wxoa123"})

    row = ArticleStat.objects.get()
    assert summary.created == 1
    assert (str(row.date), row.published_on) == ("2014-12-08", None)
    assert (row.reads, row.read_users) == (25615, 23676)


# --- getVisitPage: one ref_date for the whole answer ------------------------------------


def test_getvisitpage_json_takes_its_ref_date_for_every_page():
    summary = import_csv("mp_page_stats", _json(GETVISITPAGE), defaults={"app_id": "wxmp456"})

    assert (summary.created, summary.rejected) == (2, 0)
    main = MiniProgramPageStat.objects.get(page_path="pages/main/main.html")
    assert str(main.date) == "2017-03-13"
    assert (main.visits, main.visitors, main.entries, main.exits, main.shares) == (213429, 55423, 117922, 61304, 180)
    assert main.stay_time_seconds == Decimal("8.14")  # 8.139198 s rounded to the hundredth


def test_a_flattened_getvisitpage_list_takes_the_date_given_with_dash_dash_date(tmp_path):
    path = tmp_path / "visitpage.csv"
    rows = GETVISITPAGE["list"]
    path.write_text(",".join(rows[0]) + "\n" + "".join(",".join(str(v) for v in r.values()) + "\n" for r in rows))

    call_command("import_mp_page_stats", str(path), "--app-id", "wxmp456", "--date", "20170313", "--no-progress")

    assert sorted(str(d) for d in MiniProgramPageStat.objects.values_list("date", flat=True)) == ["2017-03-13"] * 2


def test_the_api_takes_the_file_wide_date_as_a_query_parameter(analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    text = "page_path,page_visit_pv,page_visit_uv\npages/main/main.html,213429,55423\n"

    response = client.post(
        "/api/v1/imports/mp_page_stats?app_id=wxmp456&date=2017-03-13", text, content_type="text/csv"
    )

    assert response.status_code == 200, response.content
    assert str(MiniProgramPageStat.objects.get().date) == "2017-03-13"


def test_the_admin_form_takes_the_file_wide_date(client, analyst):
    client.force_login(analyst)
    upload = SimpleUploadedFile("visitpage.csv", b"page_path,page_visit_pv,page_visit_uv\npages/a/a,10,5\n")

    response = client.post(
        "/admin/events/miniprogrampagestat/import/", {"file": upload, "app_id": "wxmp456", "date": "2017-03-13"}
    )

    assert response.status_code == 200
    assert str(MiniProgramPageStat.objects.get().date) == "2017-03-13"


def test_without_a_date_anywhere_the_file_is_refused_naming_the_column():
    text = b"page_path,page_visit_pv\npages/a/a,10\n"

    with pytest.raises(ImportFormatError, match=r"Missing required column.*date"):
        import_csv("mp_page_stats", text, defaults={"app_id": "wxmp456"})


# --- JSON answers as they are ----------------------------------------------------------


def test_getusersummary_json_is_accepted_as_it_is():
    summary = import_csv("oa_user_summary", _json(GETUSERSUMMARY), defaults={"app_id": "wxoa123"})

    assert summary.created == 2
    qr = OAUserSummary.objects.get(user_source="30")
    assert (str(qr.date), qr.new_users, qr.cancelled_users) == ("2014-12-07", 12, 2)


def test_the_api_accepts_a_datacube_answer_posted_as_json(analyst):
    client = APIClient()
    client.force_authenticate(analyst)

    response = client.post(
        "/api/v1/imports/mp_page_stats?app_id=wxmp456", _json(GETVISITPAGE), content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2


def test_a_wechat_error_answer_is_refused_with_its_errcode():
    with pytest.raises(ImportFormatError, match="errcode 61501"):
        import_csv("oa_user_summary", b'{"errcode": 61501, "errmsg": "date range error"}', defaults={"app_id": "wx1"})


def test_a_bad_row_of_a_json_answer_is_kept_by_position_and_can_be_replayed_as_csv():
    document = json.loads(json.dumps(GETVISITPAGE))
    document["list"][1]["page_visit_uv"] = 999999  # more visitors than visits

    summary = import_csv("mp_page_stats", _json(document), defaults={"app_id": "wxmp456"})

    assert (summary.created, summary.rejected, summary.rejected_line_numbers) == (1, 1, [2])
    kept = RejectedRow.objects.get(channel="import_mp_page_stats")
    assert kept.row_index == 2
    kept.raw = kept.raw.replace("999999", "42195")
    assert replay_rejected_import(kept) is False  # the app_id was given for the file, not in the row
    kept.raw = kept.raw.replace("ref_date,", "app_id,ref_date,").replace("\n20170313,", "\nwxmp456,20170313,")
    assert replay_rejected_import(kept) is True
    assert MiniProgramPageStat.objects.count() == 2


def test_an_empty_list_says_there_was_nothing_to_import():
    with pytest.raises(ImportFormatError, match="no statistics for these dates"):
        import_csv("mp_page_stats", b'{"ref_date": "20170313", "list": []}', defaults={"app_id": "wx1"})


# --- console Excel downloads --------------------------------------------------------------


def test_a_mini_program_page_download_with_chinese_headers_is_read():
    workbook = _xlsx(
        ["页面访问数据 2017-03-13"],  # the console's title row above the header
        [
            "页面路径",
            "访问次数",
            "访问人数",
            "次均停留时长(秒)",
            "入口页次数",
            "退出页次数",
            "退出率",
            "分享次数",
            "分享人数",
        ],
        ["pages/main/main.html", 213429, 55423, 8.14, 117922, 61304, "28.72%", 180, 166],
    )

    summary = import_csv("mp_page_stats", workbook, defaults={"app_id": "wxmp456", "date": "2017-03-13"})

    row = MiniProgramPageStat.objects.get()
    assert (summary.created, summary.ignored_columns) == (1, ["退出率", "分享人数"])
    assert (row.page_path, row.visits, row.visitors, row.stay_time_seconds) == (
        "pages/main/main.html",
        213429,
        55423,
        Decimal("8.14"),
    )
    assert (row.entries, row.exits, row.shares) == (117922, 61304, 180)


def test_a_user_analysis_download_with_chinese_headers_is_read():
    workbook = _xlsx(
        ["时间", "新关注人数", "取消关注人数", "净增关注人数", "累积关注人数"],
        ["2025-11-01", 40, 3, 37, 1200],
    )

    import_csv("oa_user_summary", workbook, defaults={"app_id": "wxoa123"})

    row = OAUserSummary.objects.get()
    assert (str(row.date), row.user_source, row.new_users, row.cancelled_users, row.cumulative_users) == (
        "2025-11-01",
        "all",
        40,
        3,
        1200,
    )


def test_a_bad_spreadsheet_row_is_reported_by_its_row_number():
    workbook = _xlsx(
        ["时间", "新关注人数", "取消关注人数"],
        ["2025-11-01", 40, 3],
        ["2025-11-02", -4, 3],
    )

    summary = import_csv("oa_user_summary", workbook, defaults={"app_id": "wxoa123"})

    assert (summary.created, summary.rejected_line_numbers) == (1, [3])
    assert RejectedRow.objects.get().raw == "时间,新关注人数,取消关注人数\n2025-11-02,-4,3\n"


def test_a_file_that_looks_like_a_workbook_but_is_not_is_refused_clearly():
    with pytest.raises(ImportFormatError, match=r"Not a readable \.xlsx workbook"):
        import_csv("oa_user_summary", b"PK\x03\x04 not really a zip", defaults={"app_id": "wxoa123"})


def test_getusercumulate_after_getusersummary_adds_the_total_without_zeroing_the_follows():
    # getusersummary has no user_source "all"; a CSV of the day's totals does.
    import_csv("oa_user_summary", b"ref_date,new_user,cancel_user\n2014-12-07,40,3\n", defaults={"app_id": "wxoa1"})
    getusercumulate = {"list": [{"ref_date": "2014-12-07", "cumulate_user": 1217056}]}

    summary = import_csv("oa_user_summary", _json(getusercumulate), defaults={"app_id": "wxoa1"})

    row = OAUserSummary.objects.get()
    assert summary.updated == 1
    assert (row.new_users, row.cancelled_users, row.cumulative_users) == (40, 3, 1217056)


def test_a_workbook_with_too_many_rows_is_refused_before_importing(monkeypatch):
    from events.imports import documents

    monkeypatch.setattr(documents, "MAX_SHEET_ROWS", 3)
    workbook = _xlsx(["时间", "新关注人数"], *[[f"2025-11-0{d}", d] for d in range(1, 5)])

    with pytest.raises(ImportFormatError, match="more than 3 rows"):
        import_csv("oa_user_summary", workbook, defaults={"app_id": "wxoa123"})

    assert not OAUserSummary.objects.exists()
